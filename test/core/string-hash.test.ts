import { hash53 } from '../../core/string-hash';

describe('hash53', () => {
  it('gives the same values in every process and version (pinned)', () => {
    expect(hash53([])).toBe(15216031280547);
    expect(hash53([''])).toBe(7954603383097263);
    expect(hash53(['model', 'gpt-4o', 'hello', ''])).toBe(4058380549222283);
    expect(hash53(['tool', 'search', '{"q":1}'])).toBe(5846297456478262);
    expect(hash53(['é😀'])).toBe(5527069252824242);
  });

  it('is a safe integer that tells apart where the parts are cut', () => {
    expect(hash53(['ab', 'c'])).not.toBe(hash53(['a', 'bc']));
    expect(hash53(['abc'])).not.toBe(hash53(['abc', '']));
    for (const parts of [[], ['x'.repeat(100_000)], ['\u0000', '\uffff']]) {
      const h = hash53(parts);
      expect(Number.isSafeInteger(h) && h >= 0).toBe(true);
    }
  });

  it('has no collision among 200,000 prompts that differ in one place', () => {
    const seen = new Set<number>();
    const prompt = 'Summarize the following support ticket in two sentences and list the action items. '.repeat(2);
    for (let i = 0; i < 200_000; i++) seen.add(hash53(['model', 'gpt-4o', `${prompt}${i}`, '']));
    expect(seen.size).toBe(200_000);
  });
});
