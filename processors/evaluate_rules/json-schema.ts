import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { linearRegExp, useLinearFormats } from './schema-formats';

/** A JSON Schema as a rule's `value` holds it: an object, or true/false (valid schemas too). */
export type JsonSchemaValue = boolean | Record<string, unknown>;

// Compiling generates code; the config check and the processor compile the same parsed object,
// so a validator is built once per schema object.
const compiled = new WeakMap<object, ValidateFunction>();
const compiledBooleans = new Map<boolean, ValidateFunction>();

/**
 * Compiles a schema with the draft its `$schema` names (2020-12, 2019-09, or draft-07 by
 * default), throwing when the schema is invalid. One Ajv instance per schema, so that two rules
 * may use the same `$id`. Unknown keywords are an error (they are usually typos); the formats of
 * ajv-formats (email, uri, date-time, ...) are checked. Patterns and formats run in linear time
 * (schema-formats): a pattern RE2 cannot run (lookaround, backreferences) makes the schema invalid.
 */
export function compileJsonSchema(schema: JsonSchemaValue): ValidateFunction {
  const cached = typeof schema === 'boolean' ? compiledBooleans.get(schema) : compiled.get(schema);
  if (cached) return cached;
  const ajv = ajvFor(typeof schema === 'object' ? schema.$schema : undefined);
  const validate = ajv.compile(schema);
  if (typeof schema === 'boolean') compiledBooleans.set(schema, validate);
  else compiled.set(schema, validate);
  return validate;
}

function ajvFor(draft: unknown): Ajv {
  // strictTypes/strictTuples would reject common, valid schemas (properties without type: object).
  const options = { allErrors: false, strictSchema: true, strictTypes: false, strictTuples: false, logger: false, code: { regExp: linearRegExp } } as const;
  const url = typeof draft === 'string' ? draft : '';
  const ajv = url.includes('2020-12') ? new Ajv2020(options) : url.includes('2019-09') ? new Ajv2019(options) : new Ajv(options);
  addFormats(ajv);
  useLinearFormats(ajv);
  return ajv;
}

/** Why the data failed, from ajv's first error: a path and a rule, never the data's values. */
export function schemaFailure(validate: ValidateFunction): string {
  const first = validate.errors?.[0];
  if (!first) return 'does not match the schema';
  return `${first.instancePath === '' ? '(root)' : first.instancePath} ${first.message ?? `fails ${first.keyword}`}`;
}
