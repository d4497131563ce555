import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parse } from 'yaml';
import { buildGenAiSpans } from '../../../bench/gen-ai-spans';
import { ShuttingDownError } from '../../../core/errors';
import { createRootLogger } from '../../../core/logger';
import type { Attributes, Resource, Span } from '../../../core/span';
import { redactProcessorFactory } from '../../../processors/redact/factory';
import { createRedact, metric, redactText, span } from './support';

const HASH_KEY = 'k'.repeat(32);
const hmac16 = (key: string, value: string) => createHmac('sha256', key).update(value).digest('hex').slice(0, 16);
const resource = (attributes: Attributes): Resource => ({ attributes, droppedAttributesCount: 0, schemaUrl: '' });

describe('actions', () => {
  it('mask replaces the value with the upper-case detector name', async () => {
    expect(await redactText('write to jane@example.com')).toBe('write to [REDACTED:EMAIL]');
  });

  it('hash writes the first 16 hex digits of HMAC-SHA256(hash_key, normalized value)', async () => {
    const config = { detectors: { email: { action: 'hash' } }, hash_key: HASH_KEY };
    expect(await redactText('write to Jane@Example.com', config)).toBe(`write to [HASH:EMAIL:${hmac16(HASH_KEY, 'jane@example.com')}]`);
  });

  it('hash keeps equal values joinable across spellings and strings, and differs between keys', async () => {
    const config = (key: string) => ({ detectors: { phone: { action: 'hash' }, payment_card: { action: 'hash' } }, hash_key: key });
    const a = await redactText('+44 20 7946 0958 / 4111 1111 1111 1111', config(HASH_KEY));
    const b = await redactText('+442079460958 / 4111-1111-1111-1111', config(HASH_KEY));
    const c = await redactText('+44 20 7946 0958 / 4111 1111 1111 1111', config('another-secret-key-1234'));
    expect(a).toBe(`[HASH:PHONE:${hmac16(HASH_KEY, '+442079460958')}] / [HASH:PAYMENT_CARD:${hmac16(HASH_KEY, '4111111111111111')}]`);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(c).toMatch(/^\[HASH:PHONE:[0-9a-f]{16}\] \/ \[HASH:PAYMENT_CARD:[0-9a-f]{16}\]$/);
  });

  it('drop removes the attribute, empties a status message and counts the dropping detector once', async () => {
    const redact = createRedact({ detectors: { payment_card: { action: 'drop' } } });
    const [out] = await redact.run([
      span({
        attributes: { 'card.note': 'jane@x.io paid with 4111111111111111', keep: 'jane@x.io', list: ['ok', 'card 4111111111111111'] },
        status: { code: 'error', message: 'declined 4111111111111111' },
      }),
    ]);
    expect(out.attributes).toEqual({ keep: '[REDACTED:EMAIL]', 'tracehouse.redactions': { email: 1n, payment_card: 3n } });
    expect(out.status).toEqual({ code: 'error', message: '' });
  });

  it('drop inside a JSON attribute removes the whole attribute', async () => {
    const messages = JSON.stringify([{ role: 'user', content: 'my card is 4111 1111 1111 1111' }]);
    const redact = createRedact({ detectors: { payment_card: { action: 'drop' } } });
    const [out] = await redact.run([span({ attributes: { 'gen_ai.input.messages': messages, other: 'x' } })]);
    expect(out.attributes).toEqual({ other: 'x', 'tracehouse.redactions': { payment_card: 1n } });
  });
});

describe('JSON held in attributes', () => {
  it('redacts inside gen_ai.input.messages and keeps it valid JSON, byte for byte elsewhere', async () => {
    const messages = '[ {"role": "system", "content": "Be brief."},\n  {"role": "user", "content": "Mail me at jane.doe@example.com \\u2014 thanks", "id": 12345678901234567890} ]';
    const out = await redactText(messages);
    expect(out).toBe('[ {"role": "system", "content": "Be brief."},\n  {"role": "user", "content": "Mail me at [REDACTED:EMAIL] — thanks", "id": 12345678901234567890} ]');
    expect(JSON.parse(out as string)).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Mail me at [REDACTED:EMAIL] — thanks', id: 12345678901234567890 },
    ]);
  });

  it('redacts JSON inside JSON strings (tool-call arguments) and numbers that are card numbers', async () => {
    const args = JSON.stringify({ to: 'bob@example.org', card: 4111111111111111 });
    const messages = JSON.stringify([{ role: 'assistant', tool_calls: [{ function: { name: 'pay', arguments: args } }] }]);
    const out = JSON.parse((await redactText(messages)) as string) as [{ tool_calls: [{ function: { arguments: string } }] }];
    expect(JSON.parse(out[0].tool_calls[0].function.arguments)).toEqual({ to: '[REDACTED:EMAIL]', card: '[REDACTED:PAYMENT_CARD]' });
  });

  it('does not redact object keys', async () => {
    expect(await redactText('{"jane@example.com": "jane@example.com"}')).toBe('{"jane@example.com": "[REDACTED:EMAIL]"}');
  });

  it('returns the very same string when nothing inside changed', async () => {
    const messages = JSON.stringify([{ role: 'user', content: 'hello' }]);
    const [input] = [span({ attributes: { m: messages } })];
    const [out] = await createRedact().run([input]);
    expect(out).toBe(input);
  });

  it('scans a string that starts like JSON but does not parse as text', async () => {
    expect(await redactText('[INFO] user jane@example.com logged in')).toBe('[INFO] user [REDACTED:EMAIL] logged in');
  });
});

describe('what is scanned', () => {
  it('covers span, event and link attributes, nested values, and the status message', async () => {
    const input = span({
      attributes: { nested: { inner: ['a', 'ip 10.0.0.1'] }, n: 4111111111111111n, bytes: new Uint8Array([1, 2]) },
      events: [{ timeUnixNano: 1n, name: 'exception', attributes: { 'exception.message': 'no user jane@x.io' }, droppedAttributesCount: 0 }],
      links: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceState: '', attributes: { who: 'bob@x.io' }, droppedAttributesCount: 0, flags: 0 }],
      status: { code: 'error', message: 'failed for +14155552671' },
    });
    const [out] = await createRedact().run([input]);
    expect(out.attributes).toEqual({
      nested: { inner: ['a', 'ip [REDACTED:IPV4]'] },
      n: 4111111111111111n,
      bytes: new Uint8Array([1, 2]),
      'tracehouse.redactions': { email: 2n, phone: 1n, ipv4: 1n },
    });
    expect(out.events[0].attributes).toEqual({ 'exception.message': 'no user [REDACTED:EMAIL]' });
    expect(out.links[0].attributes).toEqual({ who: '[REDACTED:EMAIL]' });
    expect(out.status).toEqual({ code: 'error', message: 'failed for [REDACTED:PHONE]' });
    expect(out.name).toBe(input.name);
  });

  it('redacts a shared resource once and keeps it shared, counting it on every span but once in metrics', async () => {
    const shared = resource({ 'service.name': 'app', 'host.ip': '10.1.2.3' });
    const other = resource({ 'service.name': 'clean' });
    const redact = createRedact();
    const out = await redact.run([span({ resource: shared }), span({ resource: shared }), span({ resource: other })]);
    expect(out[0].resource).toBe(out[1].resource);
    expect(out[0].resource.attributes).toEqual({ 'service.name': 'app', 'host.ip': '[REDACTED:IPV4]' });
    expect(out[2].resource).toBe(other);
    expect(out[0].attributes['tracehouse.redactions']).toEqual({ ipv4: 1n });
    expect(out[1].attributes['tracehouse.redactions']).toEqual({ ipv4: 1n });
    expect(out[2].attributes['tracehouse.redactions']).toBeUndefined();
    expect(shared.attributes['host.ip']).toBe('10.1.2.3');
    expect(metric(await redact.telemetry.metricsText(), 'processor="redact",event="redaction",kind="ipv4"')).toBe(1);
  });

  it('scans only allow_keys when set, and removes block_keys without scanning (globs on every attribute map)', async () => {
    const redact = createRedact({
      allow_keys: ['gen_ai.*.messages', 'user.?mail'],
      block_keys: ['http.request.header.*', 'secret'],
    });
    const [out] = await redact.run([
      span({
        attributes: {
          'gen_ai.input.messages': 'from a@x.io',
          'user.email': 'b@x.io',
          'user.e-mail': 'c@x.io',
          'http.request.header.authorization': 'Bearer 0123456789abcdef0123',
          'http.request.header': 'kept, no trailing dot',
          other: 'd@x.io',
        },
        resource: resource({ secret: 'x', 'service.name': 'e@x.io' }),
        events: [{ timeUnixNano: 1n, name: 'e', attributes: { secret: 'y', 'user.email': 'f@x.io' }, droppedAttributesCount: 0 }],
      }),
    ]);
    expect(out.attributes).toEqual({
      'gen_ai.input.messages': 'from [REDACTED:EMAIL]',
      'user.email': '[REDACTED:EMAIL]',
      'user.e-mail': 'c@x.io',
      'http.request.header': 'kept, no trailing dot',
      other: 'd@x.io',
      'tracehouse.redactions': { email: 3n },
    });
    expect(out.resource.attributes).toEqual({ 'service.name': 'e@x.io' });
    expect(out.events[0].attributes).toEqual({ 'user.email': '[REDACTED:EMAIL]' });
    expect(metric(await redact.telemetry.metricsText(), 'processor="redact",event="blocked_key",kind=""')).toBe(3);
  });

  it('applies custom detectors with their own action', async () => {
    const config = {
      custom_detectors: [
        { name: 'ticket_id', pattern: 'TCK-[0-9]{6}' },
        { name: 'employee', pattern: 'EMP[0-9]{5}', action: 'hash' },
      ],
      hash_key: HASH_KEY,
    };
    expect(await redactText('TCK-123456 by EMP00042', config)).toBe(`[REDACTED:TICKET_ID] by [HASH:EMPLOYEE:${hmac16(HASH_KEY, 'EMP00042')}]`);
  });

  it('runs custom patterns in linear time (RE2), built-ins between their matches', async () => {
    const config = { custom_detectors: [{ name: 'nested', pattern: '(a+)+b' }, { name: 'ticket', pattern: 'TCK-[0-9]{6}' }] };
    const long = 'a'.repeat(200_000);
    expect(await redactText(`${long}! jane@x.io`, config)).toBe(`${long}! [REDACTED:EMAIL]`);
    expect(await redactText(`TCK-123456 ${long}b, TCK-654321`, config)).toBe('[REDACTED:TICKET] [REDACTED:NESTED], [REDACTED:TICKET]');
  });

  it('matches allow_keys and block_keys globs in linear time, whatever the key', async () => {
    const redact = createRedact({ block_keys: ['*a*a*a*a*a*b'], allow_keys: ['*.*.*.*.*.x', 'msg'] });
    const key = 'a'.repeat(50_000);
    const dots = `${'.'.repeat(50_000)}y`;
    const [out] = await redact.run([span({ attributes: { [key]: 'jane@x.io', [dots]: 'jane@x.io', msg: 'jane@x.io', [`${key}b`]: 'gone' } })]);
    expect(out.attributes).toEqual({ [key]: 'jane@x.io', [dots]: 'jane@x.io', msg: '[REDACTED:EMAIL]', 'tracehouse.redactions': { email: 1n } });
  });

  it('redacts span and event names, counting what it found (a name cannot be dropped: drop masks it)', async () => {
    const redact = createRedact({ detectors: { api_key: { action: 'drop' } } });
    const out = await redact.run([
      span({
        name: 'finance-review for jane@x.io',
        events: [{ timeUnixNano: 1n, name: 'call +14155552671', attributes: {}, droppedAttributesCount: 0 }],
      }),
      span({ name: 'tool sk-proj-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0' }),
      span({ name: 'chat gpt-4o' }),
    ]);
    expect(out[0].name).toBe('finance-review for [REDACTED:EMAIL]');
    expect(out[0].events[0].name).toBe('call [REDACTED:PHONE]');
    expect(out[0].attributes['tracehouse.redactions']).toEqual({ email: 1n, phone: 1n });
    expect(out[1].name).toBe('[REDACTED:API_KEY]');
    expect(out[1].attributes['tracehouse.redactions']).toEqual({ api_key: 1n });
    expect(out[2].name).toBe('chat gpt-4o');
    expect(metric(await redact.telemetry.metricsText(), 'processor="redact",event="redaction",kind="email"')).toBe(1);
  });
});

describe('operational attributes', () => {
  it('keeps the callback URL usable: userinfo removed (counted), host, IP literal, path and query kept', async () => {
    const url = 'http://user:pw@127.0.0.1:8080/hook?email=a@b.com&ip=10.0.0.1';
    const [out] = await createRedact().run([span({ attributes: { 'tracehouse.callback.url': url, 'tracehouse.callback.events': 'all' } })]);
    expect(out.attributes['tracehouse.callback.url']).toBe('http://127.0.0.1:8080/hook?email=a@b.com&ip=10.0.0.1');
    expect(out.attributes['tracehouse.redactions']).toEqual({ url_credentials: 1n });
    const [plain] = await createRedact().run([span({ attributes: { 'tracehouse.callback.url': 'https://[2001:db8::1]/cb?to=jane@x.io' } })]);
    expect(plain.attributes).toEqual({ 'tracehouse.callback.url': 'https://[2001:db8::1]/cb?to=jane@x.io' });
  });

  it('never rewrites the identifiers the daemon reads back', async () => {
    const attributes = {
      'tracehouse.workspace': '10.0.0.1',
      'tracehouse.log_id': 'jane@x.io',
      'tracehouse.record_type': 'log',
      'tracehouse.verdict': 'flagged',
    };
    const [out] = await createRedact().run([span({ attributes })]);
    expect(out.attributes).toEqual(attributes);
  });

  it('scans other tracehouse attributes and a callback URL that does not parse like any text', async () => {
    const [out] = await createRedact().run([span({ attributes: { 'tracehouse.task': 'mail jane@x.io', 'tracehouse.callback.url': 'not a url: jane@x.io' } })]);
    expect(out.attributes['tracehouse.task']).toBe('mail [REDACTED:EMAIL]');
    expect(out.attributes['tracehouse.callback.url']).toBe('not a url: [REDACTED:EMAIL]');
  });

  it('masks URL credentials in free text, scheme and host still readable', async () => {
    expect(await redactText('retrying https://svc:hunter2@api.example.com/v1')).toBe('retrying https://[REDACTED:URL_CREDENTIALS]@api.example.com/v1');
  });
});

describe('bookkeeping', () => {
  it('records tracehouse.redactions as int counts, merged with one already on the span', async () => {
    const [out] = await createRedact().run([
      span({ attributes: { a: 'x@y.io and z@y.io', b: '078-05-1120', 'tracehouse.redactions': { email: 1n, legacy: 4n } } }),
    ]);
    expect(out.attributes['tracehouse.redactions']).toEqual({ email: 3n, legacy: 4n, us_ssn: 1n });
  });

  it('counts redactions per detector in /metrics', async () => {
    const redact = createRedact();
    await redact.run([span({ attributes: { a: 'x@y.io z@y.io', b: '10.0.0.1' } }), span({ attributes: { c: 'w@y.io' } })]);
    const text = await redact.telemetry.metricsText();
    expect(metric(text, 'processor="redact",event="redaction",kind="email"')).toBe(3);
    expect(metric(text, 'processor="redact",event="redaction",kind="ipv4"')).toBe(1);
    expect(metric(text, 'processor="redact",event="redaction",kind="phone"')).toBeUndefined();
  });

  it('never changes the input batch, and shares every span, event and array it did not change', async () => {
    const shared = resource({ 'host.ip': '10.1.2.3' });
    const batch: Span[] = [
      span({ attributes: { m: 'jane@x.io', list: ['a'] }, resource: shared, events: [{ timeUnixNano: 1n, name: 'e', attributes: { k: 'v' }, droppedAttributesCount: 0 }] }),
      span({ attributes: { m: 'nothing here' } }),
    ];
    const before = structuredClone(batch);
    const out = await createRedact().run(batch);
    expect(batch).toEqual(before);
    expect(out).not.toBe(batch);
    expect(out[1]).toBe(batch[1]);
    expect(out[0].events).toBe(batch[0].events);
    expect(out[0].attributes.list).toBe(batch[0].attributes.list);
  });

  it('counts a redaction found only in the resource on a copy of the span attributes, never on the input', async () => {
    const input = span({ attributes: { m: 'nothing here' }, resource: resource({ 'host.ip': '10.1.2.3' }) });
    const [out] = await createRedact().run([input]);
    expect(out.attributes).toEqual({ m: 'nothing here', 'tracehouse.redactions': { ipv4: 1n } });
    expect(input.attributes).toEqual({ m: 'nothing here' });
  });

  it('keeps a client attribute named "__proto__" as an attribute when a sibling is redacted', async () => {
    const attributes: Attributes = {};
    Object.defineProperty(attributes, '__proto__', { value: 'client value', enumerable: true, writable: true, configurable: true });
    attributes.m = 'jane@x.io';
    const [out] = await createRedact().run([span({ attributes })]);
    expect(Object.getPrototypeOf(out.attributes)).toBe(Object.prototype);
    expect(Object.keys(out.attributes)).toEqual(['__proto__', 'm', 'tracehouse.redactions']);
    expect(Object.getOwnPropertyDescriptor(out.attributes, '__proto__')?.value).toBe('client value');
  });

  it('passes a batch with nothing to redact on as it is (the benchmark payload)', async () => {
    const batch = buildGenAiSpans();
    expect(await createRedact().run(batch)).toBe(batch);
  });

  it('never logs the matched text', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const redact = createRedact({}, createRootLogger({ level: 'trace', destination }));
    await redact.run([span({ attributes: { m: 'jane@example.com 4111111111111111' } })]);
    expect(lines.join('')).not.toMatch(/jane@example\.com|4111111111111111/);
  });
});

describe('component contract', () => {
  it('documents itself with a README whose YAML example parses with its schema', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', '..', 'processors', 'redact', 'README.md'), 'utf8');
    const examples = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => (parse(m[1]) as { processors?: Record<string, unknown> }).processors?.redact);
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) expect(redactProcessorFactory.configSchema.safeParse(example ?? {}).error?.issues ?? []).toEqual([]);
  });

  it('declares what the registry needs', () => {
    expect(redactProcessorFactory).toMatchObject({ type: 'redact', kind: 'processor', stability: 'beta' });
  });

  it('shuts down twice, without start, and refuses batches afterwards', async () => {
    const redact = createRedact();
    await redact.shutdown();
    await redact.shutdown();
    await expect(redact.run([span()])).rejects.toBeInstanceOf(ShuttingDownError);
  });
});
