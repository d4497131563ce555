/**
 * shared_state.redis.tls takes the TLS settings the other components take (ca_file, cert_file,
 * key_file, insecure_skip_verify) plus servername, and they reach the connection: against a real
 * redis-server speaking TLS with a certificate of a test CA for the name "redis.test", the CA file
 * and servername connect, the CA without the servername is refused (the address is not the
 * certificate's name), and a bad file or setting is a clear error.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfigText } from '../../core/config/load-config';
import { silentLogger } from '../../core/logger';
import { sharedStateConfigSchema } from '../../core/shared-state/config';
import { SharedRedis } from '../../core/shared-state/redis';
import { registry } from '../../components';
import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-redis-tls-'));
const file = (name: string) => path.join(dir, name);

/** A test CA and a server certificate it signed for redis.test. */
function makeCertificates(): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Tracehouse test CA', '-keyout', file('ca.key'), '-out', file('ca.pem'));
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=redis.test', '-keyout', file('server.key'), '-out', file('server.csr'));
  writeFileSync(file('san.ext'), 'subjectAltName=DNS:redis.test\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file('san.ext'), '-out', file('server.pem'));
}

let redis: RedisServer;
beforeAll(async () => {
  makeCertificates();
  redis = await RedisServer.start({ tls: { certFile: file('server.pem'), keyFile: file('server.key'), caFile: file('ca.pem') } });
}, 60_000);
afterAll(() => redis?.stop());

function connect(tls: unknown): SharedRedis {
  const config = sharedStateConfigSchema.parse({ redis: { url: redis.url.replace('rediss://', 'redis://'), tls, connect_timeout_ms: 1_000 } });
  const shared = new SharedRedis(config.redis, silentLogger(), { unavailable: () => undefined });
  shared.start();
  return shared;
}

test('ca_file and servername connect over TLS', async () => {
  const shared = connect({ ca_file: file('ca.pem'), servername: 'redis.test' });
  try {
    await waitFor('the TLS connection', async () => (shared.available ? true : undefined));
    expect(await shared.run('test', (client) => client.ping())).toBe('PONG');
  } finally {
    await shared.stop();
  }
});

test('without servername the certificate does not match the address and the connection is refused; insecure_skip_verify accepts it', async () => {
  const strict = connect({ ca_file: file('ca.pem') });
  const errors: string[] = [];
  strict.client.on('error', (err: Error) => errors.push(err.message));
  try {
    await waitFor('a certificate error', async () => (errors.some((m) => /altnames|certificate|Hostname/i.test(m)) ? true : undefined));
    expect(strict.available).toBe(false);
  } finally {
    await strict.stop();
  }
  const lax = connect({ insecure_skip_verify: true });
  try {
    await waitFor('the unverified TLS connection', async () => (lax.available ? true : undefined));
  } finally {
    await lax.stop();
  }
});

test('a TLS file that cannot be read is a clear error; bad settings are config errors', () => {
  expect(() => connect({ ca_file: file('missing.pem') })).toThrow(/shared_state\.redis\.tls\.ca_file .*missing\.pem: .*ENOENT/);
  const yaml = (tls: string) => `receivers:
  native:
    listen: 127.0.0.1:0
    auth: none
exporters:
  debug:
shared_state:
  redis: { url: "redis://127.0.0.1:6379", tls: ${tls} }
service:
  pipelines:
    traces: { receivers: [native], exporters: [debug] }
`;
  expect(loadConfigText(yaml('{ ca_file: /etc/ca.pem, servername: redis.internal }'), 'test.yaml', registry, { env: {} }).config?.sharedState?.redis.tls).toEqual({
    enabled: true,
    ca_file: '/etc/ca.pem',
    servername: 'redis.internal',
    insecure_skip_verify: false,
  });
  const bad = loadConfigText(yaml('{ cert_file: /etc/c.pem }'), 'test.yaml', registry, { env: {} });
  expect(bad.config).toBeUndefined();
  expect(bad.diagnostics.map((d) => `${d.path} ${d.message}`).join('\n')).toMatch(/cert_file and key_file go together/);
});
