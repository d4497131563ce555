/**
 * Parsing of JSON ingest bodies. JSON.parse itself reads any nesting, but the code after it walks
 * values recursively (schemas, flattening, JSON.stringify), and 100,000 nested `[` would end in a
 * stack overflow: such a body is refused as a client error before it is parsed.
 */
import { errorMessage } from '../errors';

/** Deepest nesting of arrays and objects a JSON ingest body may have. */
export const MAX_JSON_DEPTH = 128;

export type JsonBody = { ok: true; value: unknown } | { ok: false; code: 'RCV_BAD_JSON' | 'RCV_JSON_TOO_DEEP'; message: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether arrays and objects in `text` (JSON, as a string or UTF-8 bytes) nest deeper than `max`.
 * One pass; strings are skipped with indexOf, so brackets inside them do not count. The ASCII
 * bytes it looks for never occur inside a multi-byte UTF-8 sequence.
 */
export function nestsDeeperThan(text: string | Uint8Array, max: number): boolean {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const n = bytes.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === QUOTE) {
      // To the closing quote: the next one not escaped by an odd run of backslashes.
      let end = i;
      for (;;) {
        end = bytes.indexOf(QUOTE, end + 1);
        if (end === -1) return false; // unterminated: JSON.parse refuses it
        let k = end - 1;
        while (bytes[k] === BACKSLASH) k--;
        if (((end - 1 - k) & 1) === 0) break;
      }
      i = end;
    } else if (b === OPEN_BRACKET || b === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (b === CLOSE_BRACKET || b === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

/** The body as JSON, or why it is refused (answered with 400). */
export function parseJsonBody(raw: Buffer, maxDepth = MAX_JSON_DEPTH): JsonBody {
  if (nestsDeeperThan(raw, maxDepth)) {
    return { ok: false, code: 'RCV_JSON_TOO_DEEP', message: `request body nests arrays and objects deeper than ${maxDepth} levels` };
  }
  try {
    return { ok: true, value: JSON.parse(raw.toString('utf8')) as unknown };
  } catch (err) {
    return { ok: false, code: 'RCV_BAD_JSON', message: `request body is not valid JSON: ${errorMessage(err)}` };
  }
}
