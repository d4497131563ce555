/**
 * Deprecated request fields (the self-hosted contract's schema compatibility: a field is marked
 * deprecated before it is removed, with the notice "DEPRECATED: Use new_field instead. Will be
 * removed in vX.Y.Z"). A resource lists the aliases it still accepts; a request that uses one is
 * served as if it had used the current name, and its answer carries `Deprecation` (RFC 9745: the
 * date the alias was deprecated, `@<epoch seconds>`) and the notice in `X-Deprecation-Notice`.
 */
import type { FieldProblem } from './ingest/problems';

export interface DeprecatedAlias {
  /** The name a client may still send. */
  alias: string;
  /** The current name it stands for. */
  use: string;
  /** When it was deprecated (YYYY-MM-DD, UTC). */
  since: string;
  /** The release that removes it. */
  removedIn: string;
}

export interface AliasesApplied<T> {
  value: T;
  used: DeprecatedAlias[];
  /** An alias sent together with its current name: ambiguous, refused. */
  problems: FieldProblem[];
}

/** `record` with every deprecated alias renamed to its current name (a plain object only; anything else as it is). */
export function applyAliases<T>(record: T, aliases: readonly DeprecatedAlias[], pathPrefix: readonly string[] = []): AliasesApplied<T> {
  if (aliases.length === 0 || record === null || typeof record !== 'object' || Array.isArray(record)) return { value: record, used: [], problems: [] };
  const out: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  const used: DeprecatedAlias[] = [];
  const problems: FieldProblem[] = [];
  for (const alias of aliases) {
    if (!Object.prototype.hasOwnProperty.call(out, alias.alias)) continue;
    if (Object.prototype.hasOwnProperty.call(out, alias.use)) {
      problems.push({ path: [...pathPrefix, alias.alias], message: `is a deprecated name of ${alias.use}: send only ${alias.use}`, code: 'deprecated_alias' });
      continue;
    }
    out[alias.use] = out[alias.alias];
    delete out[alias.alias];
    used.push(alias);
  }
  return { value: out as T, used, problems };
}

/** The template's notice for one alias. */
export function deprecationNotice(alias: DeprecatedAlias): string {
  return `${alias.alias}: DEPRECATED: Use ${alias.use} instead. Will be removed in ${alias.removedIn}`;
}

/** `Deprecation` (the earliest date among the aliases used) and the notices; nothing when none was used. */
export function deprecationHeaders(used: readonly DeprecatedAlias[]): Record<string, string> {
  if (used.length === 0) return {};
  const earliest = Math.min(...used.map((a) => Date.parse(`${a.since}T00:00:00Z`)));
  return { Deprecation: `@${Math.floor(earliest / 1000)}`, 'X-Deprecation-Notice': used.map(deprecationNotice).join('; ') };
}
