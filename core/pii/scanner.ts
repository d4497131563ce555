import { createHmac, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { RedactAction } from './names';
import { CustomDetectors } from './custom-detectors';
import type { DetectorDefinition } from './detectors';
import { WORD_DELIMITER, WORD_START } from './detectors';
import { RunCache } from './token-runs';

/** Returned instead of a string when a `drop` detector matched: the holder must go. */
export const DROP: unique symbol = Symbol('redact.drop');
export type Dropped = typeof DROP;

export interface ActiveDetector {
  /** Index into a Tally; also the detector's place in tracehouse.redactions. */
  id: number;
  name: string;
  action: RedactAction;
  definition: DetectorDefinition;
}

/** Redaction counts per detector id, reused across strings and spans to avoid allocation. */
export class Tally {
  readonly counts: Int32Array;
  dirty = false;

  constructor(size: number) {
    this.counts = new Int32Array(size);
  }

  add(id: number, n = 1): void {
    this.counts[id] += n;
    this.dirty = true;
  }

  addAll(other: Tally): void {
    if (!other.dirty) return;
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.dirty = true;
  }

  reset(): void {
    if (!this.dirty) return;
    this.counts.fill(0);
    this.dirty = false;
  }

  copy(): Tally {
    const out = new Tally(this.counts.length);
    out.addAll(this);
    return out;
  }
}

/**
 * Detectors compiled into one sticky expression that answers "which detector, by priority, has
 * its anchor exactly here?", each detector in its own capturing group so the group number tells.
 */
class Alternation {
  readonly regex: RegExp;
  /** Capture group number of each member. */
  readonly groups: number[] = [];
  private readonly rests: (Alternation | null | undefined)[] = [];

  constructor(readonly members: readonly ActiveDetector[]) {
    let group = 1;
    const parts = members.map((member) => {
      this.groups.push(group);
      group += 1 + innerGroupCount(member.definition.pattern);
      return member.definition.wordStart ? `${WORD_START}(${member.definition.pattern})` : `(${member.definition.pattern})`;
    });
    this.regex = new RegExp(parts.join('|'), 'y');
  }

  /** The alternatives after member `index`, tried at the same position when it was rejected. */
  rest(index: number): Alternation | null {
    let rest = this.rests[index];
    if (rest === undefined) {
      const remaining = this.members.slice(index + 1);
      rest = remaining.length > 0 ? new Alternation(remaining) : null;
      this.rests[index] = rest;
    }
    return rest;
  }
}

/**
 * The one pass over a string: every detector's pattern in one global expression, word-start
 * detectors behind a consumed delimiter (group 1) instead of a lookbehind. A lookbehind is
 * evaluated at every position, a consumed delimiter is one character-class test that most
 * positions of prose fail at once; this makes the scan about three times faster. It only finds
 * candidates: a match at p covers anchors from p to p + (delimiter length), and the sticky
 * Alternation decides at each of those positions, by priority, with the real lookbehinds.
 */
function locator(members: readonly ActiveDetector[]): RegExp {
  const words = members.filter((m) => m.definition.wordStart).map((m) => `(?:${m.definition.pattern})`);
  const others = members.filter((m) => !m.definition.wordStart).map((m) => `(?:${m.definition.pattern})`);
  // Word-start detectors first: at a delimiter, the widest candidate range is the useful one.
  const parts = [...(words.length > 0 ? [`(${WORD_DELIMITER})(?:${words.join('|')})`] : []), ...others];
  return new RegExp(words.length > 0 ? parts.join('|') : `()(?:${parts.join('|')})`, 'g');
}

/**
 * For each first character (ASCII codes 0-127, then one slot for every other character), the
 * detectors whose matches can start with it, as one Alternation in priority order, or null when
 * none can: most positions a candidate range covers need one small expression, or none at all.
 */
function firstCharDispatch(detectors: readonly ActiveDetector[]): (Alternation | null)[] {
  const starts = detectors.map((d) => (d.definition.firstChars === undefined ? undefined : new RegExp(`^${d.definition.firstChars}$`)));
  const bySubset = new Map<string, Alternation | null>();
  const out: (Alternation | null)[] = [];
  for (let code = 0; code <= 128; code++) {
    const char = code < 128 ? String.fromCharCode(code) : undefined;
    const members = detectors.filter((_d, i) => starts[i] === undefined || (char !== undefined && starts[i].test(char)));
    const key = members.map((m) => m.id).join(',');
    let alternation = bySubset.get(key);
    if (alternation === undefined) {
      alternation = members.length > 0 ? new Alternation(members) : null;
      bySubset.set(key, alternation);
    }
    out.push(alternation);
  }
  return out;
}

function innerGroupCount(pattern: string): number {
  return (new RegExp(`(?:${pattern})|`).exec('') as RegExpExecArray).length - 1;
}

interface Hit {
  detector: ActiveDetector;
  start: number;
  end: number;
}

/**
 * Scans a string once for every enabled detector and replaces what they find. A candidate a
 * validator rejects does not end the search at that position: the detectors after it by priority
 * still get their chance there, as they would have without the validator.
 *
 * Built-in detectors are trusted patterns on the JavaScript engine, each written to be linear
 * (see DetectorDefinition); every position is decided at most once, so a scan is linear too.
 * Custom detectors are the operator's patterns and run on the linear-time engine, before the
 * built-ins, which then scan the text between their matches.
 */
export class Scanner {
  private readonly locator: RegExp;
  private readonly dispatch: (Alternation | null)[];
  private readonly custom: CustomDetectors | undefined;
  private readonly masks: string[];
  private readonly labels: string[];
  private readonly key: KeyObject | undefined;
  private readonly empty: boolean;
  private readonly builtinsEmpty: boolean;
  private readonly runs = new RunCache();
  /** The detector behind the last DROP that scan returned. */
  droppedBy = -1;

  /**
   * `detectors`: built-in definitions in priority order; `custom`: the operator's, in config
   * order (run first). Ids index the tallies passed to scan.
   */
  constructor(detectors: readonly ActiveDetector[], hashKey: string | undefined, custom: readonly ActiveDetector[] = []) {
    this.builtinsEmpty = detectors.length === 0;
    this.empty = this.builtinsEmpty && custom.length === 0;
    this.locator = locator(detectors);
    this.dispatch = firstCharDispatch(detectors);
    this.custom = custom.length > 0 ? new CustomDetectors(custom) : undefined;
    const all = [...detectors, ...custom];
    const size = all.reduce((max, d) => Math.max(max, d.id + 1), 0);
    this.labels = new Array<string>(size);
    this.masks = new Array<string>(size);
    for (const d of all) {
      this.labels[d.id] = d.name.toUpperCase();
      this.masks[d.id] = `[REDACTED:${d.name.toUpperCase()}]`;
    }
    this.key = hashKey === undefined ? undefined : createSecretKey(Buffer.from(hashKey, 'utf8'));
  }

  get enabled(): boolean {
    return !this.empty;
  }

  /** The redacted string (the same string when nothing matched), or DROP. Counts into `tally`. */
  scan(text: string, tally: Tally): string | Dropped {
    if (this.empty) return text;
    if (this.custom === undefined) return this.scanBuiltins(text, tally);
    return this.custom.scan(text, tally, {
      replace: (detector, matched) => this.replacement(detector, matched),
      drop: (detector) => {
        this.droppedBy = detector.id;
        return DROP;
      },
      rest: (gap) => (this.builtinsEmpty ? gap : this.scanBuiltins(gap, tally)),
    });
  }

  private scanBuiltins(text: string, tally: Tally): string | Dropped {
    const locator = this.locator;
    this.runs.reset();
    let out = '';
    let copied = 0;
    /** Every anchor before this position has been decided. */
    let decided = 0;
    let from = 0;
    while (from <= text.length) {
      locator.lastIndex = from;
      const m = locator.exec(text);
      if (m === null) break;
      const last = m.index + (m[1] === undefined ? 0 : m[1].length);
      let hit: Hit | undefined;
      for (let at = Math.max(m.index, decided); at <= last && hit === undefined; at++) hit = this.decide(text, at, copied);
      if (hit === undefined) {
        decided = Math.max(decided, last + 1);
        from = m.index + 1;
        continue;
      }
      const detector = hit.detector;
      tally.add(detector.id);
      if (detector.action === 'drop') {
        this.droppedBy = detector.id;
        return DROP;
      }
      out += text.slice(copied, hit.start) + this.replacement(detector, text.slice(hit.start, hit.end));
      copied = hit.end;
      decided = hit.end;
      // The next value may start right after this one, its delimiter (up to two characters) inside it.
      from = Math.max(hit.end - 2, 0);
    }
    return copied === 0 ? text : out + text.slice(copied);
  }

  /** The detector, by priority, whose anchor is at `at` and which its validator accepts. */
  private decide(text: string, at: number, floor: number): Hit | undefined {
    const code = text.charCodeAt(at);
    const alternation = this.dispatch[code < 128 ? code : 128];
    if (alternation === null) return undefined;
    const regex = alternation.regex;
    regex.lastIndex = at;
    const m = regex.exec(text);
    return m === null ? undefined : this.resolve(alternation, m, text, floor);
  }

  /** `floor`: where the text not yet replaced begins; a value found by walking back stops there. */
  private resolve(alternation: Alternation, m: RegExpExecArray, text: string, floor: number): Hit | undefined {
    if (m[0].length === 0) return undefined;
    const { members, groups } = alternation;
    for (let j = 0; j < members.length; j++) {
      if (m[groups[j]] === undefined) continue;
      const detector = members[j];
      const { validate, start: startOf } = detector.definition;
      const matchEnd = m.index + m[0].length;
      const start = startOf === undefined ? m.index : Math.min(Math.max(startOf(text, m.index), floor), matchEnd);
      const length = validate === undefined ? matchEnd - start : validate(text.slice(start, matchEnd), text, start, this.runs);
      if (length > 0) return { detector, start, end: start + length };
      const rest = alternation.rest(j);
      if (rest === null) return undefined;
      rest.regex.lastIndex = m.index;
      const next = rest.regex.exec(text);
      return next === null ? undefined : this.resolve(rest, next, text, floor);
    }
    return undefined;
  }

  private replacement(detector: ActiveDetector, matched: string): string {
    if (detector.action !== 'hash' || this.key === undefined) return this.masks[detector.id];
    const normalize = detector.definition.normalize;
    const digest = createHmac('sha256', this.key)
      .update(normalize === undefined ? matched : normalize(matched), 'utf8')
      .digest('hex');
    return `[HASH:${this.labels[detector.id]}:${digest.slice(0, 16)}]`;
  }
}
