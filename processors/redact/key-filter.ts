/** What happens to an attribute, decided by its key alone. */
export const KeyDecision = { Scan: 0, Skip: 1, Block: 2 } as const;
export type KeyDecision = (typeof KeyDecision)[keyof typeof KeyDecision];

/**
 * Attribute keys are few and repeat in every span, but some instrumentations put indexes into
 * them (gen_ai.prompt.17.content); the memo is bounded so such keys cannot grow it without limit.
 */
const MAX_MEMO_KEYS = 4096;

/** `allow_keys` / `block_keys`: exact keys or globs (`*` any run of characters, `?` one). */
export class KeyFilter {
  private readonly allow: RegExp | undefined;
  private readonly block: RegExp | undefined;
  private readonly memo = new Map<string, KeyDecision>();
  /** False when neither list is set, so callers can skip the lookup entirely. */
  readonly active: boolean;

  constructor(allowKeys: readonly string[], blockKeys: readonly string[]) {
    this.allow = globsToRegex(allowKeys);
    this.block = globsToRegex(blockKeys);
    this.active = this.allow !== undefined || this.block !== undefined;
  }

  decide(key: string): KeyDecision {
    let decision = this.memo.get(key);
    if (decision === undefined) {
      decision = this.block?.test(key)
        ? KeyDecision.Block
        : this.allow === undefined || this.allow.test(key)
          ? KeyDecision.Scan
          : KeyDecision.Skip;
      if (this.memo.size >= MAX_MEMO_KEYS) this.memo.clear();
      this.memo.set(key, decision);
    }
    return decision;
  }
}

function globsToRegex(globs: readonly string[]): RegExp | undefined {
  if (globs.length === 0) return undefined;
  const alternatives = globs.map((glob) =>
    glob.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : `\\${c}`)),
  );
  return new RegExp(`^(?:${alternatives.join('|')})$`);
}
