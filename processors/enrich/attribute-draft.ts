import type { AttributeValue, Attributes } from '../../core/span';

/**
 * Copy-on-write view of a span's attributes. Most spans need no change, so the copy is made on
 * the first write only; the incoming batch is never touched, because other pipelines of a fan-out
 * hold the same span objects.
 */
export class AttributeDraft {
  private copy: Attributes | undefined;
  /** Writes not yet applied: the copy is built once, with every new key, when first read. */
  private pending: Map<string, AttributeValue> | undefined;

  constructor(private readonly original: Attributes) {}

  /** The current attributes (the original until something was written). */
  get current(): Attributes {
    if (this.pending) {
      // One object built with all its keys at once is far cheaper than growing a copy key by key.
      const copy: Attributes = { ...(this.copy ?? this.original) };
      for (const [key, value] of this.pending) copy[key] = value;
      this.copy = copy;
      this.pending = undefined;
    }
    return this.copy ?? this.original;
  }

  get changed(): boolean {
    return this.copy !== undefined || this.pending !== undefined;
  }

  get(key: string): AttributeValue | undefined {
    if (this.pending?.has(key)) return this.pending.get(key);
    return (this.copy ?? this.original)[key];
  }

  /** Present and not empty: an empty string or null says nothing, so it may be filled. */
  has(key: string): boolean {
    const value = this.get(key);
    return value !== undefined && value !== null && value !== '';
  }

  set(key: string, value: AttributeValue): void {
    if (this.get(key) === value) return;
    (this.pending ??= new Map()).set(key, value);
  }

  /** Writes only when the key is absent; returns whether it wrote. */
  fill(key: string, value: AttributeValue | undefined): boolean {
    if (value === undefined || this.has(key)) return false;
    this.set(key, value);
    return true;
  }
}
