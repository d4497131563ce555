/**
 * `POST /api/settings/rotate-token`: issues a new workspace key with the presented key's roles
 * (answered once; stored only as its SHA-256, an `api_key` object) and revokes the presented key
 * (an `api_key` object `{sha256, revoked: true}`). The catalog applies both before the answer, so
 * the old key is refused here at once and on every daemon sharing the store within the refresh
 * interval. At most `max_rotations_per_hour` per workspace, counted from the stored keys, so the
 * limit holds across daemons and restarts.
 */
import { randomBytes } from 'node:crypto';
import { digestOf, presentedKey } from '../../core/auth';
import type { ControlObjects } from '../../core/control/catalog';
import type { ControlObject } from '../../core/control/objects';
import type { ApiRoute } from '../../core/http-api';
import { IngestError } from '../../core/ingest/problems';
import { writeObject } from './objects-http';
import type { ControlPlaneDeps } from './routes';

export const KEYS_PATHS = ['/api/settings/rotate-token'] as const;

const HOUR_MS = 3_600_000;
/** What marks an api_key object as issued by a rotation (the rate limit counts these). */
const ISSUED_BY_ROTATION = 'rotate-token';

/** The id of the api_key object of a key: derived from its digest, so a key has one object. */
function keyObjectId(sha256: string): string {
  return `key_${sha256.slice(0, 24)}`;
}

/** The workspace's rotations of the last hour, oldest first (from the catalog: every daemon's). */
export function recentRotations(objects: ControlObjects, workspace: string, now = Date.now()): ControlObject[] {
  return objects
    .list('api_key', workspace)
    .filter((o) => o.workspace === workspace && o.spec.issuedBy === ISSUED_BY_ROTATION && o.createdAt > now - HOUR_MS)
    .sort((a, b) => a.createdAt - b.createdAt);
}

/** Live and revoked keys issued over HTTP for the workspace. */
export function managedKeyCounts(objects: ControlObjects, workspace: string): { issued: number; revoked: number } {
  const own = objects.list('api_key', workspace).filter((o) => o.workspace === workspace);
  const revoked = own.filter((o) => o.spec.revoked === true).length;
  return { issued: own.length - revoked, revoked };
}

export function keyRoutes({ host, config }: ControlPlaneDeps): ApiRoute[] {
  const objects = host.objects;
  // One rotation per workspace at a time in this process, so two concurrent requests cannot both pass the count.
  const running = new Map<string, Promise<unknown>>();
  const serialized = <T>(workspace: string, run: () => Promise<T>): Promise<T> => {
    const next = (running.get(workspace) ?? Promise.resolve()).catch(() => undefined).then(run);
    running.set(workspace, next);
    void next.finally(() => {
      if (running.get(workspace) === next) running.delete(workspace);
    }).catch(() => undefined);
    return next;
  };

  return [
    {
      method: 'POST',
      path: '/api/settings/rotate-token',
      role: 'admin',
      handle: ({ workspace, principal, roles, headers }) =>
        serialized(workspace, async () => {
          if (config.auth !== 'workspaces') {
            throw new IngestError(409, 'API_CONFLICT', 'keys can be rotated only on a listener with auth: workspaces (the keys of the workspaces section)');
          }
          const presented = presentedKey(headers);
          if (presented === undefined) throw new IngestError(401, 'API_UNAUTHENTICATED', 'missing API key');
          const recent = recentRotations(objects, workspace);
          if (recent.length >= config.max_rotations_per_hour) {
            const retryAfter = Math.max(1, Math.ceil((recent[0].createdAt + HOUR_MS - Date.now()) / 1000));
            throw new IngestError(429, 'API_RATE_LIMITED', `at most ${config.max_rotations_per_hour} key rotations per hour; retry after ${retryAfter} s`, undefined, retryAfter);
          }
          const oldDigest = digestOf(presented).toString('hex');
          const key = `th_${randomBytes(32).toString('base64url')}`;
          const newDigest = digestOf(key).toString('hex');
          // Issue first: should the revocation fail, the old key still works and nothing is lost.
          await writeObject(objects, {
            kind: 'api_key',
            workspace,
            id: keyObjectId(newDigest),
            spec: { sha256: newDigest, roles: [...roles], issuedBy: ISSUED_BY_ROTATION, replaces: `key:${oldDigest.slice(0, 12)}` },
            changedBy: principal,
            create: true,
          });
          const oldId = keyObjectId(oldDigest);
          const held = objects.get('api_key', workspace, oldId);
          const heldSpec = held && held.workspace === workspace && held.source === 'api' ? held.spec : {};
          await writeObject(objects, { kind: 'api_key', workspace, id: oldId, spec: { ...heldSpec, sha256: oldDigest, revoked: true, revokedAt: new Date().toISOString() }, changedBy: principal });
          return { status: 200, body: { webhookToken: key }, headers: { 'Cache-Control': 'no-store' } };
        }),
    },
  ];
}
