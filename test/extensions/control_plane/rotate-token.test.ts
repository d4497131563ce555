/**
 * POST /api/settings/rotate-token through HTTP, on two daemons sharing one ClickHouse server: the
 * new key works at once (ingest, control plane) with the presented key's roles, the presented key
 * is refused at once on the daemon that rotated it and within the refresh interval on the other,
 * only digests are stored, admin only, and the sixth rotation of an hour is refused with 429 on
 * either daemon (counted from the store) and after a restart.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { ClickhouseHttpServer } from '../../support/clickhouse-http-server';
import { waitFor } from '../../support/wait';
import { apiCall } from './api-client';

const ADMIN_KEY = 'rt_admin_key_0123456789abcdef';
const READ_KEY = 'rt_read_key_0123456789abcdefgh';
const MANAGER_KEY = 'rt_manager_key_0123456789abcd';
const OTHER_KEY = 'rt_other_key_0123456789abcdefg';

function yaml(store: string): string {
  return `receivers:
  logs:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/attachments
exporters:
  clickhouse:
${store}
extensions:
  control_plane:
    listen: 127.0.0.1:0
workspaces:
  acme:
    api_keys:
      - "${ADMIN_KEY}"
      - { key: "${READ_KEY}", roles: [read, ingest] }
  other:
    api_keys:
      - { key: "${MANAGER_KEY}", roles: [read, admin] }
      - "${OTHER_KEY}"
service:
  extensions: [control_plane]
  control_plane: { refresh_interval_ms: 200 }
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs], exporters: [clickhouse] }
`;
}

const call = (daemon: TestDaemon, method: string, route: string, key: string) => apiCall(daemon.receiverUrl('control_plane'), method, route, key);

const rotate = (daemon: TestDaemon, key: string) => call(daemon, 'POST', '/api/settings/rotate-token', key);
const verifyStatus = async (daemon: TestDaemon, key: string) => (await call(daemon, 'GET', '/api/verify', key)).status;

async function ingest(daemon: TestDaemon, key: string): Promise<number> {
  const res = await fetch(`${daemon.receiverUrl('logs')}/api/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ project: 'support', output: 'rotated keys still ingest' }),
  });
  await res.text();
  return res.status;
}

describe('control plane: POST /api/settings/rotate-token on two daemons sharing one ClickHouse server', () => {
  let clickhouse: ClickhouseHttpServer;
  let first: TestDaemon;
  let second: TestDaemon;
  let store: string;
  let database: string;
  let latest: string;
  beforeAll(async () => {
    clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-rotate-')) });
    database = uniqueDatabase('cp_rotate');
    store = `    endpoint: ${clickhouse.url}\n    database: ${database}`;
    first = await startDaemon(yaml(store));
    second = await startDaemon(yaml(store));
  }, 60_000);
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await clickhouse?.close();
  });

  it('refuses keys without the admin role (403) and unknown keys (401), rotating nothing', async () => {
    expect((await rotate(first, READ_KEY)).status).toBe(403);
    expect((await rotate(first, 'rt_unknown_key_0123456789abcd')).status).toBe(401);
    expect((await call(first, 'GET', '/api/settings/rotate-token', ADMIN_KEY)).status).toBe(405);
    expect(await verifyStatus(first, READ_KEY)).toBe(200);
    expect((await call(first, 'GET', '/api/settings', ADMIN_KEY)).body.usage.rotations.lastHour).toBe(0);
  });

  it('issues a new key that works everywhere and revokes the presented one at once here, within the refresh interval there', async () => {
    expect(await ingest(second, ADMIN_KEY)).toBeLessThan(300);
    const rotated = await rotate(first, ADMIN_KEY);
    expect(rotated.status).toBe(200);
    expect(Object.keys(rotated.body)).toEqual(['webhookToken']);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const fresh: string = rotated.body.webhookToken;
    expect(fresh).toMatch(/^th_[A-Za-z0-9_-]{43}$/);

    // On the daemon that rotated: at once.
    expect(await verifyStatus(first, ADMIN_KEY)).toBe(401);
    expect(await ingest(first, ADMIN_KEY)).toBe(401);
    expect(await ingest(first, fresh)).toBeLessThan(300);
    expect((await call(first, 'GET', '/api/settings', fresh)).body).toMatchObject({ id: 'acme', currentUserRole: 'admin', canManageWorkspace: true });
    // Other keys of the workspace are untouched.
    expect(await verifyStatus(first, READ_KEY)).toBe(200);

    // On the other daemon: within the refresh interval.
    await waitFor('the old key refused on the second daemon', async () => (await verifyStatus(second, ADMIN_KEY)) === 401);
    await waitFor('the new key accepted on the second daemon', async () => (await verifyStatus(second, fresh)) === 200);
    expect(await ingest(second, fresh)).toBeLessThan(300);
    expect(await ingest(second, ADMIN_KEY)).toBe(401);
    latest = fresh;
  }, 60_000);

  it('stores only digests: the new key as its SHA-256, the old one as a revoked digest', async () => {
    const rows = await queryRows<{ kind: string; workspace: string; id: string; spec: string }>(first, 'SELECT kind, workspace, id, spec FROM tracehouse_objects FINAL', database);
    const audit = await queryRows<{ before: string; after: string }>(first, 'SELECT before, after FROM tracehouse_object_audit', database);
    const stored = JSON.stringify([rows, audit]);
    expect(stored).not.toContain(latest);
    expect(stored).not.toContain(ADMIN_KEY);
    const keys = rows.filter((r) => r.kind === 'api_key').map((r) => ({ workspace: r.workspace, id: r.id, ...JSON.parse(r.spec) }));
    const sha = (key: string) => createHash('sha256').update(key).digest('hex');
    expect(keys).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ workspace: 'acme', sha256: sha(latest), roles: ['ingest', 'read', 'admin'] }),
        expect.objectContaining({ workspace: 'acme', sha256: sha(ADMIN_KEY), revoked: true }),
      ]),
    );
    expect(keys.find((k) => k.sha256 === sha(latest)).revoked).toBeUndefined();
  });

  it('gives the new key the presented key roles', async () => {
    const rotated = await rotate(first, MANAGER_KEY);
    expect(rotated.status).toBe(200);
    const fresh: string = rotated.body.webhookToken;
    expect((await call(first, 'GET', '/api/settings', fresh)).body).toMatchObject({ id: 'other', currentUserRole: 'admin' });
    // [read, admin]: no ingest.
    expect(await ingest(first, fresh)).toBe(403);
    expect(await verifyStatus(first, MANAGER_KEY)).toBe(401);
    expect(await verifyStatus(first, OTHER_KEY)).toBe(200);
  });

  it('allows 5 rotations per workspace per hour, counted across daemons and restarts; the sixth answers 429 with Retry-After', async () => {
    // One done above; four more, each with the key the previous one issued, alternating daemons.
    for (let i = 0; i < 4; i++) {
      const daemon = i % 2 === 0 ? first : second;
      await waitFor('the latest key on this daemon', async () => (await verifyStatus(daemon, latest)) === 200);
      const rotated = await rotate(daemon, latest);
      expect(rotated.status).toBe(200);
      expect(await verifyStatus(daemon, latest)).toBe(401);
      latest = rotated.body.webhookToken;
    }
    await waitFor('the latest key on the first daemon', async () => (await verifyStatus(first, latest)) === 200);
    const refused = await rotate(first, latest);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatch(/5 key rotations per hour/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    // The refused rotation revoked nothing.
    expect(await verifyStatus(first, latest)).toBe(200);

    // The other daemon counts the same rotations from the store.
    await waitFor('five rotations seen on the second daemon', async () => (await call(second, 'GET', '/api/settings', latest)).body?.usage.rotations.lastHour === 5);
    expect((await rotate(second, latest)).status).toBe(429);
    // Another workspace has its own count (one rotation so far).
    expect((await call(first, 'GET', '/api/settings', OTHER_KEY)).body.usage.rotations.lastHour).toBe(1);

    // A restarted daemon reads keys, revocations and the count back from the store.
    await second.stop();
    second = await startDaemon(yaml(store));
    expect(await verifyStatus(second, latest)).toBe(200);
    expect(await verifyStatus(second, ADMIN_KEY)).toBe(401);
    expect((await rotate(second, latest)).status).toBe(429);
    expect((await call(second, 'GET', '/api/settings', latest)).body.usage.apiKeys).toEqual({ issued: 1, revoked: 5 });
  }, 90_000);
});
