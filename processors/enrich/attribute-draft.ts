import { copyAttributes, setAttribute } from '../../core/span';
import type { AttributeValue, Attributes } from '../../core/span';

/**
 * Copy-on-write view of a span's attributes. Most spans need no change, so the copy is made on
 * the first write only, once per span, and later writes go into that copy; the incoming batch is
 * never touched, because other pipelines of a fan-out hold the same span objects.
 *
 * `current` is the copy itself once something was written, so a caller that holds it sees later
 * writes (no convention table's rows read a key they write: test/processors/enrich/normalize.test.ts).
 */
export class AttributeDraft {
  private copy: Attributes | undefined;

  constructor(private readonly original: Attributes) {}

  /** The current attributes (the original until something was written). */
  get current(): Attributes {
    return this.copy ?? this.original;
  }

  get changed(): boolean {
    return this.copy !== undefined;
  }

  get(key: string): AttributeValue | undefined {
    return (this.copy ?? this.original)[key];
  }

  /** Present and not empty: an empty string or null says nothing, so it may be filled. */
  has(key: string): boolean {
    const value = this.get(key);
    return value !== undefined && value !== null && value !== '';
  }

  set(key: string, value: AttributeValue): void {
    if (this.get(key) === value) return;
    this.copy ??= copyAttributes(this.original);
    setAttribute(this.copy, key, value);
  }

  /** Writes only when the key is absent; returns whether it wrote. */
  fill(key: string, value: AttributeValue | undefined): boolean {
    if (value === undefined || this.has(key)) return false;
    this.set(key, value);
    return true;
  }
}
