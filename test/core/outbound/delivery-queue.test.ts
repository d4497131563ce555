import { silentLogger } from '../../../core/logger';
import { outboundConfigSchema, type OutboundConfig } from '../../../core/outbound/config';
import { DeliveryQueue, type DeliveryOutcome } from '../../../core/outbound/delivery-queue';
import { postJson } from '../../../core/outbound/post-json';
import { LocalReceiver, waitFor } from './local-receiver';

interface Item {
  n: number;
}

const config = (overrides: Partial<OutboundConfig> = {}): OutboundConfig =>
  outboundConfigSchema.parse({ allow_private_addresses: true, initial_backoff_ms: 1, max_backoff_ms: 5, ...overrides });

/** A queue posting items to the receiver, recording outcomes and receiver answers in one ordered log. */
function queueTo(receiver: LocalReceiver, cfg: OutboundConfig, events: string[], concurrency?: number) {
  return new DeliveryQueue<Item>({
    name: 'test',
    config: cfg,
    logger: silentLogger(),
    concurrency,
    send: async (item, signal) => {
      try {
        const { status } = await postJson(receiver.url(), item, { allowPrivateAddresses: cfg.allow_private_addresses, timeoutMs: cfg.timeout_ms, signal });
        events.push(`answer:${item.n}:${status}`);
      } catch (err) {
        events.push(`answer:${item.n}:${(err as { status?: number }).status ?? (err as { code: string }).code}`);
        throw err;
      }
    },
    onOutcome: (outcome: DeliveryOutcome, item) => events.push(`${outcome}:${item.n}`),
  });
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('DeliveryQueue', () => {
  let receiver: LocalReceiver;
  beforeEach(async () => {
    receiver = await LocalReceiver.start();
  });
  afterEach(() => receiver.stop());

  it('applies the documented defaults', () => {
    expect(outboundConfigSchema.parse({})).toEqual({
      allow_private_addresses: false,
      timeout_ms: 10_000,
      max_attempts: 5,
      initial_backoff_ms: 500,
      max_backoff_ms: 60_000,
      max_pending: 10_000,
    });
    expect(() => outboundConfigSchema.parse({ retries: 3 })).toThrow();
    expect(() => outboundConfigSchema.parse({ initial_backoff_ms: 10, max_backoff_ms: 5 })).toThrow();
  });

  it('retries after a 500 and then delivers', async () => {
    receiver.answer({ status: 500 });
    const events: string[] = [];
    const queue = queueTo(receiver, config(), events);
    expect(queue.enqueue({ n: 1 })).toBe(true);
    await waitFor(() => events.includes('delivered:1'), 'delivery');
    expect(events).toEqual(['answer:1:500', 'retried:1', 'answer:1:200', 'delivered:1']);
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests.map((r) => JSON.parse(r.body))).toEqual([{ n: 1 }, { n: 1 }]);
    expect(queue.pending).toBe(0);
    await queue.shutdown(1000);
  });

  it.each([429, 503])('honours Retry-After on a %i instead of its own (very long) backoff', async (status) => {
    // With a ten-minute backoff the retry could only arrive within the deadline through Retry-After.
    receiver.answer({ status, headers: { 'retry-after': '0' } });
    const events: string[] = [];
    const queue = queueTo(receiver, config({ initial_backoff_ms: 600_000, max_backoff_ms: 600_000 }), events);
    queue.enqueue({ n: 2 });
    await waitFor(() => events.includes('delivered:2'), 'delivery after Retry-After');
    expect(events).toEqual([`answer:2:${status}`, 'retried:2', 'answer:2:200', 'delivered:2']);
    await queue.shutdown(1000);
  });

  it('gives up after max_attempts with "failed"', async () => {
    receiver.answer({ status: 500 }, { status: 502 }, { status: 503 }, { status: 500 });
    const events: string[] = [];
    const queue = queueTo(receiver, config({ max_attempts: 3 }), events);
    queue.enqueue({ n: 3 });
    await waitFor(() => events.includes('failed:3'), 'giving up');
    expect(events).toEqual(['answer:3:500', 'retried:3', 'answer:3:502', 'retried:3', 'answer:3:503', 'failed:3']);
    expect(receiver.requests).toHaveLength(3);
    expect(queue.pending).toBe(0);
    await queue.shutdown(1000);
  });

  it('does not retry what cannot succeed (a 400, a refused address)', async () => {
    receiver.answer({ status: 400 });
    const events: string[] = [];
    const queue = queueTo(receiver, config(), events);
    queue.enqueue({ n: 4 });
    await waitFor(() => events.includes('failed:4'), 'giving up');
    expect(events).toEqual(['answer:4:400', 'failed:4']);

    const refusedEvents: string[] = [];
    const refusing = queueTo(receiver, config({ allow_private_addresses: false }), refusedEvents);
    refusing.enqueue({ n: 5 });
    await waitFor(() => refusedEvents.includes('failed:5'), 'giving up');
    expect(refusedEvents).toEqual(['answer:5:OUT_ADDRESS_REFUSED', 'failed:5']);
    expect(receiver.requests).toHaveLength(1);
    await Promise.all([queue.shutdown(1000), refusing.shutdown(1000)]);
  });

  it('retries errors it does not know (not OutboundError)', async () => {
    const events: string[] = [];
    let calls = 0;
    const queue = new DeliveryQueue<Item>({
      name: 'test',
      config: config(),
      logger: silentLogger(),
      send: async () => {
        calls++;
        if (calls === 1) throw new Error('unexpected');
      },
      onOutcome: (outcome, item) => events.push(`${outcome}:${item.n}`),
    });
    queue.enqueue({ n: 6 });
    await waitFor(() => events.includes('delivered:6'), 'delivery');
    expect(events).toEqual(['retried:6', 'delivered:6']);
    await queue.shutdown(1000);
  });

  it('drops (and counts) what exceeds max_pending, never blocking the caller', async () => {
    const held = gate();
    receiver.answer({ status: 200, hold: held.promise }, { status: 200, hold: held.promise });
    const events: string[] = [];
    const queue = queueTo(receiver, config({ max_pending: 2 }), events, 1);
    expect(queue.enqueue({ n: 1 })).toBe(true);
    expect(queue.enqueue({ n: 2 })).toBe(true);
    expect(queue.enqueue({ n: 3 })).toBe(false);
    expect(queue.pending).toBe(2);
    expect(events).toEqual(['dropped:3']);
    held.open();
    await waitFor(() => events.includes('delivered:2'), 'the queued deliveries');
    expect(events.filter((e) => !e.startsWith('answer'))).toEqual(['dropped:3', 'delivered:1', 'delivered:2']);
    await queue.shutdown(1000);
  });

  it('shutdown sends what is queued, waits for what is in flight, then refuses new items', async () => {
    const held = gate();
    receiver.answer(...Array.from({ length: 5 }, () => ({ status: 200, hold: held.promise })));
    const events: string[] = [];
    const queue = queueTo(receiver, config(), events, 2);
    for (let n = 1; n <= 5; n++) queue.enqueue({ n });
    await waitFor(() => receiver.requests.length === 2, 'two requests in flight');
    const stopped = queue.shutdown(20_000);
    held.open();
    await stopped;
    expect(events.filter((e) => e.startsWith('delivered')).sort()).toEqual(['delivered:1', 'delivered:2', 'delivered:3', 'delivered:4', 'delivered:5']);
    expect(queue.pending).toBe(0);
    expect(queue.enqueue({ n: 6 })).toBe(false);
    expect(events.at(-1)).toBe('dropped:6');
  });

  it('shutdown stops pending retries', async () => {
    receiver.answer({ status: 500 });
    const events: string[] = [];
    const queue = queueTo(receiver, config({ initial_backoff_ms: 600_000, max_backoff_ms: 600_000 }), events);
    queue.enqueue({ n: 7 });
    await waitFor(() => events.includes('retried:7'), 'a scheduled retry');
    await queue.shutdown(20_000);
    expect(events).toEqual(['answer:7:500', 'retried:7', 'failed:7']);
    expect(queue.pending).toBe(0);
    expect(receiver.requests).toHaveLength(1);
  });

  it('shutdown past its deadline aborts in-flight sends and drops what was never attempted', async () => {
    const held = gate();
    receiver.answer({ status: 200, hold: held.promise });
    const events: string[] = [];
    const queue = queueTo(receiver, config(), events, 1);
    queue.enqueue({ n: 8 });
    queue.enqueue({ n: 9 });
    await waitFor(() => receiver.requests.length === 1, 'the first request in flight');
    await queue.shutdown(100);
    held.open();
    expect(events).toEqual(['dropped:9', 'answer:8:OUT_ABORTED', 'failed:8']);
    expect(queue.pending).toBe(0);
  });
});
