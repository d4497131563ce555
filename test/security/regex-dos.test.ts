/**
 * One request must not freeze the daemon: every detector and parser that reads client text runs
 * in linear time. Each adversarial input below is what a backtracking expression is worst at,
 * sent at (close to) the largest body the receiver accepts, on the default pipelines.yaml; while
 * the daemon works on it a small request must still be answered, and afterwards it still serves.
 * No clock is read: a super-linear detector turns these into hours, and jest's timeout fails them.
 */
import http from 'node:http';
import { ExportTraceServiceRequest } from '../../core/otlp/pb';
import { modelMatcher as alertModelMatcher } from '../../processors/alert/span-rules';
import { enrichProcessorConfigSchema } from '../../processors/enrich/config';
import { PriceBook } from '../../core/pricing/pricing';
import { decodedLength, isBase64 } from '../../receivers/logs/attachment-body';
import { DEFAULT_CONFIG_KEY, defaultConfigEnv, defaultPipelinesYaml, startDefaultDaemon } from '../support/default-daemon';
import { startDaemon, type TestDaemon } from '../support/daemon';
import { redactText } from '../processors/redact/support';

const MiB = 1024 * 1024;
/** receivers.otlp.http.max_request_body_bytes and the logs receiver's, by default. */
const OTLP_MAX_BODY = 20 * MiB;
const LOGS_MAX_BODY = 64 * MiB;
/** Room for the rest of the body around the adversarial string. */
const ENVELOPE = 4096;

jest.setTimeout(300_000);

/** `unit` repeated to exactly `length` characters. */
function fill(unit: string, length: number): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

let nextId = 1;
function ids(): { traceId: string; spanId: string } {
  const n = (nextId++).toString(16);
  return { traceId: n.padStart(32, 'a'), spanId: n.padStart(16, 'b') };
}

function otlpJson(attributes: Record<string, string>, name = 'adversarial'): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'regex-dos' } }] },
        scopeSpans: [
          {
            spans: [
              {
                ...ids(),
                name,
                kind: 1,
                startTimeUnixNano: '1731000000000000000',
                endTimeUnixNano: '1731000001000000000',
                attributes: Object.entries(attributes).map(([key, value]) => ({ key, value: { stringValue: value } })),
              },
            ],
          },
        ],
      },
    ],
  });
}

function otlpProtobuf(attributes: Record<string, string>, name = 'adversarial'): Buffer {
  const { traceId, spanId } = ids();
  const message = ExportTraceServiceRequest.create({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'regex-dos' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: Buffer.from(traceId, 'hex'),
                spanId: Buffer.from(spanId, 'hex'),
                name,
                kind: 1,
                startTimeUnixNano: 1731000000000000000n as unknown as number,
                endTimeUnixNano: 1731000001000000000n as unknown as number,
                attributes: Object.entries(attributes).map(([key, value]) => ({ key, value: { stringValue: value } })),
              },
            ],
          },
        ],
      },
    ],
  });
  return Buffer.from(ExportTraceServiceRequest.encode(message).finish());
}

interface Answer {
  status: number;
  body: string;
}

/** POSTs `body`; `sent` is called once the whole body has been handed to the socket. */
function post(url: string, body: string | Buffer, headers: Record<string, string>, sent?: () => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = http.request(
      { hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body, sent);
  });
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const LOGS_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${DEFAULT_CONFIG_KEY}` };

/** A small OTLP request: answered while the daemon works on a big one, and after. */
function smallRequest(daemon: TestDaemon): Promise<Answer> {
  return post(`${daemon.receiverUrl('otlp')}/v1/traces`, otlpJson({ 'gen_ai.prompt': 'mail jane@example.com' }), JSON_HEADERS);
}

/**
 * Sends `big`, and once it is on the wire a small request; both must be answered. Returns the big
 * request's answer.
 */
async function whileBusy(daemon: TestDaemon, send: (sent: () => void) => Promise<Answer>): Promise<Answer> {
  let small: Promise<Answer> | undefined;
  let onWire: () => void = () => {};
  const wire = new Promise<void>((resolve) => (onWire = resolve));
  const big = send(() => {
    small = smallRequest(daemon);
    onWire();
  });
  await Promise.race([wire, big]);
  expect(await small).toEqual({ status: 200, body: '{}' });
  return big;
}

/** Adversarial strings by what they attack: runs of the characters each detector is made of. */
const ADVERSARIAL: [string, string][] = [
  ['api_key: "sk-" repeated (no digit anywhere)', 'sk-'],
  ['api_key: "sk-" then letters, many times', `sk-${'a'.repeat(30)} `],
  ['jwt: "-eyJ" repeated (a header that never ends in ".ey")', '-eyJ'],
  ['bearer_token: "Bearer a." repeated', 'Bearer a.'],
  ['phone: "+1" and 30 digits, then a letter', `+1${'1'.repeat(30)}a `],
  ['phone: "(1)" groups', `+1${'(1)'.repeat(20)}a `],
  ['phone and card: a digit run', '1'],
  ['phone and card: digits and spaces', '1 '],
  ['phone and card: digits and dashes', '1-'],
  ['payment_card: groups of four that pass Luhn', '4111 '],
  ['email: "a@a.a@" repeated', 'a@a.a@'],
  ['email: a domain that never ends in a TLD', 'a@a.a-'],
  ['ipv4: "1.1.1.1." repeated', '1.1.1.1.'],
  ['ipv6: "1:" repeated', '1:'],
  ['ipv6: "::" repeated', ' ::'],
  ['iban: "DE89 " repeated', 'DE89 '],
  ['private_key: BEGIN headers without a key', '-----BEGIN A A A '],
  ['url_credentials: "http://a:" repeated', 'http://a:'],
];

describe('adversarial inputs through the default pipeline', () => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    daemon = await startDefaultDaemon();
  });

  afterAll(async () => {
    await daemon.stop();
  });

  it.each(ADVERSARIAL)('OTLP/JSON attribute, %s', async (_what, unit) => {
    const value = fill(unit, OTLP_MAX_BODY - ENVELOPE);
    const body = otlpJson({ 'gen_ai.prompt': value });
    expect(body.length).toBeLessThanOrEqual(OTLP_MAX_BODY);
    const answer = await whileBusy(daemon, (sent) => post(`${daemon.receiverUrl('otlp')}/v1/traces`, body, JSON_HEADERS, sent));
    expect(answer).toEqual({ status: 200, body: '{}' });
    expect((await smallRequest(daemon)).status).toBe(200);
  });

  it('OTLP/protobuf span name and attribute of "sk-" runs (names are redacted too)', async () => {
    const value = fill('sk-', (OTLP_MAX_BODY - ENVELOPE) / 2);
    const body = otlpProtobuf({ 'gen_ai.completion': value }, value);
    expect(body.length).toBeLessThanOrEqual(OTLP_MAX_BODY);
    const answer = await whileBusy(daemon, (sent) => post(`${daemon.receiverUrl('otlp')}/v1/traces`, body, { 'content-type': 'application/x-protobuf' }, sent));
    expect(answer.status).toBe(200);
  });

  it('OTLP/JSON attribute holding a JSON document of "sk-" runs (scanned inside)', async () => {
    const value = JSON.stringify([{ role: 'user', content: fill('sk-', OTLP_MAX_BODY / 2) }]);
    const answer = await whileBusy(daemon, (sent) => post(`${daemon.receiverUrl('otlp')}/v1/traces`, otlpJson({ 'gen_ai.input.messages': value }), JSON_HEADERS, sent));
    expect(answer).toEqual({ status: 200, body: '{}' });
  });

  it('logs: an attachment of "=" padding that is not at the end', async () => {
    // Decodes to just under max_attachment_bytes (10 MiB), so the base64 check itself runs.
    const upload = `${'='.repeat(13 * MiB)}x`;
    expect(decodedLength(upload)).toBeLessThanOrEqual(10 * MiB);
    const body = JSON.stringify({ project: 'regex-dos', output: 'ok', attachments: [{ upload, name: 'padding.bin' }] });
    const answer = await whileBusy(daemon, (sent) => post(`${daemon.receiverUrl('logs')}/api/logs`, body, LOGS_HEADERS, sent));
    expect(answer.status).toBe(422);
    expect(answer.body).toContain('must be base64');
  });

  it('logs: a data: URL prefix of ";" parameters and a whitespace-wrapped upload at the body limit', async () => {
    const upload = `data:${fill(';a', 4 * MiB)};base64,${fill('QUJD\n', 8 * MiB)}`;
    const body = JSON.stringify({ project: 'regex-dos', output: 'ok', attachments: [{ upload }] });
    const answer = await whileBusy(daemon, (sent) => post(`${daemon.receiverUrl('logs')}/api/logs`, body, LOGS_HEADERS, sent));
    expect(answer.status).toBe(200);
  });

  it('logs: adversarial text in inputText, the task (span name) and metadata, up to the body limit', async () => {
    const inputText = fill('-eyJ', 20 * MiB);
    const body = JSON.stringify({
      project: 'regex-dos',
      task: fill('+1 1', 128),
      output: fill('1.1.1.1.', 50_000),
      inputText,
      metadata: { notes: fill('a@a.a@', 20 * MiB), more: fill('sk-', 20 * MiB) },
    });
    expect(body.length).toBeLessThanOrEqual(LOGS_MAX_BODY);
    const answer = await whileBusy(daemon, (sent) => post(`${daemon.receiverUrl('logs')}/api/logs`, body, LOGS_HEADERS, sent));
    expect(answer.status).toBe(200);
  });

  it('control plane: a regex_match rule RE2 cannot run is refused with 422 when it is created, not stored and skipped', async () => {
    for (const value of ['(?=refund)refund', '(a)\\1', '(?<!x)y']) {
      const answer = await post(`${daemon.receiverUrl('logs')}/api/rules`, JSON.stringify({ name: 'lookaround', type: 'regex_match', value }), LOGS_HEADERS);
      expect({ value, status: answer.status }).toEqual({ value, status: 422 });
      expect(answer.body).toContain('value');
    }
    const listed = await fetch(`${daemon.receiverUrl('logs')}/api/rules`, { headers: LOGS_HEADERS });
    expect(listed.status).toBe(200);
    expect(await listed.text()).not.toContain('lookaround');
  });
});

describe('user-written patterns and globs on the default pipeline with rules added', () => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    const yaml = defaultPipelinesYaml().replace(
      /evaluate_rules:\n(\s+)rules: \[\]/,
      (_m, indent: string) =>
        [
          'evaluate_rules:',
          `${indent}rules:`,
          `${indent}  - { id: nested, type: regex_forbidden, value: '(a+)+$' }`,
          `${indent}  - { id: alternation, type: regex_required, value: '^(a|aa)+$', target: input }`,
          `${indent}  - { id: schema, type: json_schema, target: { attribute: doc }, value: { type: object, properties: { x: { type: string, pattern: '^(\\w+\\s?)*$', format: url } } } }`,
          `${indent}  - { id: models, type: model_in, value: ['*a*a*a*a*a*b'], scope: { model: '*claude*x' } }`,
        ].join('\n'),
    );
    expect(yaml).toContain('(a+)+$');
    // The environment startDefaultDaemon sets, on this YAML.
    daemon = await startDaemon(yaml, {
      env: defaultConfigEnv(),
    });
  });

  afterAll(async () => {
    await daemon.stop();
  });

  it('regex, JSON Schema pattern and format, and model globs on megabytes of their worst text', async () => {
    const long = fill('a', 4 * MiB);
    const body = otlpJson({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': `${fill('claude', 1 * MiB)}\nx`,
      'gen_ai.response.model': fill('a', 1 * MiB),
      'gen_ai.completion': `${long}!`,
      'gen_ai.prompt': `${long}!`,
      doc: JSON.stringify({ x: `${fill('a ', 2 * MiB)}!` }),
    });
    const answer = await whileBusy(daemon, (sent) => post(`${daemon.receiverUrl('otlp')}/v1/traces`, body, JSON_HEADERS, sent));
    expect(answer).toEqual({ status: 200, body: '{}' });
  });
});

describe('operator patterns in other processors', () => {
  it('alert model globs match client model names in linear time', () => {
    expect(alertModelMatcher('*a*a*a*a*a*b')('a'.repeat(100_000))).toBe(false);
    expect(alertModelMatcher('*gpt-4o*')('openai/gpt-4o-mini')).toBe(true);
    expect(alertModelMatcher('{gpt,claude}-?')('claude-3')).toBe(true);
  });

  it('enrich price overrides run on the linear-time engine, and refuse lookaround at load time', () => {
    const { price_overrides } = enrichProcessorConfigSchema.parse({ price_overrides: [{ model: '(a|aa)+x', input_per_mtok: 1, output_per_mtok: 2 }] });
    const book = new PriceBook([], price_overrides);
    // 250 characters (model names are capped at 256): a backtracking engine tries 2^125 splits.
    expect(book.lookup('a'.repeat(250))).toBeUndefined();
    expect(book.lookup('aaax')?.source).toBe('override');
    const refused = enrichProcessorConfigSchema.safeParse({ price_overrides: [{ model: '(?!gpt).*', input_per_mtok: 1, output_per_mtok: 2 }] });
    expect(refused.error?.issues.map((i) => i.message)).toEqual([expect.stringContaining('uses a negative lookahead')]);
  });
});

describe('the detectors still find what they should', () => {
  it.each([
    ['sk-proj-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0', '[REDACTED:API_KEY]'],
    [`sk-${'a'.repeat(40)}7`, '[REDACTED:API_KEY]'],
    ['eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', '[REDACTED:JWT]'],
    ['Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0==', 'Authorization: Bearer [REDACTED:BEARER_TOKEN]'],
    ['+44 20 7946 0958', '[REDACTED:PHONE]'],
    ['+44 (0)20 7946 0958', '[REDACTED:PHONE]'],
    ['+1 (415) 555-2671', '[REDACTED:PHONE]'],
    ['4111 1111 1111 1111', '[REDACTED:PAYMENT_CARD]'],
    ['jane.doe+tag@example.co.uk', '[REDACTED:EMAIL]'],
    ['10.0.0.1:8080', '[REDACTED:IPV4]:8080'],
    ['2001:db8::8a2e:370:7334', '[REDACTED:IPV6]'],
    ['1:2:3:4:5:6:7::', '[REDACTED:IPV6]'],
    ['DE89 3704 0044 0532 0130 00', '[REDACTED:IBAN]'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----', '[REDACTED:PRIVATE_KEY]'],
    ['postgres://app:s3cret@db:5432/x', 'postgres://[REDACTED:URL_CREDENTIALS]@db:5432/x'],
  ])('%j', async (input, expected) => {
    expect(await redactText(input)).toBe(expected);
  });

  it('still finds a value after megabytes of an adversarial run', async () => {
    for (const unit of ['sk-', '-eyJ', '1 ', 'a@a.a@', '1:', '+1']) {
      const out = await redactText(`${fill(unit, 2 * MiB)} jane@example.com`);
      expect(typeof out === 'string' && out.endsWith(' [REDACTED:EMAIL]')).toBe(true);
    }
  });

  it('checks attachment base64 with loops that agree with the old expressions', () => {
    for (const [text, ok] of [
      ['QUJD', true],
      ['QUI=', true],
      ['QQ==', true],
      ['Q===', false],
      ['QU=I', false],
      ['a-_b', true],
      ['QU JD', false],
      ['', true],
    ] as const) {
      expect(isBase64(text)).toBe(ok);
    }
    expect(decodedLength('QQ==')).toBe(0 + 1);
    expect(decodedLength(`${'='.repeat(1_000_000)}x`)).toBe(750_000);
  });
});
