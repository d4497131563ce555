/**
 * Every HTTP listener of the default config, driven from "a web page": requests for a foreign Host
 * (DNS rebinding: the page's own name re-pointed at 127.0.0.1, reaching the loopback listener),
 * cross-site requests (Origin, Sec-Fetch-Site), `<img>`-style GETs; and operator actions, which
 * need the token the daemon prints at start when the admin listener has no auth.
 */
import net from 'node:net';
import { loadConfigText } from '../../core/config/load-config';
import { encodeTraceRequestJson, encodeTraceRequestProto } from '../../core/otlp/encode';
import { RpcStatus } from '../../core/otlp/pb';
import { makeSpan } from '../../core/span';
import { registry } from '../../components';
import { DEFAULT_CONFIG_KEY } from '../support/default-daemon';
import type { TestDaemon } from '../support/daemon';
import { ANCHOR, addOptions, metric, portOf, rawHttp, startListenerDaemon } from './support/listener-daemon';

const ATTACKER = 'rebind.attacker.example';

let spanCounter = 0;
/** An OTLP/JSON export of one span with a trace id no other request uses. */
function otlpBody(): { traceId: string; json: string; proto: Buffer } {
  spanCounter += 1;
  const traceId = `5ec0${process.pid.toString(16).padStart(8, '0')}${spanCounter.toString(16).padStart(20, '0')}`;
  const spans = [makeSpan({ traceId, spanId: '00000000000000a1', name: 'chat', startTimeUnixNano: 1_763_900_000_000_000_000n, endTimeUnixNano: 1_763_900_000_100_000_000n })];
  return { traceId, json: encodeTraceRequestJson(spans), proto: Buffer.from(encodeTraceRequestProto(spans)) };
}

async function storedCount(daemon: TestDaemon, traceId: string): Promise<number> {
  const res = await fetch(`${daemon.adminUrl}/?query=${encodeURIComponent(`SELECT count() FROM otel_traces WHERE TraceId = '${traceId}'`)}`);
  expect(res.status).toBe(200);
  return Number((await res.text()).trim());
}

/** A normal client (Host = the address it connects to, no Origin) is still served on every listener. */
async function expectServing(daemon: TestDaemon): Promise<void> {
  const ping = await fetch(`${daemon.adminUrl}/?query=SELECT%201`);
  expect(ping.status).toBe(200);
  expect(await ping.text()).toBe('1\n');
  const { traceId, json } = otlpBody();
  const otlp = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, { method: 'POST', body: json, headers: { 'content-type': 'application/json' } });
  expect(otlp.status).toBe(200);
  expect(await storedCount(daemon, traceId)).toBe(1);
}

function expectClickhouseRefusal(answer: { status: number; headers: Record<string, unknown>; body: string }, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['x-clickhouse-exception-code']).toBe('497');
  expect(answer.body).toMatch(new RegExp(`^Code: 497\\. DB::Exception: .*\\[${code}\\]\\. \\(ACCESS_DENIED\\)\\n$`));
}

describe('the admin listener of the default config', () => {
  let daemon: TestDaemon;
  let admin: string;
  let port: number;
  beforeAll(async () => {
    ({ daemon } = await startListenerDaemon());
    admin = daemon.adminUrl;
    port = portOf(admin);
  });
  afterAll(() => daemon.stop());

  it('answers the names of its own loopback address with the bound port', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `localhost.:${port}`, `[::1]:${port}`, `[0:0:0:0:0:0:0:1]:${port}`]) {
      const answer = await rawHttp(admin, { path: '/?query=SELECT%201', headers: { host } });
      expect({ host, status: answer.status, body: answer.body }).toEqual({ host, status: 200, body: '1\n' });
    }
  });

  it('refuses a foreign Host over a loopback connection (DNS rebinding) with 421 on every route', async () => {
    const foreign = [
      `${ATTACKER}:${port}`,
      ATTACKER,
      `127.0.0.1.nip.io:${port}`,
      `localhost.${ATTACKER}:${port}`,
      `127.0.0.1:${port === 1 ? 2 : 1}`,
      `localhost:${port + 1}`,
      `${ATTACKER}:${port}, 127.0.0.1:${port}`,
      `127.0.0.1:${port}@${ATTACKER}`,
      '',
    ];
    const queries = (await fetch(`${admin}/metrics`)).ok;
    expect(queries).toBe(true);
    for (const host of foreign) {
      for (const [method, path] of [
        ['GET', '/?query=SELECT%201'],
        ['GET', '/healthz'],
        ['GET', '/metrics'],
        ['GET', '/ping'],
        ['POST', '/'],
        ['POST', '/actions/alert/evaluate'],
      ] as const) {
        const answer = await rawHttp(admin, { method, path, headers: { host, authorization: `Bearer ${daemon.service.adminActionToken}` }, body: method === 'POST' ? 'SELECT 1' : undefined });
        expect({ host, path, status: answer.status }).toEqual({ host, path, status: 421 });
        expectClickhouseRefusal(answer, 421, 'HTTP_HOST_NOT_ALLOWED');
      }
    }
    expect(await metric(daemon, 'tracehouse_listener_requests_refused_total', { listener: `admin 127.0.0.1:${port}`, reason: 'host_not_allowed' })).toBeGreaterThanOrEqual(foreign.length * 6);
    await expectServing(daemon);
  });

  it('refuses an HTTP/1.0 request without Host', async () => {
    const status = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /?query=SELECT%201 HTTP/1.0\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString('latin1')));
      socket.on('close', () => resolve(text.split('\r\n')[0]));
      socket.on('error', reject);
    });
    expect(status).toBe('HTTP/1.1 421 Misdirected Request');
    await expectServing(daemon);
  });

  it('refuses cross-site browser requests (Origin, Sec-Fetch-Site) on GET and POST queries', async () => {
    const host = `127.0.0.1:${port}`;
    const crossSite: Record<string, string>[] = [
      { origin: `http://${ATTACKER}` },
      { origin: `https://${ATTACKER}:${port}` },
      { origin: 'null' },
      { origin: `http://localhost:${port}` }, // another origin on this machine is another site's page too
      { origin: `http://127.0.0.1:${port + 1}` },
      { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
      { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
    ];
    for (const headers of crossSite) {
      const get = await rawHttp(admin, { path: '/?query=SELECT%201', headers: { host, ...headers } });
      expect({ headers, status: get.status }).toEqual({ headers, status: 403 });
      expectClickhouseRefusal(get, 403, 'HTTP_CROSS_SITE_REQUEST');
      const post = await rawHttp(admin, { method: 'POST', path: '/', headers: { host, 'content-type': 'text/plain', ...headers }, body: 'SELECT 1' });
      expect({ headers, status: post.status }).toEqual({ headers, status: 403 });
    }
    // The listener's own origin, a same-origin fetch, and an address typed in the address bar.
    const sameOrigin: Record<string, string>[] = [{ origin: `http://127.0.0.1:${port}` }, { 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' }];
    for (const headers of sameOrigin) {
      const answer = await rawHttp(admin, { path: '/?query=SELECT%201', headers: { host, ...headers } });
      expect({ headers, status: answer.status, body: answer.body }).toEqual({ headers, status: 200, body: '1\n' });
    }
    expect(await metric(daemon, 'tracehouse_listener_requests_refused_total', { listener: `admin 127.0.0.1:${port}`, reason: 'cross_site' })).toBeGreaterThanOrEqual(crossSite.length * 2);
    await expectServing(daemon);
  });

  it('lets an <img> GET change nothing: writes are refused, actions are POST only', async () => {
    await expectServing(daemon);
    const before = Number((await (await fetch(`${admin}/?query=SELECT%20count()%20FROM%20otel_traces`)).text()).trim());
    expect(before).toBeGreaterThan(0);
    const host = `127.0.0.1:${port}`;
    const img = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image', referer: `http://${ATTACKER}/` };
    const writes = ['DROP TABLE otel_traces', 'TRUNCATE TABLE otel_traces', "INSERT INTO otel_traces (TraceId, SpanId) VALUES ('img', 'img')", 'ALTER TABLE otel_traces DELETE WHERE 1'];
    for (const sql of writes) {
      const path = `/?query=${encodeURIComponent(sql)}`;
      const fromPage = await rawHttp(admin, { path, headers: { host, ...img } });
      expect({ sql, status: fromPage.status }).toEqual({ sql, status: 403 });
      // An old browser sends no Sec-Fetch-* header: the statement is still refused (read-only).
      const oldBrowser = await rawHttp(admin, { path, headers: { host } });
      expect(oldBrowser.status).toBeGreaterThanOrEqual(400);
    }
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
      const answer = await rawHttp(admin, { method, path: '/actions/alert/evaluate', headers: { host, authorization: `Bearer ${daemon.service.adminActionToken}` } });
      expect({ method, status: answer.status }).toEqual({ method, status: 405 });
    }
    const after = Number((await (await fetch(`${admin}/?query=SELECT%20count()%20FROM%20otel_traces`)).text()).trim());
    expect(after).toBe(before);
  });
});

describe('the ingest listeners of the default config', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    ({ daemon } = await startListenerDaemon());
  });
  afterAll(() => daemon.stop());

  it('refuse OTLP/HTTP for a foreign Host (421, google.rpc.Status) and store nothing', async () => {
    const url = daemon.receiverUrl('otlp');
    const port = portOf(url);
    for (const host of [`${ATTACKER}:${port}`, ATTACKER, `127.0.0.1:${port + 1}`]) {
      const body = otlpBody();
      const json = await rawHttp(url, { method: 'POST', path: '/v1/traces', headers: { host, 'content-type': 'application/json' }, body: body.json });
      expect({ host, status: json.status }).toEqual({ host, status: 421 });
      expect(JSON.parse(json.body)).toEqual({ code: 7, message: expect.stringMatching(/^HTTP_HOST_NOT_ALLOWED: /) });
      const proto = await rawHttp(url, { method: 'POST', path: '/v1/traces', headers: { host, 'content-type': 'application/x-protobuf' }, body: body.proto });
      expect(proto.status).toBe(421);
      expect(proto.headers['content-type']).toMatch(/^application\/x-protobuf/);
      expect(RpcStatus.decode(proto.bytes).code).toBe(7);
      expect(await storedCount(daemon, body.traceId)).toBe(0);
    }
    const ok = otlpBody();
    const own = await rawHttp(url, { method: 'POST', path: '/v1/traces', headers: { host: `localhost:${port}`, 'content-type': 'application/json' }, body: ok.json });
    expect(own.status).toBe(200);
    expect(await storedCount(daemon, ok.traceId)).toBe(1);
    expect(await metric(daemon, 'tracehouse_listener_requests_refused_total', { listener: `http 127.0.0.1:${port}`, reason: 'host_not_allowed' })).toBeGreaterThanOrEqual(6);
  });

  it('refuse cross-site OTLP/HTTP posts (Origin, Sec-Fetch-Site) with 403', async () => {
    const url = daemon.receiverUrl('otlp');
    const host = `127.0.0.1:${portOf(url)}`;
    const crossSite: Record<string, string>[] = [{ origin: `http://${ATTACKER}` }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }, { 'sec-fetch-site': 'same-site' }];
    for (const headers of crossSite) {
      const body = otlpBody();
      // text/plain is what a page can post without a CORS preflight.
      for (const type of ['application/json', 'text/plain']) {
        const answer = await rawHttp(url, { method: 'POST', path: '/v1/traces', headers: { host, 'content-type': type, ...headers }, body: body.json });
        expect({ headers, type, status: answer.status }).toEqual({ headers, type, status: 403 });
        expect(JSON.parse(answer.body).message).toMatch(/^HTTP_CROSS_SITE_REQUEST: /);
      }
      expect(await storedCount(daemon, body.traceId)).toBe(0);
    }
    await expectServing(daemon);
  });

  it('refuse the JSON ingest APIs for a rebinding Host or a cross-site page, even with a valid key', async () => {
    const url = daemon.receiverUrl('native');
    const port = portOf(url);
    const trace = (id: string) => JSON.stringify({ actionName: 'rebind', status: 'completed', requestId: id, model: 'gpt-4o', prompt: 'p', response: 'r' });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${DEFAULT_CONFIG_KEY}` };
    const successes = () => metric(daemon, 'tracehouse_receiver_requests_total', { receiver: 'native', outcome: 'success' });
    const before = await successes();
    const rebound = await rawHttp(url, { method: 'POST', path: '/api/traces', headers: { ...headers, host: `${ATTACKER}:${port}` }, body: trace('req_rebind_1') });
    expect(rebound.status).toBe(421);
    const crossSite = await rawHttp(url, { method: 'POST', path: '/api/traces', headers: { ...headers, host: `127.0.0.1:${port}`, origin: `http://${ATTACKER}` }, body: trace('req_rebind_2') });
    expect(crossSite.status).toBe(403);
    // Any path of the shared listener, known or not.
    expect((await rawHttp(url, { path: '/nope', headers: { host: ATTACKER } })).status).toBe(421);
    expect(await successes()).toBe(before);
    const own = await rawHttp(url, { method: 'POST', path: '/api/traces', headers: { ...headers, host: `127.0.0.1:${port}` }, body: trace('req_rebind_3') });
    expect(own.status).toBeLessThan(300);
    expect(await successes()).toBe(before + 1);
  });
});

describe('operator actions', () => {
  // The default pipeline runs the alert processor (with no rules): its actions are there.
  const withAlert = (yaml: string) => addOptions(yaml, ANCHOR.admin, ['headers_timeout_ms: 1000']);

  it('need the token printed at start (Bearer or X-Tracehouse-Action-Token), new at every start', async () => {
    const first = await startListenerDaemon(withAlert);
    let oldToken: string;
    try {
      const { daemon, logs } = first;
      const url = `${daemon.adminUrl}/actions/alert/evaluate`;
      const token = daemon.service.adminActionToken as string;
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const printed = logs.filter((l) => JSON.stringify(l).includes(token));
      expect(printed).toHaveLength(1);
      expect(printed[0]).toMatchObject({ level: 30, action_token: token });
      const post = (headers: Record<string, string>) => fetch(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', ...headers } });

      const wrong: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token' }, { 'x-tracehouse-action-token': `${token}x` }, { authorization: `Basic ${Buffer.from(`u:${token}`).toString('base64')}` }, { 'x-api-key': token }];
      for (const headers of wrong) {
        const refused = await post(headers);
        expect({ headers, status: refused.status }).toEqual({ headers, status: 401 });
        expect(await refused.json()).toMatchObject({ ok: false, code: 'ADM_ACTION_TOKEN_REQUIRED' });
      }
      // Unknown actions are not revealed without the token either.
      expect((await fetch(`${daemon.adminUrl}/actions/nope/nothing`, { method: 'POST', body: '{}' })).status).toBe(401);

      const right: Record<string, string>[] = [{ authorization: `Bearer ${token}` }, { 'x-tracehouse-action-token': token }];
      for (const headers of right) {
        const accepted = await post(headers);
        expect({ headers, status: accepted.status }).toEqual({ headers, status: 200 });
        expect(await accepted.json()).toMatchObject({ ok: true, result: { firing: [] } });
      }
      // The token does not make a cross-site request acceptable.
      const port = portOf(daemon.adminUrl);
      const fromPage = await rawHttp(daemon.adminUrl, { method: 'POST', path: '/actions/alert/evaluate', headers: { host: `127.0.0.1:${port}`, origin: `http://${ATTACKER}`, authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: '{}' });
      expect(fromPage.status).toBe(403);
      await expectServing(daemon);
      oldToken = token;
    } finally {
      await first.daemon.stop();
    }
    const second = await startListenerDaemon(withAlert);
    try {
      const token = second.daemon.service.adminActionToken as string;
      expect(token).not.toBe(oldToken);
      const url = `${second.daemon.adminUrl}/actions/alert/evaluate`;
      expect((await fetch(url, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${oldToken}` } })).status).toBe(401);
      expect((await fetch(url, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await second.daemon.stop();
    }
  });

  it('use the admin key instead when the admin listener has auth, and no token is printed', async () => {
    const ADMIN_KEY = 'th_security_admin_key_0123456789';
    const { daemon, logs } = await startListenerDaemon((yaml) => addOptions(withAlert(yaml), ANCHOR.admin, [`auth: { api_keys: ["${ADMIN_KEY}"] }`]));
    try {
      expect(daemon.service.adminActionToken).toBeUndefined();
      expect(logs.some((l) => 'action_token' in l)).toBe(false);
      const url = `${daemon.adminUrl}/actions/alert/evaluate`;
      expect((await fetch(url, { method: 'POST', body: '{}' })).status).toBe(401);
      expect((await fetch(url, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status).toBe(200);
    } finally {
      await daemon.stop();
    }
  });
});

describe('admin listener timeouts', () => {
  it('closes a connection whose headers never end (headers_timeout_ms) and keeps serving', async () => {
    const { daemon } = await startListenerDaemon((yaml) => addOptions(yaml, ANCHOR.admin, ['headers_timeout_ms: 1000']));
    try {
      const port = portOf(daemon.adminUrl);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET /?query=SELECT%201 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `));
        let text = '';
        socket.on('data', (d) => (text += d.toString('latin1')));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
      await expectServing(daemon);
    } finally {
      await daemon.stop();
    }
  });

  it('refuses a request timeout that does not exceed the query timeout, and a malformed allowed_hosts entry', () => {
    const base = `receivers: { otlp: { http: { listen: 127.0.0.1:0 }, grpc: { enabled: false } } }
exporters: { debug: {} }
service:
  pipelines: { traces: { receivers: [otlp], exporters: [debug] } }
  admin:
    listen: 127.0.0.1:0
`;
    const load = (extra: string) => loadConfigText(base + extra, 'pipelines.yaml', registry, { env: {} }).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.path} ${d.code}`);
    expect(load('    request_timeout_ms: 30000\n')).toEqual(['service.admin.request_timeout_ms CFG_INVALID_VALUE']);
    expect(load('    query_timeout_ms: 5000\n    request_timeout_ms: 6000\n    allowed_hosts: [tracehouse.internal, "*.corp.example:8888", "10.0.0.5"]\n')).toEqual([]);
    expect(load('    allowed_hosts: ["http://tracehouse.internal/"]\n')).toEqual(['service.admin.allowed_hosts.0 CFG_INVALID_VALUE']);
  });
});
