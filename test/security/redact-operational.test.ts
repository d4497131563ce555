/**
 * `redact` must not break what the daemon itself uses later, and must not store credentials:
 * a log's callback URL with an IP literal host, an e-mail in its query and user:password in its
 * authority still gets its callback, and the password is in no stored column. Span names built
 * from client fields (a log's task) are redacted and counted like attributes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_CONFIG_KEY, defaultConfigEnv, defaultPipelinesYaml } from '../support/default-daemon';
import { queryRows, startDaemon, type TestDaemon } from '../support/daemon';
import { waitFor } from '../support/wait';

interface Received {
  url: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

/**
 * The repository's pipelines.yaml with one rule (callbacks carry evaluations, so a log needs a
 * rule to get one) and callbacks allowed to reach this machine's test server.
 */
function defaultYamlWithLoopbackCallbacks(): string {
  const yaml = defaultPipelinesYaml();
  const out = yaml.replace(/evaluate_rules:\n(\s+)rules: \[\]/, (_m, indent: string) =>
    [
      'evaluate_rules:',
      `${indent}rules: [{ id: tone, type: keyword_forbidden, value: 'as an AI' }]`,
      `${indent}callbacks: { allow_private_addresses: true, initial_backoff_ms: 10, max_backoff_ms: 100 }`,
    ].join('\n'),
  );
  expect(out).toContain('allow_private_addresses: true');
  return out;
}

describe('redaction of operational fields and span names (default pipeline)', () => {
  let daemon: TestDaemon;
  let server: http.Server;
  const received: Received[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    daemon = await startDaemon(defaultYamlWithLoopbackCallbacks(), {
      env: defaultConfigEnv(),
    });
  });

  afterAll(async () => {
    await daemon?.stop();
    await new Promise((resolve) => server.close(resolve));
  });

  async function postLog(body: Record<string, unknown>): Promise<number> {
    const res = await fetch(`${daemon.receiverUrl('logs')}/api/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEFAULT_CONFIG_KEY}` },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('delivers the callback of a log whose callbackUrl holds credentials, an IP literal and an e-mail, and stores no password', async () => {
    const port = (server.address() as AddressInfo).port;
    const logId = 'log-operational-1';
    expect(
      await postLog({
        id: logId,
        project: 'support-replies',
        task: 'reply to jane.doe@example.com',
        output: 'Sure, I will call +44 20 7946 0958.',
        callbackUrl: `http://user:pw@127.0.0.1:${port}/hook?email=a@b.com`,
      }),
    ).toBe(200);

    const callback = await waitFor('the callback', () => received.find((r) => r.body.id === logId));
    // Same host, port, path and query: the e-mail in the query and the IP literal are intact.
    expect(callback.url).toBe('/hook?email=a@b.com');
    // The credentials were never stored, so they are not sent either.
    expect(callback.authorization).toBeUndefined();

    const rows = await waitFor('the stored log', async () => {
      const found = await queryRows<Record<string, unknown>>(daemon, `SELECT * FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] = '${logId}'`);
      return found.length > 0 ? found : undefined;
    });
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain('pw');
    expect(stored).not.toContain('user:');
    const row = rows[0] as { SpanName: string; SpanAttributes: Record<string, string> };
    expect(row.SpanAttributes['tracehouse.callback.url']).toBe(`http://127.0.0.1:${port}/hook?email=a@b.com`);
    // The span is named after the task, and the name is redacted like the task attribute.
    expect(row.SpanName).toBe('reply to [REDACTED:EMAIL]');
    expect(row.SpanAttributes['tracehouse.task']).toBe('reply to [REDACTED:EMAIL]');
    expect(stored).not.toContain('jane.doe@example.com');
    expect(stored).not.toContain('7946');
  });

  it('counts what it redacted in span names', async () => {
    const logId = 'log-operational-2';
    expect(await postLog({ id: logId, project: 'support-replies', task: 'escalate 10.1.2.3', output: 'done' })).toBe(200);
    const rows = await waitFor('the stored log', async () => {
      const found = await queryRows<{ SpanName: string; SpanAttributes: Record<string, string> }>(
        daemon,
        `SELECT SpanName, SpanAttributes FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] = '${logId}'`,
      );
      return found.length > 0 ? found : undefined;
    });
    expect(rows[0].SpanName).toBe('escalate [REDACTED:IPV4]');
    // Once in the name, once in tracehouse.task.
    expect(JSON.parse(rows[0].SpanAttributes['tracehouse.redactions'])).toEqual({ ipv4: 2 });
  });
});
