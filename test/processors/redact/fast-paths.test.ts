/**
 * The shortcuts of the text redactor (its memory of short clean strings, the JSON pre-check) must
 * never change what is redacted: the same corpus through a redactor with and without them gives
 * the same strings and the same counts.
 */
import { looksLikeJson } from '../../../core/pii/json-strings';
import { DROP, Scanner, Tally } from '../../../core/pii/scanner';
import { TextRedactor } from '../../../core/pii/text-redactor';
import { redactProcessorFactory } from '../../../processors/redact/factory';
import { detectorsFor } from '../../../processors/redact/redact-processor';

const messages = (content: string) => JSON.stringify([{ role: 'user', parts: [{ type: 'text', content }] }]);

const CORPUS: readonly string[] = [
  'chat',
  'openai',
  'gpt-4o-mini-2024-07-18',
  'chat gpt-4o-mini',
  'execute_tool lookup_order',
  'jane@example.com',
  'write to jane@example.com',
  '+44 20 7946 0958',
  'card 4111 1111 1111 1111',
  '4111111111111111',
  '078-05-1120',
  '10.0.0.1',
  'GB82 WEST 1234 5698 7654 32',
  'Bearer abcdefghijklmnop1234',
  'sk-abcdefghijklmnopqrstuvwxyz',
  'https://user:secret@example.com/path',
  'Summarize the following support ticket in two sentences and list the action items. '.repeat(3),
  `Summarize the ticket of jane.doe@example.org, ${'and list the action items '.repeat(3)}`,
  messages('Where is order 1042?'),
  messages('I am jane.doe@example.com, call me on +44 20 7946 0958 about card 4111 1111 1111 1111.'),
  '{"to":"jane\\u0040example.com"}',
  '[1,4111111111111111]',
  '  {"a": [1, 2, {"b": "078-05-1120"}]}  ',
  '{"args": "{\\"email\\": \\"x@y.io\\"}"}',
  '[INFO] user jane@example.com logged in',
  '{name} called from 10.1.2.3',
  '[not json',
  '{"unterminated": "x@y.io"',
  '',
  ' ',
  'x'.repeat(64),
  `${'x'.repeat(63)}@example.com`,
];

const CONFIGS: readonly [string, unknown][] = [
  ['the defaults', {}],
  ['hash and drop actions', { detectors: { email: { action: 'hash' }, payment_card: { action: 'drop' } }, hash_key: 'k'.repeat(32) }],
  ['a custom detector', { custom_detectors: [{ name: 'order', pattern: 'order \\d+' }] }],
];

function redactorFor(rawConfig: unknown, cleanStrings?: number): { redactor: TextRedactor; detectors: number } {
  const config = redactProcessorFactory.configSchema.parse(rawConfig);
  const { all, enabled, custom } = detectorsFor(config);
  return { redactor: new TextRedactor(new Scanner(enabled, config.hash_key, custom), all.length, cleanStrings), detectors: all.length };
}

describe('text redactor shortcuts', () => {
  it.each(CONFIGS)('redact the corpus exactly as without them, with %s', (_label, config) => {
    const fast = redactorFor(config);
    const plain = redactorFor(config, 0);
    // Three rounds: the later ones are answered from the memory of clean strings.
    for (let round = 0; round < 3; round++) {
      for (const text of CORPUS) {
        const fastTally = new Tally(fast.detectors);
        const plainTally = new Tally(plain.detectors);
        const expected = plain.redactor.redact(text, plainTally);
        expect([text, fast.redactor.redact(text, fastTally), [...fastTally.counts]]).toEqual([text, expected, [...plainTally.counts]]);
      }
    }
  });

  it('still finds what it finds in the corpus (the comparison is not vacuous)', () => {
    const { redactor, detectors } = redactorFor(CONFIGS[1][1]);
    const changed = CORPUS.filter((text) => redactor.redact(text, new Tally(detectors)) !== text);
    expect(changed.length).toBeGreaterThan(15);
    expect(redactor.redact('card 4111 1111 1111 1111', new Tally(detectors))).toBe(DROP);
    expect(redactor.redact('{"to":"jane\\u0040example.com"}', new Tally(detectors))).toMatch(/^\{"to":"\[HASH:EMAIL:[0-9a-f]{16}\]"\}$/);
  });

  it('the JSON pre-check lets every JSON object and array of the corpus through, and plain text past', () => {
    for (const text of CORPUS) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (parsed !== null && typeof parsed === 'object') expect([text, looksLikeJson(text)]).toEqual([text, true]);
    }
    expect(looksLikeJson('[INFO] user logged in')).toBe(false);
    expect(looksLikeJson('{name} called')).toBe(false);
    expect(looksLikeJson('{"a":1]')).toBe(false);
    expect(looksLikeJson(' \n[1]\t')).toBe(true);
    expect(looksLikeJson('[')).toBe(false);
  });
});
