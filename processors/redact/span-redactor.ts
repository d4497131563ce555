import { DROP, Tally } from '../../core/pii/scanner';
import type { Dropped } from '../../core/pii/scanner';
import type { TextRedactor } from '../../core/pii/text-redactor';
import { copyAttributes, isAttributes, setAttribute } from '../../core/span';
import type { AttributeValue, Attributes, Resource, Span, SpanBatch, SpanEvent, SpanLink, SpanStatus } from '../../core/span';
import { KeyDecision } from './key-filter';
import type { KeyFilter } from './key-filter';
import { operationalKind, withoutUserinfo } from './operational';

export const REDACTIONS_ATTRIBUTE = 'tracehouse.redactions';

export interface BatchRedaction {
  /** The input batch itself when nothing changed; otherwise a new array sharing unchanged spans. */
  batch: SpanBatch;
  /** Redactions performed, per detector id (a resource shared by many spans counts once). */
  totals: Tally;
  /** Attributes removed by block_keys. */
  blocked: number;
}

interface RedactedResource {
  resource: Resource;
  counts: Tally | undefined;
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Walks spans copy-on-write: a span, event, link, resource, attribute map or array is copied only
 * when something inside it changed, so the input batch is never touched and untouched parts stay
 * shared with it.
 */
export class SpanRedactor {
  private readonly spanTally: Tally;
  private readonly resourceTally: Tally;
  private blocked = 0;

  constructor(
    private readonly text: TextRedactor,
    private readonly keys: KeyFilter,
    /** Detector names by id, for tracehouse.redactions. */
    private readonly names: readonly string[],
    private readonly scanning: boolean,
    /** The url_credentials detector's id when it is enabled: userinfo leaves operational URLs. */
    private readonly urlCredentials: number | undefined = undefined,
  ) {
    this.spanTally = new Tally(names.length);
    this.resourceTally = new Tally(names.length);
  }

  redactBatch(batch: SpanBatch): BatchRedaction {
    const totals = new Tally(this.names.length);
    this.blocked = 0;
    if (!this.scanning && !this.keys.active) return { batch, totals, blocked: 0 };
    // Spans of one OTLP ResourceSpans share their resource object: redacting it once per batch
    // keeps it shared (one object, not one copy per span) and keeps the work per resource.
    const resources = new Map<Resource, RedactedResource>();
    let out: Span[] | undefined;
    for (let i = 0; i < batch.length; i++) {
      const span = batch[i];
      const redacted = this.span(span, resources, totals);
      if (redacted !== span && out === undefined) out = batch.slice(0, i);
      if (out !== undefined) out.push(redacted);
    }
    return { batch: out ?? batch, totals, blocked: this.blocked };
  }

  private span(span: Span, resources: Map<Resource, RedactedResource>, totals: Tally): Span {
    const tally = this.spanTally;
    tally.reset();
    // Receivers name spans after client fields (a log's task, a tool's name, an action name).
    const name = this.name(span.name, tally);
    let attributes = this.attributes(span.attributes, tally);
    const events = span.events.length === 0 ? span.events : copyOnWrite(span.events, (e) => this.event(e, tally));
    const links = span.links.length === 0 ? span.links : copyOnWrite(span.links, (l) => this.link(l, tally));
    const status = this.status(span.status, tally);
    totals.addAll(tally);
    const { resource, counts } = this.resource(span.resource, resources, totals);
    if (counts !== undefined) tally.addAll(counts);
    if (tally.dirty) attributes = this.withRedactions(attributes, attributes !== span.attributes, tally);
    if (
      name === span.name &&
      attributes === span.attributes &&
      events === span.events &&
      links === span.links &&
      status === span.status &&
      resource === span.resource
    ) {
      return span;
    }
    return { ...span, name, attributes, events, links, status, resource };
  }

  /**
   * A span or event name: redacted like text (names repeat, so the text redactor's memory of
   * clean strings answers most); a name cannot be dropped, so `drop` masks all of it.
   */
  private name(name: string, tally: Tally): string {
    if (name === '' || !this.scanning) return name;
    const redacted = this.text.redact(name, tally);
    return redacted === DROP ? `[REDACTED:${this.names[this.text.droppedBy].toUpperCase()}]` : redacted;
  }

  private resource(resource: Resource, cache: Map<Resource, RedactedResource>, totals: Tally): RedactedResource {
    let entry = cache.get(resource);
    if (entry === undefined) {
      const tally = this.resourceTally;
      tally.reset();
      const attributes = this.attributes(resource.attributes, tally);
      entry = {
        resource: attributes === resource.attributes ? resource : { ...resource, attributes },
        counts: tally.dirty ? tally.copy() : undefined,
      };
      totals.addAll(tally);
      cache.set(resource, entry);
    }
    return entry;
  }

  private event(event: SpanEvent, tally: Tally): SpanEvent {
    const name = this.name(event.name, tally);
    const attributes = this.attributes(event.attributes, tally);
    return attributes === event.attributes && name === event.name ? event : { ...event, name, attributes };
  }

  private link(link: SpanLink, tally: Tally): SpanLink {
    const attributes = this.attributes(link.attributes, tally);
    return attributes === link.attributes ? link : { ...link, attributes };
  }

  private status(status: SpanStatus, tally: Tally): SpanStatus {
    if (status.message === '' || !this.scanning) return status;
    const message = this.text.redact(status.message, tally);
    if (message === status.message) return status;
    return { code: status.code, message: message === DROP ? '' : message };
  }

  /** A top-level attribute map: keys are filtered here; nested kvlists are scanned whole. */
  private attributes(attributes: Attributes, tally: Tally): Attributes {
    let out: Attributes | undefined;
    for (const key in attributes) {
      if (!hasOwn.call(attributes, key)) continue;
      const value = attributes[key];
      const decision = this.keys.active ? this.keys.decide(key) : KeyDecision.Scan;
      if (decision === KeyDecision.Block) {
        this.blocked++;
        out ??= copyBefore(attributes, key);
        continue;
      }
      const redacted = decision === KeyDecision.Skip || !this.scanning ? value : this.topLevel(key, value, tally);
      if (redacted !== value) out ??= copyBefore(attributes, key);
      if (out !== undefined && redacted !== DROP) setAttribute(out, key, redacted);
    }
    return out ?? attributes;
  }

  /** A top-level attribute value: operational ones structurally (see operational.ts), others scanned. */
  private topLevel(key: string, value: AttributeValue, tally: Tally): AttributeValue | Dropped {
    const kind = operationalKind(key);
    if (kind === 'no') return this.value(value, tally);
    if (kind === 'unscanned' || typeof value !== 'string') return value;
    // A URL the daemon calls later: its credentials go, the rest stays usable as it is.
    const stripped = withoutUserinfo(value);
    if (stripped === undefined) return this.value(value, tally);
    if (stripped === value || this.urlCredentials === undefined) return value;
    tally.add(this.urlCredentials);
    return stripped;
  }

  /** DROP anywhere inside a value drops the whole attribute holding it. */
  private value(value: AttributeValue, tally: Tally): AttributeValue | Dropped {
    if (typeof value === 'string') return value === '' ? value : this.text.redact(value, tally);
    if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
    if (Array.isArray(value)) {
      let out: AttributeValue[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const redacted = this.value(value[i], tally);
        if (redacted === DROP) return DROP;
        if (redacted !== value[i]) out ??= value.slice(0, i);
        if (out !== undefined) out.push(redacted);
      }
      return out ?? value;
    }
    let out: Attributes | undefined;
    for (const key in value) {
      if (!hasOwn.call(value, key)) continue;
      const redacted = this.value(value[key], tally);
      if (redacted === DROP) return DROP;
      if (redacted !== value[key]) out ??= copyBefore(value, key);
      if (out !== undefined) setAttribute(out, key, redacted);
    }
    return out ?? value;
  }

  /**
   * Adds this span's counts to a tracehouse.redactions already present (e.g. from an upstream
   * tier): into `attributes` itself when it is this redaction's own copy, else into a copy.
   */
  private withRedactions(attributes: Attributes, owned: boolean, tally: Tally): Attributes {
    const existing = attributes[REDACTIONS_ATTRIBUTE];
    const merged: Attributes = existing !== undefined && isAttributes(existing) ? copyAttributes(existing) : {};
    for (let id = 0; id < this.names.length; id++) {
      const n = tally.counts[id];
      if (n === 0) continue;
      const name = this.names[id];
      const previous = merged[name];
      merged[name] = (typeof previous === 'bigint' ? previous : 0n) + BigInt(n);
    }
    const out = owned ? attributes : copyAttributes(attributes);
    out[REDACTIONS_ATTRIBUTE] = merged;
    return out;
  }
}

function copyOnWrite<T>(items: T[], redact: (item: T) => T): T[] {
  let out: T[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const redacted = redact(items[i]);
    if (redacted !== items[i] && out === undefined) out = items.slice(0, i);
    if (out !== undefined) out.push(redacted);
  }
  return out ?? items;
}

/** The entries of `attributes` before `key`, in order: the start of a copy made on first change. */
function copyBefore(attributes: Attributes, key: string): Attributes {
  const out: Attributes = {};
  for (const k in attributes) {
    if (k === key) break;
    if (hasOwn.call(attributes, k)) setAttribute(out, k, attributes[k]);
  }
  return out;
}
