import { looksLikeJson, redactJsonStrings } from './json-strings';
import { DROP, Tally } from './scanner';
import type { Dropped, Scanner } from './scanner';

/**
 * JSON held in strings nests (tool-call arguments are a JSON string inside the messages JSON);
 * past this depth the rest is scanned as plain text, which still finds everything but may leave
 * escapes around a replacement.
 */
const MAX_JSON_DEPTH = 4;

/**
 * Short strings found clean are remembered: span, model, provider, operation and tool names repeat
 * on every span, and a set lookup costs less than a scan. Whether a string is clean depends on the
 * string and the scanner alone, both fixed for a redactor. Bounded (started over when full)
 * because the strings are the clients'; long ones rarely repeat and are not kept.
 */
export const CLEAN_STRINGS = 4096;
const MAX_CLEAN_LENGTH = 64;

/** Redacts one string value: as JSON when it is a JSON document, else as text. */
export class TextRedactor {
  private readonly scratch: Tally;
  private readonly clean = new Set<string>();

  constructor(
    private readonly scanner: Scanner,
    detectorCount: number,
    /** Clean strings remembered at most (0: none; for tests comparing both ways). */
    private readonly cleanStrings = CLEAN_STRINGS,
  ) {
    this.scratch = new Tally(detectorCount);
  }

  /** The detector behind the last DROP that redact returned. */
  get droppedBy(): number {
    return this.scanner.droppedBy;
  }

  /**
   * The redacted string (the same string when nothing matched), or DROP. When a string is
   * dropped, only the dropping detector is counted (once): whatever else it held left with it.
   */
  redact(text: string, tally: Tally): string | Dropped {
    const short = text.length <= MAX_CLEAN_LENGTH;
    if (short && this.clean.has(text)) return text;
    const scratch = this.scratch;
    const result = this.redactAt(text, scratch, 0);
    if (result === DROP) {
      scratch.reset();
      tally.add(this.scanner.droppedBy);
      return DROP;
    }
    tally.addAll(scratch);
    scratch.reset();
    if (result === text && short && this.cleanStrings > 0) {
      if (this.clean.size >= this.cleanStrings) this.clean.clear();
      this.clean.add(text);
    }
    return result;
  }

  private redactAt(text: string, tally: Tally, depth: number): string | Dropped {
    if (depth < MAX_JSON_DEPTH && looksLikeJson(text)) {
      const json = redactJsonStrings(text, (leaf) => this.redactAt(leaf, tally, depth + 1));
      if (json !== undefined) return json;
    }
    return this.scanner.scan(text, tally);
  }
}
