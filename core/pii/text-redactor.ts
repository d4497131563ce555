import { looksLikeJson, redactJsonStrings } from './json-strings';
import { DROP, Tally } from './scanner';
import type { Dropped, Scanner } from './scanner';

/**
 * JSON held in strings nests (tool-call arguments are a JSON string inside the messages JSON);
 * past this depth the rest is scanned as plain text, which still finds everything but may leave
 * escapes around a replacement.
 */
const MAX_JSON_DEPTH = 4;

/** Redacts one string value: as JSON when it is a JSON document, else as text. */
export class TextRedactor {
  private readonly scratch: Tally;

  constructor(
    private readonly scanner: Scanner,
    detectorCount: number,
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
    const scratch = this.scratch;
    const result = this.redactAt(text, scratch, 0);
    if (result === DROP) {
      scratch.reset();
      tally.add(this.scanner.droppedBy);
      return DROP;
    }
    tally.addAll(scratch);
    scratch.reset();
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
