import { DROP, Scanner, Tally } from '../../../core/pii/scanner';
import type { ActiveDetector } from '../../../core/pii/scanner';
import { redactText } from './support';

function detector(id: number, name: string, pattern: string, extra: Partial<ActiveDetector['definition']> = {}): ActiveDetector {
  return { id, name, action: 'mask', definition: { pattern, wordStart: false, ...extra } };
}

describe('scanner', () => {
  it('gives a position to the next detector by priority when a validator rejects the first', () => {
    const picky = detector(0, 'picky', '[0-9]{4}', { validate: () => 0 });
    const plain = detector(1, 'plain', '[0-9]{4}');
    const tally = new Tally(2);
    expect(new Scanner([picky, plain], undefined).scan('x 1234 y', tally)).toBe('x [REDACTED:PLAIN] y');
    expect([...tally.counts]).toEqual([0, 1]);
  });

  it('continues after a rejected candidate without losing later values inside it', () => {
    // The rejected candidate "12345678" holds "5678", which a later detector takes.
    const picky = detector(0, 'picky', '[0-9]{8}', { validate: () => 0 });
    const tail = detector(1, 'tail', '5678');
    expect(new Scanner([picky, tail], undefined).scan('12345678', new Tally(2))).toBe('1234[REDACTED:TAIL]');
  });

  it('finds word-start detectors right after a value that ends in their delimiter', async () => {
    const config = { custom_detectors: [{ name: 'marker', pattern: '<[a-z]+>' }] };
    expect(await redactText('<abc>4111111111111111 <d>+14155552671', config)).toBe('[REDACTED:MARKER][REDACTED:PAYMENT_CARD] [REDACTED:MARKER][REDACTED:PHONE]');
  });

  it('lets a custom detector win over a built-in at the same position', async () => {
    const config = { custom_detectors: [{ name: 'internal_host', pattern: String.raw`10\.\d+\.\d+\.\d+` }] };
    expect(await redactText('from 10.1.2.3 and 8.8.8.8', config)).toBe('from [REDACTED:INTERNAL_HOST] and [REDACTED:IPV4]');
  });

  it('keeps detector identities right when custom patterns have capture groups', async () => {
    const config = {
      custom_detectors: [
        { name: 'order', pattern: '(ord|inv)-(\\d+)' },
        { name: 'project', pattern: '(P)(R)(J)-\\d{3}' },
      ],
    };
    expect(await redactText('ord-12 PRJ-123 jane@x.io inv-7', config)).toBe('[REDACTED:ORDER] [REDACTED:PROJECT] [REDACTED:EMAIL] [REDACTED:ORDER]');
  });

  it('reports DROP and which detector dropped', () => {
    const keep = detector(0, 'keep', 'aa');
    const gone: ActiveDetector = { ...detector(1, 'gone', 'bb'), action: 'drop' };
    const scanner = new Scanner([keep, gone], undefined);
    expect(scanner.scan('aa bb', new Tally(2))).toBe(DROP);
    expect(scanner.droppedBy).toBe(1);
  });

  it('returns the very same string when nothing matched', () => {
    const text = ['no', 'findings', 'here'].join(' ');
    expect(new Scanner([detector(0, 'x', 'zzz')], undefined).scan(text, new Tally(1))).toBe(text);
  });

  it('scans text of any length in linear time without stack trouble', async () => {
    const long = `${'lorem ipsum dolor sit amet, '.repeat(40_000)}jane@example.com`;
    const out = await redactText(long);
    expect(typeof out === 'string' && out.endsWith('[REDACTED:EMAIL]')).toBe(true);
  });
});
