/**
 * The in-flight bound's rules for request bodies (core/inflight-limiter.ts): bytes count as they
 * arrive, never as announced; bodies still arriving are capped so complete requests keep room; an
 * ordinary small body is never refused because of slow ones; everything is given back on release.
 */
import { InflightLimiter, SMALL_BODY_BYTES } from '../../core/inflight-limiter';

const MiB = 1024 * 1024;

it('reserves nothing for announced bytes, only for bytes that arrived', () => {
  const limiter = new InflightLimiter(128 * MiB);
  const stalled = Array.from({ length: 7 }, () => limiter.admitBody(20 * MiB));
  expect(stalled.every((r) => r !== undefined)).toBe(true);
  expect(limiter.inUse).toBe(0);
  for (const r of stalled) expect(r!.grow(MiB, false)).toBe(true);
  expect(limiter.inUse).toBe(7 * MiB);
  expect(limiter.receiving).toBe(7 * MiB);
  // A normal request is admitted and completes.
  const normal = limiter.admitBody(2000)!;
  expect(normal.grow(2000, true)).toBe(true);
  expect(limiter.receiving).toBe(7 * MiB);
  normal.release();
  for (const r of stalled) r!.release();
  expect(limiter.inUse).toBe(0);
  expect(limiter.receiving).toBe(0);
});

it('caps bodies still arriving at max_receiving_bytes, leaving room for complete ones', () => {
  const limiter = new InflightLimiter(128 * MiB);
  expect(limiter.maxReceivingBytes).toBe(96 * MiB);
  const chunk = 16 * MiB;
  const slow = Array.from({ length: 8 }, () => limiter.admitBody(20 * MiB)!);
  const grown = slow.map((r) => r.grow(chunk, false));
  expect(grown.filter(Boolean)).toHaveLength(6); // 6 x 16 MiB = 96 MiB
  expect(limiter.receiving).toBe(96 * MiB);
  // A large body is refused before reading while the arriving share is full...
  expect(limiter.admitBody(4 * MiB)).toBeUndefined();
  // ...but small bodies still get through.
  const small = limiter.admitBody(SMALL_BODY_BYTES)!;
  expect(small.grow(SMALL_BODY_BYTES / 2, false)).toBe(true);
  expect(small.grow(SMALL_BODY_BYTES / 2, true)).toBe(true);
  // Data already complete (a gRPC message, a decompressed copy) is bound by the total only.
  const message = limiter.tryReserve(8 * MiB);
  expect(message).toBeDefined();
  // The total bound still holds for everything.
  expect(limiter.tryReserve(64 * MiB)).toBeUndefined();
  message!();
  for (const r of [...slow, small]) r.release();
  expect([limiter.inUse, limiter.receiving]).toEqual([0, 0]);
});

it('admits any single body when nothing else is held, and releases once', () => {
  const limiter = new InflightLimiter(1000, 500);
  const big = limiter.admitBody(5000)!;
  expect(big.grow(3000, false)).toBe(true);
  expect(big.grow(2000, true)).toBe(true);
  expect(limiter.admitBody(10)).toBeUndefined();
  big.release();
  big.release();
  expect([limiter.inUse, limiter.receiving]).toEqual([0, 0]);
  expect(big.grow(1, true)).toBe(false);
});
