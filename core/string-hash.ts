/**
 * A fast non-cryptographic hash of a sequence of strings, as a 53-bit integer (a safe JS number):
 * two 32-bit multiplicative lanes over the UTF-16 code units, each part followed by a NUL, mixed
 * into each other at the end. For grouping keys kept in memory (which span inputs repeat within a
 * trace), where a collision costs a wrong count and never a security property: anyone able to
 * craft one could as well send the same text twice. Never for ids that are stored or compared
 * with stored values, nor for anything an attacker must not forge (use SHA-256 there).
 */
export function hash53(parts: readonly string[]): number {
  let a = 0x9e3779b9;
  let b = 0x85ebca6b;
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p];
    for (let i = 0; i < part.length; i++) {
      const unit = part.charCodeAt(i);
      a = Math.imul(a ^ unit, 0x9e3779b1);
      b = Math.imul(b ^ unit, 0x5bd1e995);
    }
    // The NUL after each part keeps ["ab", "c"] and ["a", "bc"] apart.
    a = Math.imul(a, 0x9e3779b1);
    b = Math.imul(b, 0x5bd1e995);
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a ^= Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b);
  b ^= Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  return (b & 0x1fffff) * 0x100000000 + (a >>> 0);
}
