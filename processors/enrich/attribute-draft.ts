import type { AttributeValue, Attributes } from '../../core/span';

/**
 * Copy-on-write view of a span's attributes. Most spans need no change, so the copy is made on
 * the first write only; the incoming batch is never touched, because other pipelines of a fan-out
 * hold the same span objects.
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
    return this.current[key];
  }

  /** Present and not empty: an empty string or null says nothing, so it may be filled. */
  has(key: string): boolean {
    const value = this.current[key];
    return value !== undefined && value !== null && value !== '';
  }

  set(key: string, value: AttributeValue): void {
    if (this.current[key] === value) return;
    if (this.copy === undefined) this.copy = { ...this.original };
    this.copy[key] = value;
  }

  /** Writes only when the key is absent; returns whether it wrote. */
  fill(key: string, value: AttributeValue | undefined): boolean {
    if (value === undefined || this.has(key)) return false;
    this.set(key, value);
    return true;
  }
}
