import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { ALL_ROLES, ApiKeyAuth, digestOf, KeyDigests, presentedKey, principalOf, ROLES } from './auth';
import type { AuthResult, Authenticator, ReceiverAuthConfig, Role } from './auth';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * One API key of a workspace: the key itself (usually `${env:NAME}`), or only its SHA-256 digest
 * so the config file holds no secret. `receivers` restricts the key to those receiver ids.
 */
const workspaceKeySchema = z.union([
  z.string().min(1),
  z
    .strictObject({
      key: z.string().min(1).optional(),
      sha256: z.string().regex(SHA256_HEX, 'must be 64 lowercase hex digits (the SHA-256 of the key)').optional(),
      receivers: z.array(z.string().min(1)).min(1).optional(),
      /** What the key may do (default: all of ingest, read and admin). */
      roles: z.array(z.enum(ROLES)).min(1).optional(),
    })
    .refine((k) => (k.key === undefined) !== (k.sha256 === undefined), {
      message: 'give exactly one of "key" and "sha256"',
    }),
]);

export const workspaceConfigSchema = z.strictObject({
  api_keys: z.array(workspaceKeySchema).min(1),
  /** Secrets signed webhook deliveries are checked against; several allow rotation. */
  webhook_signing_secrets: z.array(z.string().min(1)).default([]),
});

export const WORKSPACE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** The top-level `workspaces` section: workspace id -> its keys and secrets. */
export const workspacesConfigSchema = z.record(
  z.string().regex(WORKSPACE_ID, 'workspace ids are 1-64 characters of letters, digits, "_", "." and "-"'),
  workspaceConfigSchema,
);

export type WorkspaceConfig = z.output<typeof workspaceConfigSchema>;
export type WorkspacesConfig = z.output<typeof workspacesConfigSchema>;

/** Workspace given to spans from receivers that authenticate no workspace (`auth: none` or plain keys). */
export const DEFAULT_WORKSPACE = 'default';

interface KeyEntry {
  workspace: string;
  receivers: readonly string[] | undefined;
  principal: string;
  roles: readonly Role[];
}

/** A key managed over HTTP (control-plane kind `api_key`): only its digest is known. */
export interface ManagedKey {
  workspace: string;
  /** SHA-256 of the key, 64 hex digits. */
  sha256: string;
  roles?: readonly Role[];
  /** A revoked key (e.g. one rotated away, also one from pipelines.yaml) is refused. */
  revoked?: boolean;
}

/** Every workspace key, found by the key a request presents, compared in constant time. */
export class WorkspaceDirectory {
  private readonly digests: KeyDigests;
  private readonly entries: KeyEntry[] = [];
  private managed = new KeyDigests([]);
  private managedEntries: KeyEntry[] = [];
  private revoked = new KeyDigests([]);
  private readonly secrets = new Map<string, readonly string[]>();

  constructor(config: WorkspacesConfig = {}) {
    const digests: Buffer[] = [];
    for (const [workspace, ws] of Object.entries(config)) {
      this.secrets.set(workspace, ws.webhook_signing_secrets);
      for (const key of ws.api_keys) {
        const spec = typeof key === 'string' ? { key, sha256: undefined, receivers: undefined, roles: undefined } : key;
        const digest = spec.key !== undefined ? digestOf(spec.key) : Buffer.from(spec.sha256 ?? '', 'hex');
        digests.push(digest);
        this.entries.push({ workspace, receivers: spec.receivers, principal: principalOf(digest), roles: spec.roles ?? ALL_ROLES });
      }
    }
    this.digests = new KeyDigests(digests);
  }

  get size(): number {
    return this.digests.size;
  }

  /** Replaces the keys managed over HTTP (issued and revoked keys). */
  setManagedKeys(keys: readonly ManagedKey[]): void {
    const live = keys.filter((k) => !k.revoked && SHA256_HEX.test(k.sha256));
    this.managed = new KeyDigests(live.map((k) => Buffer.from(k.sha256, 'hex')));
    this.managedEntries = live.map((k) => ({ workspace: k.workspace, receivers: undefined, principal: `key:${k.sha256.slice(0, 12)}`, roles: k.roles ?? ALL_ROLES }));
    this.revoked = new KeyDigests(keys.filter((k) => k.revoked && SHA256_HEX.test(k.sha256)).map((k) => Buffer.from(k.sha256, 'hex')));
  }

  /** Authenticates a request for receiver `receiverId`. */
  authenticate(headers: IncomingHttpHeaders, receiverId: string): AuthResult {
    const presented = presentedKey(headers);
    if (presented === undefined) return { outcome: 'missing' };
    const digest = digestOf(presented);
    if (this.revoked.find(digest) !== -1) return { outcome: 'invalid' };
    const index = this.digests.find(digest);
    const managedIndex = index === -1 ? this.managed.find(digest) : -1;
    const entry = index !== -1 ? this.entries[index] : managedIndex !== -1 ? this.managedEntries[managedIndex] : undefined;
    if (!entry) return { outcome: 'invalid' };
    if (entry.receivers && !entry.receivers.includes(receiverId)) return { outcome: 'forbidden', workspace: entry.workspace };
    return { outcome: 'ok', workspace: entry.workspace, principal: entry.principal, roles: entry.roles };
  }

  /** The workspaces of the config (managed keys only ever belong to one of them). */
  get ids(): string[] {
    return [...this.secrets.keys()];
  }

  /** The workspace's webhook signing secrets (empty when it has none). */
  signingSecrets(workspace: string): readonly string[] {
    return this.secrets.get(workspace) ?? [];
  }

  /** The authenticator a receiver uses for `auth: workspaces`. */
  authenticatorFor(receiverId: string): Authenticator {
    return { enabled: true, authenticate: (headers) => this.authenticate(headers, receiverId) };
  }
}

/** The authenticator for a receiver's `auth` setting. */
export function receiverAuthenticator(
  config: ReceiverAuthConfig | undefined,
  workspaces: WorkspaceDirectory,
  receiverId: string,
): Authenticator {
  return config === 'workspaces' ? workspaces.authenticatorFor(receiverId) : new ApiKeyAuth(config);
}
