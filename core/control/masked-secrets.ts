/**
 * A client that reads an object and writes it back sends its secrets as it read them: masked
 * ("sk-…K3y9"). Such a value means "unchanged": the stored secret is kept, never replaced by
 * its mask. Used by every write of an object kind that holds secrets (deliveries, settings).
 */
import type { ObjectKind, ObjectSpec } from './objects';
import { SECRET_FIELDS } from './secret-fields';
import { mask } from './secrets';
import type { SecretPath } from './secrets';

function at(node: unknown, path: SecretPath): unknown {
  let value = node;
  for (const part of path) value = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

/** The body with every secret sent back masked, exactly as the stored one reads, replaced by the stored one. */
export function restoreMaskedSecrets(kind: ObjectKind, body: unknown, current: ObjectSpec | undefined): unknown {
  if (!current || body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const out = structuredClone(body) as Record<string, unknown>;
  for (const path of SECRET_FIELDS[kind]) {
    const stored = at(current, path);
    const sent = at(out, path);
    if (typeof stored !== 'string' || typeof sent !== 'string' || sent.trim() !== mask(stored)) continue;
    const parent = at(out, path.slice(0, -1)) as Record<string, unknown>;
    parent[path[path.length - 1]] = stored;
  }
  return out;
}
