import { copyAttributes, setAttribute } from '../span';
import type { AttributeValue, Attributes, InstrumentationScope, Resource, Span } from '../span';

/**
 * Adds a JSON value to `out` as attributes under `prefix`: objects become dotted keys (down to
 * `depth` levels, deeper ones JSON text), arrays of scalars stay arrays, other arrays become JSON
 * text, integers become int64 and other numbers doubles. Null and undefined are skipped.
 */
export function flattenJson(out: Attributes, prefix: string, value: unknown, depth = 4): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string' || typeof value === 'boolean') {
    out[prefix] = value;
  } else if (typeof value === 'number') {
    out[prefix] = jsonNumber(value);
  } else if (Array.isArray(value)) {
    out[prefix] = value.every(isScalar) ? value.map((v) => (typeof v === 'number' ? jsonNumber(v) : (v as AttributeValue))) : JSON.stringify(value);
  } else if (typeof value === 'object') {
    if (depth <= 0) {
      out[prefix] = JSON.stringify(value);
      return;
    }
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flattenJson(out, prefix ? `${prefix}.${k}` : k, v, depth - 1);
  }
}

/** JSON text of any value, for attributes that keep a structured payload whole. */
export function jsonText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? '';
}

function isScalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number';
}

function jsonNumber(n: number): AttributeValue {
  return Number.isSafeInteger(n) ? BigInt(n) : n;
}

/**
 * Reserved attributes. The `tracehouse.` namespace is written by the daemon alone: receivers stamp
 * `tracehouse.workspace` (from the API key) and `tracehouse.source` (the receiver id) and map the
 * documented fields of their APIs into it; processors add verdicts, findings, redaction counts and
 * costs. A client's own `tracehouse.*` attribute is never taken for one of these: it is kept under
 * `client.tracehouse.*` (e.g. `client.tracehouse.workspace`), replacing a value the client sent
 * under that name.
 *
 * The kafka receiver does not apply this: it reads what a Tracehouse ingest tier wrote, which
 * already went through stampSpans, so its `tracehouse.*` attributes are the daemon's own.
 */
export const RESERVED_PREFIX = 'tracehouse.';
export const CLIENT_RESERVED_PREFIX = 'client.';

/**
 * Keys no receiver maps from a request: the daemon's stamps and what processors add. Spans a JSON
 * ingest route built lose these too, in case a mapping ever let one through.
 */
export const PIPELINE_KEYS: ReadonlySet<string> = new Set([
  'tracehouse.workspace',
  'tracehouse.source',
  'tracehouse.verdict',
  'tracehouse.verdict.severity',
  'tracehouse.findings',
  'tracehouse.finding',
  'tracehouse.finding.rule_id',
  'tracehouse.finding.severity',
  'tracehouse.redactions',
  'tracehouse.cost_status',
  'tracehouse.judge.cost_usd',
]);

export function isReservedKey(key: string): boolean {
  return key.startsWith(RESERVED_PREFIX);
}

/** Where the attributes of a batch came from, and so which keys are the client's. */
export type AttributeOrigin =
  /** Every attribute map was written by the client (OTLP). */
  | 'client'
  /** Span attributes were mapped by receiver code from an API's fields; other maps are the client's. */
  | 'receiver';

export interface StampedSpans {
  spans: Span[];
  /** Client-set reserved attributes moved to client.tracehouse.*. */
  renamed: number;
}

class Renamer {
  renamed = 0;
  private readonly resources = new Map<Resource, Resource>();
  private readonly scopes = new Map<InstrumentationScope, InstrumentationScope>();

  /**
   * A copy of `attributes` with the keys `moves` picks renamed and then `extra` set; undefined when
   * nothing moved.
   */
  scrub(attributes: Attributes, moves: (key: string) => boolean, extra?: Attributes): Attributes | undefined {
    let moved: string[] | undefined;
    for (const key of Object.keys(attributes)) if (moves(key)) (moved ??= []).push(key);
    if (moved === undefined) return undefined;
    this.renamed += moved.length;
    const out: Attributes = {};
    for (const key of Object.keys(attributes)) if (!moves(key)) setAttribute(out, key, attributes[key]);
    for (const key of moved) out[CLIENT_RESERVED_PREFIX + key] = attributes[key];
    if (extra !== undefined) for (const key of Object.keys(extra)) setAttribute(out, key, extra[key]);
    return out;
  }

  // Shared per batch as the decoders share them: a group of spans keeps one resource object.
  resource(resource: Resource): Resource {
    let out = this.resources.get(resource);
    if (out === undefined) {
      const attributes = this.scrub(resource.attributes, isReservedKey);
      out = attributes === undefined ? resource : { ...resource, attributes };
      this.resources.set(resource, out);
    }
    return out;
  }

  scope(scope: InstrumentationScope): InstrumentationScope {
    let out = this.scopes.get(scope);
    if (out === undefined) {
      const attributes = this.scrub(scope.attributes, isReservedKey);
      out = attributes === undefined ? scope : { ...scope, attributes };
      this.scopes.set(scope, out);
    }
    return out;
  }

  list<T extends { attributes: Attributes }>(items: T[]): T[] {
    let out: T[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const attributes = this.scrub(items[i].attributes, isReservedKey);
      if (attributes === undefined) continue;
      out ??= items.slice();
      out[i] = { ...items[i], attributes };
    }
    return out ?? items;
  }
}

const isPipelineKey = (key: string) => PIPELINE_KEYS.has(key);

/**
 * The one place spans get the daemon's stamp on their way from a receiver into the pipeline: the
 * client's reserved attributes are moved to client.tracehouse.* (on the span, its resource, scope,
 * events and links), then `stamp` (tracehouse.workspace, tracehouse.source) is set on the span.
 */
export function stampSpans(spans: readonly Span[], stamp: Attributes, origin: AttributeOrigin): StampedSpans {
  const renamer = new Renamer();
  const spanMoves = origin === 'client' ? isReservedKey : isPipelineKey;
  const out = spans.map((span): Span => {
    const attributes = renamer.scrub(span.attributes, spanMoves, stamp) ?? copyAttributes(span.attributes, stamp);
    return {
      ...span,
      attributes,
      resource: renamer.resource(span.resource),
      scope: renamer.scope(span.scope),
      events: span.events.length === 0 ? span.events : renamer.list(span.events),
      links: span.links.length === 0 ? span.links : renamer.list(span.links),
    };
  });
  return { spans: out, renamed: renamer.renamed };
}
