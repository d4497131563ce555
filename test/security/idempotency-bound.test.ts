/**
 * The idempotency memory is bounded in bytes (idempotency.max_bytes), and answers too large to
 * keep (idempotency.max_answer_bytes, e.g. JSON:API echoes of a 10 MiB document) leave only the
 * request's digest: a reused key with another body is still refused, the same body is processed
 * again instead of replayed.
 */
import { idempotencyConfigSchema, Idempotency, MemoryIdempotencyStore } from '../../core/ingest/idempotency';
import type { StoredAnswer } from '../../core/ingest/idempotency';
import { ingestPipelineYaml, postJson, queryRows, startDaemon, TEST_API_KEY, uniqueDatabase } from '../support/daemon';

const KiB = 1024;
const answer = (body: string): StoredAnswer => ({ status: 200, contentType: 'application/json', body, fingerprint: '' });

describe('MemoryIdempotencyStore', () => {
  it('defaults to 16 MiB per receiver and 1 MiB per answer', () => {
    expect(idempotencyConfigSchema.parse({})).toEqual({ ttl_seconds: 86_400, max_entries: 100_000, max_bytes: 16 * KiB * KiB, max_answer_bytes: KiB * KiB });
    expect(idempotencyConfigSchema.safeParse({ max_bytes: 1000, max_answer_bytes: 2000 }).success).toBe(false);
  });

  it('keeps at most max_bytes of answers, dropping the least recently used', async () => {
    const store = new MemoryIdempotencyStore({ ttl_seconds: 60, max_entries: 100_000, max_bytes: 64 * KiB, max_answer_bytes: 16 * KiB });
    const body = 'x'.repeat(4 * KiB);
    for (let i = 0; i < 100; i++) await store.put(`key-${i}`, answer(body));
    // 100 answers of ~8 KiB each (two bytes a character) would take ~800 KiB.
    expect(store.bytes).toBeLessThanOrEqual(64 * KiB);
    expect(store.size).toBeGreaterThan(0);
    expect(store.size).toBeLessThan(100);
    expect(await store.get('key-0')).toBeUndefined();
    expect((await store.get('key-99'))?.body).toBe(body);
  });

  it('keeps only the digest of an answer over max_answer_bytes', async () => {
    const store = new MemoryIdempotencyStore({ ttl_seconds: 60, max_entries: 10, max_bytes: 64 * KiB, max_answer_bytes: 8 * KiB });
    await store.put('big', { ...answer('y'.repeat(100 * KiB)), fingerprint: 'f'.repeat(64) });
    expect(await store.get('big')).toEqual({ status: 200, contentType: '', body: '', fingerprint: 'f'.repeat(64), digestOnly: true });
    expect(store.bytes).toBeLessThan(KiB);
  });

  it('a digest-only key: the same body runs again, another body is a mismatch', async () => {
    const idempotency = new Idempotency(new MemoryIdempotencyStore({ ttl_seconds: 60, max_entries: 10, max_bytes: 64 * KiB, max_answer_bytes: 8 * KiB }));
    let runs = 0;
    const produce = () => Promise.resolve(answer(`${++runs}`.padEnd(20 * KiB, '.')));
    expect((await idempotency.run('k', Buffer.from('body'), produce)).kind).toBe('fresh');
    expect((await idempotency.run('k', Buffer.from('body'), produce)).kind).toBe('fresh');
    expect(runs).toBe(2);
    expect((await idempotency.run('k', Buffer.from('other body'), produce)).kind).toBe('mismatch');
    expect(runs).toBe(2);
  });
});

describe('idempotency bounds in a running daemon', () => {
  it('replays small answers, refuses a reused key, and processes a large answer\'s repeat again', async () => {
    const database = uniqueDatabase('idem');
    const daemon = await startDaemon(
      ingestPipelineYaml({
        database,
        receivers: {
          logs: ['idempotency: { max_bytes: 65536, max_answer_bytes: 2048 }', 'rate_limit: none'],
          jsonapi: ['idempotency: { max_bytes: 65536, max_answer_bytes: 2048 }', 'rate_limit: none'],
        },
      }),
    );
    try {
      const base = daemon.receiverUrl('logs');
      // A log answer is small: replayed byte for byte.
      const log = { project: 'p', output: 'o' };
      const first = await postJson(`${base}/api/logs`, log, { 'idempotency-key': 'log-1' });
      const again = await postJson(`${base}/api/logs`, log, { 'idempotency-key': 'log-1' });
      expect(first.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.text).toBe(first.text);

      // A JSON:API answer echoes the document: over 2 KiB, only the digest is kept.
      const doc = (name: string) => ({ data: { type: 'trace', id: 'trace_big_1', attributes: { name, project: 'p', environment: 'prod', metadata: { pad: 'z'.repeat(4 * KiB) } } } });
      const jsonapi = (body: unknown, key: string) =>
        fetch(`${base}/instrumentation/tracing/v1/`, {
          method: 'POST',
          headers: { 'content-type': 'application/vnd.api+json', authorization: `Bearer ${TEST_API_KEY}`, 'idempotency-key': key },
          body: JSON.stringify(body),
        });
      const created = await jsonapi(doc('one'), 'doc-1');
      const createdText = await created.text();
      expect({ status: created.status, createdText: createdText.slice(0, 300) }).toMatchObject({ status: 201 });
      expect(createdText.length).toBeGreaterThan(2 * KiB);
      const repeat = await jsonapi(doc('one'), 'doc-1');
      expect(repeat.status).toBe(201);
      expect(repeat.headers.get('idempotent-replayed')).toBeNull();
      const reused = await jsonapi(doc('two'), 'doc-1');
      expect(reused.status).toBe(422);
      expect(await reused.text()).toMatch(/RCV_IDEMPOTENCY_MISMATCH|already used/);
      // Processed twice, stored under the same ids: one row at query time.
      const rows = await queryRows(daemon, `SELECT SpanId FROM otel_traces FINAL WHERE SpanAttributes['jsonapi.type'] = 'trace'`, database);
      expect(rows).toHaveLength(1);
    } finally {
      await daemon.stop();
    }
  });
});
