import { z } from 'zod';
import { LinearRegex, LinearRegexError } from '../../core/linear-regex';
import { BUILTIN_DETECTOR_NAMES, REDACT_ACTIONS } from '../../core/pii/names';
import type { BuiltinDetectorName } from '../../core/pii/names';

export { BUILTIN_DETECTOR_NAMES, REDACT_ACTIONS } from '../../core/pii/names';
export type { BuiltinDetectorName, RedactAction } from '../../core/pii/names';

/** HMAC keys shorter than this are guessable enough to turn hashes back into values. */
export const MIN_HASH_KEY_LENGTH = 16;

const actionSchema = z.enum(REDACT_ACTIONS);

const detectorSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** mask: `[REDACTED:EMAIL]`; hash: `[HASH:EMAIL:<16 hex>]`; drop: remove the attribute. */
  action: actionSchema.default('mask'),
});

export type DetectorConfig = z.output<typeof detectorSchema>;

// zod 4 does not run a default through the schema, so the defaults are spelled out in full.
const detector = () => detectorSchema.default({ enabled: true, action: 'mask' });

const detectorsSchema = z.strictObject({
  email: detector(),
  phone: detector(),
  payment_card: detector(),
  iban: detector(),
  us_ssn: detector(),
  ipv4: detector(),
  ipv6: detector(),
  api_key: detector(),
  aws_access_key: detector(),
  github_token: detector(),
  slack_token: detector(),
  jwt: detector(),
  bearer_token: detector(),
  private_key: detector(),
  url_credentials: detector(),
}) satisfies z.ZodType<Record<BuiltinDetectorName, DetectorConfig>, unknown>;

const DEFAULT_DETECTORS = Object.fromEntries(
  BUILTIN_DETECTOR_NAMES.map((name) => [name, { enabled: true, action: 'mask' }]),
) as Record<BuiltinDetectorName, DetectorConfig>;

const customDetectorSchema = z.strictObject({
  /** Used in the mask (`[REDACTED:TICKET_ID]`), in tracehouse.redactions and as a metric label. */
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a snake_case identifier: a-z, 0-9 and _, starting with a letter'),
  /** JavaScript regular expression source, without slashes or flags; runs on RE2 (linear time). */
  pattern: z.string().min(1).superRefine((pattern, ctx) => {
    const problem = patternProblem(pattern);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }),
  action: actionSchema.default('mask'),
});

export type CustomDetectorConfig = z.output<typeof customDetectorSchema>;

/** Attribute keys: exact, or globs where `*` is any run of characters and `?` one character. */
const keyPatterns = z.array(z.string().min(1)).default([]);

export const redactProcessorConfigSchema = z
  .strictObject({
    detectors: detectorsSchema.default(DEFAULT_DETECTORS),
    custom_detectors: z.array(customDetectorSchema).default([]),
    /** When non-empty, only attributes whose key matches are scanned; the others pass untouched. */
    allow_keys: keyPatterns,
    /** Attributes whose key matches are removed without being scanned (wins over allow_keys). */
    block_keys: keyPatterns,
    /** HMAC-SHA256 key for the hash action; required when an enabled detector hashes. */
    hash_key: z
      .string()
      .min(MIN_HASH_KEY_LENGTH, `must be at least ${MIN_HASH_KEY_LENGTH} characters (use a random secret from \${env:...})`)
      .optional(),
  })
  // Runs even when other options have problems, so that every mistake is reported at once; it
  // therefore reads the config defensively.
  .superRefine((config, ctx) => crossChecks(config as unknown, ctx), { when: () => true });

export type RedactProcessorConfig = z.output<typeof redactProcessorConfigSchema>;

/** Checks that span several options: unique detector names, and a hash_key where one is needed. */
function crossChecks(config: unknown, ctx: z.RefinementCtx): void {
  if (!isRecord(config)) return;
  const customs = Array.isArray(config.custom_detectors) ? (config.custom_detectors as unknown[]) : [];
  const seen = new Set<string>(BUILTIN_DETECTOR_NAMES);
  customs.forEach((custom, i) => {
    if (!isRecord(custom) || typeof custom.name !== 'string') return;
    if (seen.has(custom.name)) {
      const what = (BUILTIN_DETECTOR_NAMES as readonly string[]).includes(custom.name) ? 'a built-in detector' : 'another custom detector';
      ctx.addIssue({ code: 'custom', path: ['custom_detectors', i, 'name'], message: `"${custom.name}" is already the name of ${what}` });
    }
    seen.add(custom.name);
  });
  if (config.hash_key !== undefined) return;
  const detectors = isRecord(config.detectors) ? config.detectors : {};
  const hashing = [
    ...BUILTIN_DETECTOR_NAMES.filter((name) => {
      const d = detectors[name];
      return isRecord(d) && d.enabled !== false && d.action === 'hash';
    }).map((name) => `detectors.${name}`),
    ...customs.flatMap((c, i) => (isRecord(c) && c.action === 'hash' ? [`custom_detectors.${i}`] : [])),
  ];
  if (hashing.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['hash_key'],
      message: `hash_key is required because ${hashing.join(', ')} use${hashing.length === 1 ? 's' : ''} action hash`,
    });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Why a custom pattern cannot be used, or undefined when it can. Custom patterns run on the
 * linear-time engine (core/linear-regex), so they must compile there (no lookaround, no
 * backreferences); all of them are combined into one expression, so they must not name groups
 * that another could collide with; and they must not match the empty string (which would
 * "redact" between every two characters).
 */
export function patternProblem(pattern: string): string | undefined {
  let compiled: LinearRegex;
  try {
    compiled = LinearRegex.compile(pattern);
  } catch (err) {
    if (err instanceof LinearRegexError) return err.message;
    throw err;
  }
  if (/\(\?<[A-Za-z_$]/.test(pattern)) {
    return 'must not use named groups (detectors are combined into one expression); use (?:...)';
  }
  if (compiled.testWhole('')) return 'must not match the empty string';
  return undefined;
}
