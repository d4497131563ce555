import { copyAttributes, makeSpan, setAttribute, withSpanAttributes } from '../../core/span';
import type { Attributes } from '../../core/span';

/** An attribute map holding "__proto__" as an own key, as the OTLP decoders build it. */
function withProtoKey(value: string): Attributes {
  const attributes: Attributes = { a: 1n };
  Object.defineProperty(attributes, '__proto__', { value, enumerable: true, writable: true, configurable: true });
  attributes.z = 'last';
  return attributes;
}

describe('setAttribute', () => {
  it('sets a key, and "__proto__" as an own key without touching the prototype', () => {
    const attributes: Attributes = {};
    setAttribute(attributes, 'gen_ai.system', 'openai');
    setAttribute(attributes, '__proto__', { polluted: true });
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    expect(Object.keys(attributes)).toEqual(['gen_ai.system', '__proto__']);
    expect(Object.getOwnPropertyDescriptor(attributes, '__proto__')?.value).toEqual({ polluted: true });
  });
});

describe('copyAttributes', () => {
  it('copies own entries in order into a new object, sharing nested values', () => {
    const nested: Attributes = { inner: 'x' };
    const source: Attributes = { b: 'two', a: 1n, list: ['x'], map: nested };
    const copy = copyAttributes(source);
    expect(copy).not.toBe(source);
    expect(Object.entries(copy)).toEqual(Object.entries(source));
    expect(copy.map).toBe(nested);
    copy.added = true;
    expect(source).not.toHaveProperty('added');
  });

  it('sets extra over the copy: an existing key keeps its place, new keys come last', () => {
    const source: Attributes = { a: 1n, b: 'old', c: true };
    const copy = copyAttributes(source, { b: 'new', d: 4.5 });
    expect(Object.entries(copy)).toEqual([
      ['a', 1n],
      ['b', 'new'],
      ['c', true],
      ['d', 4.5],
    ]);
    expect(source.b).toBe('old');
  });

  it('keeps a "__proto__" key as an own key of the copy', () => {
    const extra: Attributes = {};
    setAttribute(extra, '__proto__', 'from extra');
    const copy = copyAttributes(withProtoKey('client value'), extra);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['a', '__proto__', 'z']);
    expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toBe('from extra');
  });

  it('copies a map too large for fast properties completely', () => {
    const source: Attributes = {};
    for (let i = 0; i < 200; i++) source[`gen_ai.prompt.${i}.content`] = `text ${i}`;
    expect(Object.entries(copyAttributes(source, { last: 'x' }))).toEqual([...Object.entries(source), ['last', 'x']]);
  });
});

describe('withSpanAttributes', () => {
  it('returns a copy of the span with extra set on a copy of its attributes', () => {
    const span = makeSpan({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'chat', attributes: { 'tracehouse.workspace': 'old', q: 'kept' } });
    const out = withSpanAttributes(span, { 'tracehouse.workspace': 'acme' });
    expect(out).not.toBe(span);
    expect(out.attributes).toEqual({ 'tracehouse.workspace': 'acme', q: 'kept' });
    expect(span.attributes).toEqual({ 'tracehouse.workspace': 'old', q: 'kept' });
    expect({ ...out, attributes: span.attributes }).toEqual(span);
  });
});
