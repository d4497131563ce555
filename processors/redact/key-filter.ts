import { globMatcher } from '../../core/glob';

/** What happens to an attribute, decided by its key alone. */
export const KeyDecision = { Scan: 0, Skip: 1, Block: 2 } as const;
export type KeyDecision = (typeof KeyDecision)[keyof typeof KeyDecision];

/**
 * Attribute keys are few and repeat in every span, but some instrumentations put indexes into
 * them (gen_ai.prompt.17.content); the memo is bounded so such keys cannot grow it without limit.
 */
const MAX_MEMO_KEYS = 4096;
/** Longer keys are decided each time rather than kept: the memo must not hold megabytes of keys. */
const MAX_MEMO_KEY_LENGTH = 256;

/** `allow_keys` / `block_keys`: exact keys or globs (`*` any run of characters, `?` one). */
export class KeyFilter {
  private readonly allow: ((key: string) => boolean) | undefined;
  private readonly block: ((key: string) => boolean) | undefined;
  private readonly memo = new Map<string, KeyDecision>();
  /** False when neither list is set, so callers can skip the lookup entirely. */
  readonly active: boolean;

  constructor(allowKeys: readonly string[], blockKeys: readonly string[]) {
    this.allow = keyMatcher(allowKeys);
    this.block = keyMatcher(blockKeys);
    this.active = this.allow !== undefined || this.block !== undefined;
  }

  decide(key: string): KeyDecision {
    let decision = this.memo.get(key);
    if (decision === undefined) {
      decision = this.block?.(key)
        ? KeyDecision.Block
        : this.allow === undefined || this.allow(key)
          ? KeyDecision.Scan
          : KeyDecision.Skip;
      if (key.length > MAX_MEMO_KEY_LENGTH) return decision;
      if (this.memo.size >= MAX_MEMO_KEYS) this.memo.clear();
      this.memo.set(key, decision);
    }
    return decision;
  }
}

/** Keys are the client's: globs match them in linear time (core/glob), however long they are. */
function keyMatcher(globs: readonly string[]): ((key: string) => boolean) | undefined {
  return globs.length === 0 ? undefined : globMatcher(globs);
}
