import { Idempotency, MemoryIdempotencyStore } from '../../../core/ingest/idempotency';
import type { StoredAnswer } from '../../../core/ingest/idempotency';

const answer = (status: number, body: string): StoredAnswer => ({ status, contentType: 'application/json', body, fingerprint: '' });

describe('idempotency', () => {
  const store = () => new MemoryIdempotencyStore({ ttl_seconds: 60, max_entries: 10 });

  it('runs a key once and replays its answer to repeats with the same body', async () => {
    const idempotency = new Idempotency(store());
    let runs = 0;
    const produce = () => Promise.resolve(answer(200, `{"run":${++runs}}`));
    const first = await idempotency.run('k', Buffer.from('body'), produce);
    const again = await idempotency.run('k', Buffer.from('body'), produce);
    expect(first).toMatchObject({ kind: 'fresh', answer: { body: '{"run":1}' } });
    expect(again).toMatchObject({ kind: 'replayed', answer: { body: '{"run":1}' } });
    expect(runs).toBe(1);
  });

  it('tells a reused key with a different body apart', async () => {
    const idempotency = new Idempotency(store());
    await idempotency.run('k', Buffer.from('one'), () => Promise.resolve(answer(201, '{}')));
    const other = await idempotency.run('k', Buffer.from('two'), () => Promise.resolve(answer(201, '{"x":1}')));
    expect(other).toMatchObject({ kind: 'mismatch', answer: { body: '{}' } });
  });

  it('makes a concurrent repeat wait for the first instead of running twice', async () => {
    const idempotency = new Idempotency(store());
    let runs = 0;
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const produce = async () => {
      runs++;
      await gate;
      return answer(200, '{"stored":true}');
    };
    const a = idempotency.run('k', Buffer.from('b'), produce);
    const b = idempotency.run('k', Buffer.from('b'), produce);
    await new Promise((r) => setImmediate(r));
    finish();
    expect((await Promise.all([a, b])).map((o) => o.kind).sort()).toEqual(['fresh', 'replayed']);
    expect(runs).toBe(1);
  });

  it('does not store failures, so a retry with the same key runs again', async () => {
    const idempotency = new Idempotency(store());
    const failed = await idempotency.run('k', Buffer.from('b'), () => Promise.resolve(answer(503, '{"error":"down"}')));
    expect(failed).toMatchObject({ kind: 'fresh', answer: { status: 503 } });
    const retried = await idempotency.run('k', Buffer.from('b'), () => Promise.resolve(answer(200, '{}')));
    expect(retried).toMatchObject({ kind: 'fresh', answer: { status: 200 } });
  });

  it('bounds the memory store: the least recently used answer goes first', async () => {
    const small = new MemoryIdempotencyStore({ ttl_seconds: 60, max_entries: 2 });
    await small.put('a', answer(200, 'a'));
    await small.put('b', answer(200, 'b'));
    await small.put('c', answer(200, 'c'));
    expect(await small.get('a')).toBeUndefined();
    expect((await small.get('c'))?.body).toBe('c');
  });
});
