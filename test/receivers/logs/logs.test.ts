import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spanIdFor, traceIdFor } from '../../../core/ingest/ids';
import { ingestPipelineYaml, postJson, queryRows, startDaemon, TEST_API_KEY, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A second key of the test workspace, so alias tests do not spend the main key's 60 per minute. */
const SECOND_KEY = 'th_test_acme_second_0123456789';
const EVENTS_ONLY_KEY = 'th_other_key_0123456789abcdef';
const MiB = 1024 * 1024;

const workspaces = [`${TEST_WORKSPACE}:`, `  api_keys: ["${TEST_API_KEY}", "${SECOND_KEY}", { key: "${EVENTS_ONLY_KEY}", receivers: [events] }]`];

interface LogRow {
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  SpanKind: string;
  Workspace: string;
  Project: string;
  GenAIRequestModel: string;
  CostUsd: number;
  Input: string;
  Output: string;
  ts: string;
  Duration: string;
  SpanAttributes: Record<string, string>;
}

const outputMessages = (text: string) => JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: text }] }]);

describe('logs receiver', () => {
  const database = uniqueDatabase('logs');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-logs-'));
  // Not created in advance: the receiver creates it on the first upload.
  const attachmentsDir = path.join(tmp, 'attachments', 'nested');
  let daemon: TestDaemon;
  let url: string;

  const rowsOf = (id: string) =>
    queryRows<LogRow>(
      daemon,
      `SELECT TraceId, SpanId, ParentSpanId, SpanName, toString(SpanKind) AS SpanKind, Workspace, Project, GenAIRequestModel, CostUsd, Input, Output,
              toString(Timestamp) AS ts, toString(Duration) AS Duration, SpanAttributes
       FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] = '${id}'`,
      database,
    );
  const countOf = async (id: string) => (await queryRows<{ n: number }>(daemon, `SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] = '${id}'`, database))[0].n;
  const stamped = { 'tracehouse.workspace': TEST_WORKSPACE, 'tracehouse.source': 'logs' };

  beforeAll(async () => {
    // The events receiver is there for the key restricted to it.
    daemon = await startDaemon(ingestPipelineYaml({ receivers: { logs: [`attachments_dir: ${JSON.stringify(attachmentsDir)}`], events: [] }, database, workspaces }));
    url = `${daemon.receiverUrl('logs')}/api/logs`;
  });
  afterAll(async () => {
    await daemon.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('the documented requests', () => {
    it('stores the minimal log (project and output) and answers pending with a new id', async () => {
      const before = Date.now();
      const res = await postJson(url, { project: 'my-first-project', output: 'Here is my AI-generated response.' });
      const after = Date.now();
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true, id: expect.stringMatching(UUID), status: 'pending' });
      expect(res.headers.get('x-ratelimit-limit')).toBe('60');
      expect(res.headers.get('x-ratelimit-remaining')).toBe('59');
      const [row, ...more] = await rowsOf(res.body.id);
      expect(more).toEqual([]);
      expect(row).toEqual({
        TraceId: expect.stringMatching(/^[0-9a-f]{32}$/),
        SpanId: spanIdFor(TEST_WORKSPACE, row.TraceId, res.body.id),
        ParentSpanId: '',
        SpanName: 'log',
        SpanKind: 'Internal',
        Workspace: TEST_WORKSPACE,
        Project: 'my-first-project',
        GenAIRequestModel: '',
        CostUsd: 0,
        Input: '',
        Output: outputMessages('Here is my AI-generated response.'),
        ts: expect.any(String),
        Duration: '0',
        SpanAttributes: {
          'tracehouse.record_type': 'log',
          'tracehouse.log_id': res.body.id,
          'tracehouse.project': 'my-first-project',
          'gen_ai.output.messages': outputMessages('Here is my AI-generated response.'),
          ...stamped,
        },
      });
      // Without a timestamp the log is dated when it arrived.
      const at = Date.parse(`${row.ts.replace(' ', 'T')}Z`);
      expect(at).toBeGreaterThanOrEqual(before - 1);
      expect(at).toBeLessThanOrEqual(after + 1);
      // Without a client id the trace is new for every log.
      expect(row.TraceId).not.toBe(traceIdFor(TEST_WORKSPACE, res.body.id));
    });

    it('names the span after the task (the Make example)', async () => {
      const res = await postJson(url, { project: 'support-replies', output: 'Thanks for reaching out!', task: 'Tone Validator' });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('pending');
      const rows = await rowsOf(res.body.id);
      expect(rows.map((r) => [r.SpanName, r.Project, r.SpanAttributes['tracehouse.task']])).toEqual([['Tone Validator', 'support-replies', 'Tone Validator']]);
    });

    it('answers the verdict inline with sync: true (pass while no rule applies)', async () => {
      const res = await postJson(url, { project: 'my-project', output: 'The AI-generated text.', sync: true });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true, id: expect.stringMatching(UUID), status: 'pass', verdict: { pass: true, rules: [] } });
      const rows = await rowsOf(res.body.id);
      expect(rows.map((r) => [r.SpanName, r.Project, r.Output])).toEqual([['log', 'my-project', outputMessages('The AI-generated text.')]]);
    });

    it('stores every documented field column by column, at the given timestamp, ignoring unknown fields', async () => {
      const body = {
        id: 'log-full-0001',
        project: 'support-replies',
        task: 'Refund answer',
        output: 'Your refund was issued.',
        model: 'gpt-4o',
        latencyMs: 1234.5,
        costUsd: 0.0042,
        input: 'Where is my refund?',
        inputText: 'Where is my refund? (shown)',
        callbackUrl: 'https://hooks.example.com/tracira?x=1',
        callbackEvents: 'flagged_error',
        metadata: { env: 'prod', run: { number: 7, tags: ['a', 'b'] }, ratio: 0.5, beta: true },
        confidence: 0.87,
        sessionId: 'sess-1',
        subjectId: 'cust-9',
        actorId: 'agent-3',
        timestamp: '2024-11-15T10:30:00.123456Z',
        somethingNew: { ignored: true },
      };
      const res = await postJson(url, body);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true, id: 'log-full-0001', status: 'pending' });
      const traceId = traceIdFor(TEST_WORKSPACE, 'log-full-0001');
      const input = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Where is my refund?' }] }]);
      expect(await rowsOf('log-full-0001')).toEqual([
        {
          TraceId: traceId,
          SpanId: spanIdFor(TEST_WORKSPACE, traceId, 'log-full-0001'),
          ParentSpanId: '',
          SpanName: 'Refund answer',
          SpanKind: 'Internal',
          Workspace: TEST_WORKSPACE,
          Project: 'support-replies',
          GenAIRequestModel: 'gpt-4o',
          CostUsd: 0.0042,
          Input: input,
          Output: outputMessages('Your refund was issued.'),
          ts: '2024-11-15 10:30:00.123456000',
          Duration: '1234500000',
          SpanAttributes: {
            'tracehouse.record_type': 'log',
            'tracehouse.log_id': 'log-full-0001',
            'tracehouse.project': 'support-replies',
            'tracehouse.task': 'Refund answer',
            'gen_ai.request.model': 'gpt-4o',
            'gen_ai.input.messages': input,
            'gen_ai.output.messages': outputMessages('Your refund was issued.'),
            'tracehouse.input_text': 'Where is my refund? (shown)',
            'tracehouse.cost_usd': '0.0042',
            'tracehouse.confidence': '0.87',
            'gen_ai.conversation.id': 'sess-1',
            'tracehouse.subject_id': 'cust-9',
            'enduser.id': 'agent-3',
            'tracehouse.actor_id': 'agent-3',
            'tracehouse.callback.url': 'https://hooks.example.com/tracira?x=1',
            'tracehouse.callback.events': 'flagged_error',
            'metadata.env': 'prod',
            'metadata.run.number': '7',
            'metadata.run.tags': '["a","b"]',
            'metadata.ratio': '0.5',
            'metadata.beta': 'true',
            ...stamped,
          },
        },
      ]);
    });

    it('defaults the callback events to "all" when only callbackUrl is given', async () => {
      const res = await postJson(url, { project: 'p', output: 'o', id: 'log-callback-default', callbackUrl: 'http://127.0.0.1:9/cb' });
      expect(res.status).toBe(200);
      const [row] = await rowsOf('log-callback-default');
      expect([row.SpanAttributes['tracehouse.callback.url'], row.SpanAttributes['tracehouse.callback.events']]).toEqual(['http://127.0.0.1:9/cb', 'all']);
    });
  });

  describe('correlation ids and their aliases', () => {
    const cases: [string, string, string[]][] = [
      ['sessionId', 'session', ['gen_ai.conversation.id']],
      ['conversationId', 'session', ['gen_ai.conversation.id']],
      ['threadId', 'session', ['gen_ai.conversation.id']],
      ['chatId', 'session', ['gen_ai.conversation.id']],
      ['subjectId', 'subject', ['tracehouse.subject_id']],
      ['customerId', 'subject', ['tracehouse.subject_id']],
      ['recordId', 'subject', ['tracehouse.subject_id']],
      ['ticketId', 'subject', ['tracehouse.subject_id']],
      ['accountId', 'subject', ['tracehouse.subject_id']],
      ['actorId', 'actor', ['enduser.id', 'tracehouse.actor_id']],
      ['userId', 'actor', ['enduser.id', 'tracehouse.actor_id']],
      ['endUserId', 'actor', ['enduser.id', 'tracehouse.actor_id']],
      ['agentId', 'actor', ['enduser.id', 'tracehouse.actor_id']],
    ];

    it.each(cases)('accepts %s as the %s id', async (field, _kind, attributes) => {
      const id = `log-alias-${field}`;
      const res = await postJson(url, { project: 'aliases', output: 'o', id, [field]: `value-of-${field}` }, { authorization: `Bearer ${SECOND_KEY}` });
      expect(res.status).toBe(200);
      const [row] = await rowsOf(id);
      const correlation = Object.fromEntries(
        Object.entries(row.SpanAttributes).filter(([k]) => ['gen_ai.conversation.id', 'tracehouse.subject_id', 'enduser.id', 'tracehouse.actor_id'].includes(k)),
      );
      expect(correlation).toEqual(Object.fromEntries(attributes.map((a) => [a, `value-of-${field}`])));
    });

    it('prefers the canonical name over its aliases, and keeps a numeric id as text', async () => {
      const res = await postJson(
        url,
        { project: 'aliases', output: 'o', id: 'log-alias-mix', chatId: 'chat-2', sessionId: 'sess-1', customerId: 12345, userId: 'u-1', agentId: 'a-1' },
        { authorization: `Bearer ${SECOND_KEY}` },
      );
      expect(res.status).toBe(200);
      const [row] = await rowsOf('log-alias-mix');
      expect([row.SpanAttributes['gen_ai.conversation.id'], row.SpanAttributes['tracehouse.subject_id'], row.SpanAttributes['tracehouse.actor_id']]).toEqual(['sess-1', '12345', 'u-1']);
    });
  });

  describe('multi-modal input', () => {
    it('maps text, image, audio and file parts onto GenAI message parts, keeping inputText', async () => {
      const res = await postJson(url, {
        project: 'vision',
        output: 'A cat on a sofa.',
        id: 'log-multimodal',
        inputText: 'Describe the picture',
        input: [
          { type: 'text', text: 'Describe the picture' },
          { type: 'image_url', image_url: { url: 'https://cdn.example.com/cat.png', detail: 'high' } },
          { type: 'image_url', image_url: 'https://cdn.example.com/dog.png' },
          { type: 'image_url', url: 'https://cdn.example.com/bird.png' },
          { type: 'audio_url', audio_url: { url: 'https://cdn.example.com/q.mp3' }, mime_type: 'audio/mpeg' },
          { type: 'file_url', file_url: { url: 'https://cdn.example.com/spec.pdf' }, mimeType: 'application/pdf' },
          { type: 'file_url', url: 'https://cdn.example.com/scan.png', mime_type: 'image/png' },
          { type: 'file_url', file_url: 'https://cdn.example.com/notes' },
        ],
      });
      expect(res.status).toBe(200);
      const [row] = await rowsOf('log-multimodal');
      const expected = [
        {
          role: 'user',
          parts: [
            { type: 'text', content: 'Describe the picture' },
            { type: 'uri', modality: 'image', uri: 'https://cdn.example.com/cat.png' },
            { type: 'uri', modality: 'image', uri: 'https://cdn.example.com/dog.png' },
            { type: 'uri', modality: 'image', uri: 'https://cdn.example.com/bird.png' },
            { type: 'uri', modality: 'audio', uri: 'https://cdn.example.com/q.mp3', mime_type: 'audio/mpeg' },
            { type: 'uri', modality: 'document', uri: 'https://cdn.example.com/spec.pdf', mime_type: 'application/pdf' },
            { type: 'uri', modality: 'image', uri: 'https://cdn.example.com/scan.png', mime_type: 'image/png' },
            { type: 'uri', modality: 'document', uri: 'https://cdn.example.com/notes' },
          ],
        },
      ];
      expect(JSON.parse(row.Input)).toEqual(expected);
      expect(row.SpanAttributes['gen_ai.input.messages']).toBe(row.Input);
      expect(row.SpanAttributes['tracehouse.input_text']).toBe('Describe the picture');
    });

    it('uses inputText as the input when no input is given', async () => {
      const res = await postJson(url, { project: 'vision', output: 'ok', id: 'log-input-text', inputText: 'Just the prompt' });
      expect(res.status).toBe(200);
      const [row] = await rowsOf('log-input-text');
      expect(JSON.parse(row.Input)).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'Just the prompt' }] }]);
    });
  });

  describe('attachments', () => {
    const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

    it('records url attachments by reference and writes uploads under their SHA-256, before answering', async () => {
      const pdf = randomBytes(3000);
      const png = randomBytes(1001);
      const res = await postJson(url, {
        project: 'files',
        output: 'Read both.',
        id: 'log-attachments',
        attachments: [
          { url: 'https://files.example.com/contract.pdf', name: 'contract.pdf', content_type: 'application/pdf' },
          { url: 'https://files.example.com/bare' },
          { upload: pdf.toString('base64'), filename: 'invoice.pdf', mimeType: 'application/pdf' },
          // MIME base64 wraps lines; a data: URL names the type.
          { upload: `data:image/png;base64,${png.toString('base64').replace(/(.{76})/g, '$1\r\n')}` },
        ],
      });
      expect(res.status).toBe(200);
      const [row] = await rowsOf('log-attachments');
      expect(JSON.parse(row.SpanAttributes['tracehouse.attachments'])).toEqual([
        { source: 'url', url: 'https://files.example.com/contract.pdf', name: 'contract.pdf', content_type: 'application/pdf' },
        { source: 'url', url: 'https://files.example.com/bare' },
        { source: 'upload', ref: `sha256:${sha256(pdf)}`, size_bytes: 3000, content_type: 'application/pdf', name: 'invoice.pdf' },
        { source: 'upload', ref: `sha256:${sha256(png)}`, size_bytes: 1001, content_type: 'image/png' },
      ]);
      expect(row.SpanAttributes['tracehouse.attachment_count']).toBe('4');
      expect(readFileSync(path.join(attachmentsDir, sha256(pdf)))).toEqual(pdf);
      expect(readFileSync(path.join(attachmentsDir, sha256(png)))).toEqual(png);
      // No temporary files are left behind.
      expect(readdirSync(attachmentsDir).sort()).toEqual([sha256(pdf), sha256(png)].sort());

      // The same bytes in another log are the same file.
      const again = await postJson(url, { project: 'files', output: 'Again.', id: 'log-attachments-2', attachments: [{ upload: pdf.toString('base64') }] });
      expect(again.status).toBe(200);
      const [second] = await rowsOf('log-attachments-2');
      expect(JSON.parse(second.SpanAttributes['tracehouse.attachments'])).toEqual([
        { source: 'upload', ref: `sha256:${sha256(pdf)}`, size_bytes: 3000, content_type: 'application/octet-stream' },
      ]);
      expect(readdirSync(attachmentsDir)).toHaveLength(2);
    });

    it('accepts an upload of exactly 10 MiB and refuses one byte more with 422, storing nothing', async () => {
      const limit = Buffer.alloc(10 * MiB, 7);
      const ok = await postJson(url, { project: 'files', output: 'big', id: 'log-upload-10mib', attachments: [{ upload: limit.toString('base64') }] });
      expect(ok.status).toBe(200);
      const [row] = await rowsOf('log-upload-10mib');
      expect(JSON.parse(row.SpanAttributes['tracehouse.attachments'])[0].size_bytes).toBe(10 * MiB);
      expect(readFileSync(path.join(attachmentsDir, sha256(limit))).equals(limit)).toBe(true);

      const over = Buffer.alloc(10 * MiB + 1, 9);
      const res = await postJson(url, { project: 'files', output: 'too big', id: 'log-upload-over', attachments: [{ url: 'https://x.example/a' }, { upload: over.toString('base64') }] });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('RCV_VALIDATION');
      expect(res.body.fields).toEqual([{ field: 'attachments[1].upload', message: `must be at most ${10 * MiB} bytes after base64 decoding (is ${10 * MiB + 1})`, code: 'too_big' }]);
      expect(await countOf('log-upload-over')).toBe(0);
      expect(readdirSync(attachmentsDir)).not.toContain(sha256(over));
    });
  });

  describe('validation', () => {
    it('refuses an output over 50,000 characters and accepts one of exactly 50,000', async () => {
      const tooLong = await postJson(url, { project: 'p', output: 'x'.repeat(50_001), id: 'log-output-long' });
      expect(tooLong.status).toBe(422);
      expect(tooLong.body.fields).toEqual([{ field: 'output', message: 'must be at most 50000 characters', code: 'too_long' }]);
      expect(await countOf('log-output-long')).toBe(0);
      const longest = await postJson(url, { project: 'p', output: 'x'.repeat(50_000), id: 'log-output-max' });
      expect(longest.status).toBe(200);
      expect(await countOf('log-output-max')).toBe(1);
    });

    it('refuses a confidence outside 0..1', async () => {
      for (const confidence of [1.5, -0.1]) {
        const res = await postJson(url, { project: 'p', output: 'o', confidence });
        expect(res.status).toBe(422);
        expect(res.body.fields).toEqual([{ field: 'confidence', message: 'must be between 0 and 1', code: 'too_big' }].map((f) => (confidence < 0 ? { ...f, code: 'too_small' } : f)));
      }
    });

    it('refuses a timestamp that is not ISO 8601 with a time zone', async () => {
      const res = await postJson(url, { project: 'p', output: 'o', timestamp: '15/11/2024 10:30' });
      expect(res.status).toBe(422);
      expect(res.body.fields).toEqual([{ field: 'timestamp', message: expect.stringContaining('ISO 8601'), code: 'invalid' }]);
    });

    it('refuses an input that is neither text nor an array of content parts', async () => {
      const res = await postJson(url, { project: 'p', output: 'o', input: { text: 'hi' } });
      expect(res.status).toBe(422);
      expect(res.body.fields).toEqual([{ field: 'input', message: expect.stringContaining('must be a string or an array of content parts'), code: 'invalid' }]);
    });

    it('names project and output when both are missing', async () => {
      const res = await postJson(url, { task: 'only a task' });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        error: expect.stringContaining('invalid request body'),
        code: 'RCV_VALIDATION',
        fields: [
          { field: 'project', message: expect.any(String), code: 'required' },
          { field: 'output', message: expect.any(String), code: 'required' },
        ],
      });
    });

    it('lists every failing field at once and stores nothing', async () => {
      const res = await postJson(url, {
        id: 'log-many-bad',
        project: 'p'.repeat(129),
        output: 42,
        task: '',
        latencyMs: -1,
        costUsd: -0.5,
        input: [{ type: 'text' }, { type: 'video_url', url: 'x' }, { type: 'image_url' }],
        attachments: [{}, { url: 'ftp://files.example.com/a' }, { upload: 'not base64!' }, { url: 'https://a.example/b', upload: 'AAAA' }],
        callbackUrl: '/relative/path',
        callbackEvents: 'sometimes',
        metadata: ['not', 'an', 'object'],
        sync: 'yes',
        conversationId: '',
        customerId: true,
      });
      expect(res.status).toBe(422);
      expect(res.body.fields.map((f: { field: string; code: string }) => [f.field, f.code])).toEqual([
        ['project', 'too_long'],
        ['output', 'invalid_type'],
        ['task', 'too_short'],
        ['latencyMs', 'too_small'],
        ['costUsd', 'too_small'],
        ['input[0].text', 'required'],
        ['input[1].type', 'invalid'],
        ['input[2].image_url', 'invalid'],
        ['attachments[0].url', 'invalid'],
        ['attachments[1].url', 'invalid'],
        ['attachments[2].upload', 'invalid'],
        ['attachments[3].url', 'invalid'],
        ['callbackUrl', 'invalid'],
        ['callbackEvents', 'invalid_value'],
        ['metadata', 'invalid_type'],
        ['sync', 'invalid_type'],
        ['conversationId', 'too_short'],
        ['customerId', 'invalid_type'],
      ]);
      expect(res.body.fields.find((f: { field: string }) => f.field === 'customerId').message).toBe('must be a string or a number');
      expect(res.body.fields.find((f: { field: string }) => f.field === 'callbackEvents').message).toBe('must be one of all, flagged_error, decisions, flagged_error_decisions, pass');
      expect(await countOf('log-many-bad')).toBe(0);
    });

    it('refuses a body that is not a JSON object, not JSON, or not application/json', async () => {
      const array = await postJson(url, '[1]');
      expect(array.status).toBe(422);
      expect(array.body.code).toBe('RCV_VALIDATION');
      const broken = await postJson(url, '{"project":');
      expect(broken.status).toBe(400);
      expect(broken.body.code).toBe('RCV_BAD_JSON');
      const form = await postJson(url, 'project=p', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(form.status).toBe(415);
    });
  });

  describe('idempotent writes', () => {
    it('stores a log sent twice with the same id once and answers the first answer again', async () => {
      const log = { id: 'log-retry-7', project: 'p', output: 'first', sync: true };
      const first = await postJson(url, log);
      const again = await postJson(url, log);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ ok: true, id: 'log-retry-7', status: 'pass', verdict: { pass: true, rules: [] } });
      expect(again.status).toBe(200);
      expect(again.text).toBe(first.text);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      // A different body under the same id is the same log: the first one stands.
      const changed = await postJson(url, { ...log, output: 'second' });
      expect(changed.status).toBe(200);
      expect(changed.text).toBe(first.text);
      const rows = await rowsOf('log-retry-7');
      expect(rows.map((r) => r.Output)).toEqual([outputMessages('first')]);
    });
  });

  describe('authentication', () => {
    it('answers 401 without a key or with an unknown key, and 403 for a key of another receiver', async () => {
      const missing = await postJson(url, { project: 'p', output: 'o' }, { authorization: '' });
      expect(missing.status).toBe(401);
      expect(missing.body).toEqual({ error: expect.stringContaining('missing API key'), code: 'RCV_UNAUTHENTICATED' });
      const unknown = await postJson(url, { project: 'p', output: 'o' }, { authorization: 'Bearer wh-not-a-key' });
      expect(unknown.status).toBe(401);
      expect(unknown.body.code).toBe('RCV_UNAUTHENTICATED');
      const forbidden = await postJson(url, { project: 'p', output: 'o', id: 'log-forbidden' }, { authorization: `Bearer ${EVENTS_ONLY_KEY}` });
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.code).toBe('RCV_FORBIDDEN');
      expect(await countOf('log-forbidden')).toBe(0);
    });

    it('answers 405 to other methods', async () => {
      const res = await fetch(url, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    });
  });
});

describe('logs receiver limits and failures', () => {
  const database = uniqueDatabase('logs_limits');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-logs-'));
  const notADirectory = path.join(tmp, 'file');
  let daemon: TestDaemon;
  let url: string;

  beforeAll(async () => {
    writeFileSync(notADirectory, 'a file where the attachments directory should be');
    daemon = await startDaemon(
      ingestPipelineYaml({
        // An hour-long window, so that no window boundary falls between the requests below.
        receivers: { logs: ['rate_limit: { limit: 3, window_seconds: 3600 }', `attachments_dir: ${JSON.stringify(path.join(notADirectory, 'attachments'))}`] },
        database,
      }),
    );
    url = `${daemon.receiverUrl('logs')}/api/logs`;
  });
  afterAll(async () => {
    await daemon.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('answers 503 when an upload cannot be stored durably, and stores no log', async () => {
    const res = await postJson(url, { project: 'p', output: 'o', id: 'log-store-fails', attachments: [{ upload: Buffer.from('hello').toString('base64') }] });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: expect.stringContaining('could not store an attachment'), code: 'RCV_ATTACHMENT_STORE_FAILED' });
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('2');
    const rows = await queryRows<{ n: number }>(daemon, `SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] = 'log-store-fails'`, database);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('limits requests per key with X-RateLimit-* headers, then answers 429 with Retry-After and an error message', async () => {
    const second = await postJson(url, { project: 'p', output: 'o' });
    expect(second.status).toBe(200);
    expect(second.headers.get('x-ratelimit-limit')).toBe('3');
    expect(second.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(Number(second.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    const third = await postJson(url, { project: 'p', output: 'o' });
    expect(third.status).toBe(200);
    expect(third.headers.get('x-ratelimit-remaining')).toBe('0');
    const limited = await postJson(url, { project: 'p', output: 'o', id: 'log-limited' });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: expect.stringContaining('Too many requests'), code: 'RCV_RATE_LIMITED' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('3');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    const rows = await queryRows<{ n: number }>(daemon, `SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] = 'log-limited'`, database);
    expect(rows).toEqual([{ n: 0 }]);
  });
});
