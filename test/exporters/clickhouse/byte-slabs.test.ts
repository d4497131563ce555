import { ByteSlabs } from '../../../exporters/clickhouse/byte-slabs';

const bytes = (length: number, fill: number) => Buffer.alloc(length, fill);

test('copies live side by side in one slab, each holding its own bytes', () => {
  const slabs = new ByteSlabs(1024, 2);
  const a = slabs.copy(bytes(100, 1));
  const b = slabs.copy(bytes(100, 2));
  expect(a.bytes.buffer).toBe(b.bytes.buffer);
  expect(a.bytes.equals(bytes(100, 1))).toBe(true);
  expect(b.bytes.equals(bytes(100, 2))).toBe(true);
  expect(b.bytes.byteOffset).toBeGreaterThanOrEqual(a.bytes.byteOffset + 100);
});

test('a slab is written again only once every copy in it was released', () => {
  const slabs = new ByteSlabs(1024, 2);
  const first = [slabs.copy(bytes(250, 1)), slabs.copy(bytes(250, 2)), slabs.copy(bytes(250, 3)), slabs.copy(bytes(250, 4))];
  const slab = first[0].bytes.buffer;
  // The fifth does not fit: a new slab, while the first still holds live copies.
  const fifth = slabs.copy(bytes(250, 5));
  expect(fifth.bytes.buffer).not.toBe(slab);
  first[0].release();
  first[1].release();
  first[2].release();
  // Releasing twice changes nothing: the last live copy keeps the slab from reuse.
  first[2].release();
  for (let i = 0; i < 3; i++) expect(slabs.copy(bytes(250, 6 + i)).bytes.buffer).not.toBe(slab);
  expect(first[3].bytes.equals(bytes(250, 4))).toBe(true);
  first[3].release();
  // Now the first slab is spare, and the next slab taken is that one.
  expect(slabs.copy(bytes(250, 9)).bytes.buffer).toBe(slab);
  expect(fifth.bytes.equals(bytes(250, 5))).toBe(true);
});

test('the current slab starts over when all its copies are released', () => {
  const slabs = new ByteSlabs(1024, 2);
  const a = slabs.copy(bytes(100, 1));
  a.release();
  const b = slabs.copy(bytes(100, 2));
  expect(b.bytes.buffer).toBe(a.bytes.buffer);
  expect(b.bytes.byteOffset).toBe(a.bytes.byteOffset);
});

test('a copy larger than a quarter slab gets a buffer of its own', () => {
  const slabs = new ByteSlabs(1024, 2);
  const small = slabs.copy(bytes(10, 1));
  const large = slabs.copy(bytes(300, 7));
  expect(large.bytes.buffer).not.toBe(small.bytes.buffer);
  expect(large.bytes.equals(bytes(300, 7))).toBe(true);
  large.release();
});
