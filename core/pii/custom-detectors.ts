import { LinearRegex } from '../linear-regex';
import type { ActiveDetector, Dropped, Tally } from './scanner';

/** What the scanner does with a custom match, and with the text between matches. */
export interface CustomMatchHandler {
  replace(detector: ActiveDetector, matched: string): string;
  drop(detector: ActiveDetector): Dropped;
  /** The text between two matches (or before the first, after the last), redacted by the built-ins. */
  rest(gap: string): string | Dropped;
}

/**
 * The operator's detectors, compiled into one expression on the linear-time engine (RE2): one
 * pass finds their matches, leftmost first; at one position the detector listed first wins. A
 * string none of them matches costs one DFA pass.
 */
export class CustomDetectors {
  private readonly regex: LinearRegex;
  /** Capture group number of each detector's alternative. */
  private readonly groups: number[] = [];
  private readonly byGroup = new Map<number, ActiveDetector>();

  constructor(detectors: readonly ActiveDetector[]) {
    let group = 1;
    const parts: string[] = [];
    for (const detector of detectors) {
      const pattern = detector.definition.pattern;
      this.groups.push(group);
      this.byGroup.set(group, detector);
      group += 1 + LinearRegex.compile(pattern).groupCount;
      parts.push(`(${pattern})`);
    }
    this.regex = LinearRegex.compile(parts.join('|'));
  }

  /** Custom matches replaced, the text around them redacted by `handler.rest`; DROP as soon as a drop detector matches. */
  scan(text: string, tally: Tally, handler: CustomMatchHandler): string | Dropped {
    let out = '';
    let copied = 0;
    let dropped: Dropped | undefined;
    this.regex.forEachMatch(
      text,
      (start, end, group) => {
        const detector = this.byGroup.get(group);
        if (detector === undefined) return true;
        tally.add(detector.id);
        if (detector.action === 'drop') {
          dropped = handler.drop(detector);
          return false;
        }
        const before = start > copied ? handler.rest(text.slice(copied, start)) : '';
        if (typeof before !== 'string') {
          dropped = before;
          return false;
        }
        out += before + handler.replace(detector, text.slice(start, end));
        copied = end;
        return true;
      },
      this.groups,
    );
    if (dropped !== undefined) return dropped;
    if (copied === 0) return handler.rest(text);
    const after = copied < text.length ? handler.rest(text.slice(copied)) : '';
    return typeof after === 'string' ? out + after : after;
  }
}
