import { createHmac } from 'node:crypto';
import { OutboundError, postJson } from '../../../core/outbound/post-json';
import { LocalReceiver, waitFor } from './local-receiver';

const SECRET = 'cb_secret_post_json_9a7e';
const open = { allowPrivateAddresses: true, timeoutMs: 10_000 };
const guarded = { allowPrivateAddresses: false, timeoutMs: 10_000 };

async function failure(call: Promise<unknown>): Promise<OutboundError> {
  try {
    await call;
  } catch (err) {
    expect(err).toBeInstanceOf(OutboundError);
    return err as OutboundError;
  }
  throw new Error('expected the call to fail');
}

describe('postJson', () => {
  let receiver: LocalReceiver;
  beforeAll(async () => {
    receiver = await LocalReceiver.start();
  });
  afterAll(() => receiver.stop());
  beforeEach(() => {
    receiver.requests.length = 0;
  });

  it('POSTs JSON with the given headers and resolves with the 2xx status', async () => {
    receiver.answer({ status: 202 });
    await expect(postJson(receiver.url('/hook?x=1'), { a: 1, big: 2n ** 64n, small: 5n }, { ...open, headers: { 'x-extra': 'yes' } })).resolves.toEqual({ status: 202 });
    expect(receiver.requests).toHaveLength(1);
    const [req] = receiver.requests;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/hook?x=1');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-extra']).toBe('yes');
    expect(JSON.parse(req.body)).toEqual({ a: 1, big: '18446744073709551616', small: 5 });
    expect(req.headers['x-tracehouse-signature']).toBeUndefined();
  });

  it('signs the exact body with X-Tracehouse-Timestamp and X-Tracehouse-Signature', async () => {
    await postJson(receiver.url(), { event: 'evaluation.completed', id: 'log-1' }, { ...open, signingSecret: SECRET });
    const [req] = receiver.requests;
    const timestamp = String(req.headers['x-tracehouse-timestamp']);
    expect(timestamp).toMatch(/^\d+$/);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(300);
    const expected = createHmac('sha256', SECRET).update(`${timestamp}.${req.body}`).digest('hex');
    expect(req.headers['x-tracehouse-signature']).toBe(`v1=${expected}`);
  });

  it.each([
    ['127.0.0.1 literal', (port: number) => `http://127.0.0.1:${port}/hook`],
    ['::1 literal', (port: number) => `http://[::1]:${port}/hook`],
    ['IPv4-mapped loopback literal', (port: number) => `http://[::ffff:127.0.0.1]:${port}/hook`],
    ['localhost (resolves to loopback)', (port: number) => `http://localhost:${port}/hook`],
  ])('refuses %s unless private addresses are allowed, without connecting', async (_what, url) => {
    const err = await failure(postJson(url(receiver.port), { a: 1 }, guarded));
    expect(err.code).toBe('OUT_ADDRESS_REFUSED');
    expect(err.retryable).toBe(false);
    expect(err.message).not.toContain('/hook');
    expect(receiver.requests).toHaveLength(0);
  });

  it('reaches localhost when private addresses are allowed', async () => {
    await expect(postJson(`http://localhost:${receiver.port}/hook`, { a: 1 }, open)).resolves.toEqual({ status: 200 });
    expect(receiver.requests).toHaveLength(1);
  });

  it.each(['ftp://example.com/x', 'file:///etc/passwd', 'not a url', '/relative/path'])('refuses the URL %s', async (url) => {
    const err = await failure(postJson(url, {}, open));
    expect(err.code).toBe('OUT_BAD_URL');
    expect(err.retryable).toBe(false);
  });

  it('does not follow a redirect: a 302 is a failure carrying the status', async () => {
    receiver.answer({ status: 302, headers: { location: receiver.url('/elsewhere') } });
    const err = await failure(postJson(receiver.url('/hook'), {}, open));
    expect(err).toMatchObject({ code: 'OUT_HTTP_STATUS', status: 302, retryable: false });
    expect(receiver.requests.map((r) => r.url)).toEqual(['/hook']);
  });

  it.each([
    [500, true],
    [503, true],
    [429, true],
    [408, true],
    [400, false],
    [404, false],
  ])('a %i answer fails with retryable=%s', async (status, retryable) => {
    receiver.answer({ status });
    const err = await failure(postJson(receiver.url(), {}, open));
    expect(err).toMatchObject({ code: 'OUT_HTTP_STATUS', status, retryable });
  });

  it('reads Retry-After on 429 and 503', async () => {
    receiver.answer({ status: 429, headers: { 'retry-after': '7' } }, { status: 503, headers: { 'retry-after': '0' } }, { status: 500, headers: { 'retry-after': '9' } });
    expect((await failure(postJson(receiver.url(), {}, open))).retryAfterMs).toBe(7000);
    expect((await failure(postJson(receiver.url(), {}, open))).retryAfterMs).toBe(0);
    expect((await failure(postJson(receiver.url(), {}, open))).retryAfterMs).toBeUndefined();
  });

  it('fails with OUT_TIMEOUT (retryable) when no answer comes in time', async () => {
    let release!: () => void;
    receiver.answer({ status: 200, hold: new Promise<void>((resolve) => (release = resolve)) });
    const err = await failure(postJson(receiver.url(), {}, { ...open, timeoutMs: 200 }));
    release();
    expect(err).toMatchObject({ code: 'OUT_TIMEOUT', retryable: true });
  });

  it('fails with OUT_ABORTED (not retryable) when the caller aborts', async () => {
    let release!: () => void;
    receiver.answer({ status: 200, hold: new Promise<void>((resolve) => (release = resolve)) });
    const controller = new AbortController();
    const call = failure(postJson(receiver.url(), {}, { ...open, signal: controller.signal }));
    await waitFor(() => receiver.requests.length === 1, 'the request to arrive');
    controller.abort();
    const err = await call;
    release();
    expect(err).toMatchObject({ code: 'OUT_ABORTED', retryable: false });
  });

  it('fails with OUT_NETWORK (retryable) when nothing listens', async () => {
    const gone = await LocalReceiver.start();
    const url = gone.url();
    await gone.stop();
    const err = await failure(postJson(url, {}, open));
    expect(err).toMatchObject({ code: 'OUT_NETWORK', retryable: true });
  });
});
