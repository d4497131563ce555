/**
 * Slow request bodies on the default config: clients that announce a large body, send part of it
 * and stall hold only the bytes they sent, bodies still arriving cannot take the whole in-flight
 * budget, stalled and trickling bodies are cut with 408 and their budget released, and a request
 * without a valid key is refused before its body is read. A normal OTLP request keeps getting 200.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { closeGrpcClients, exportCall, grpcClient, grpcPort } from '../support/otlp-grpc-client';
import { encodeTraceRequestProto } from '../../core/otlp/encode';
import { makeSpan } from '../../core/span';
import { DEFAULT_CONFIG_KEY } from '../support/default-daemon';
import type { TestDaemon } from '../support/daemon';
import { waitFor } from '../support/wait';
import { ANCHOR, addOptions, metric, portOf, startListenerDaemon } from './support/listener-daemon';

const MiB = 1024 * 1024;

interface SlowClient {
  socket: net.Socket;
  /** Everything the server sent, once it closed the connection (or the client did). */
  answer: Promise<string>;
  /** Sends more body bytes. */
  send(bytes: Buffer): Promise<void>;
}

/** Opens a connection, sends the request head (declaring `declared` body bytes) and `first` body bytes, and stalls. */
async function slowRequest(url: string, path: string, declared: number, first: Buffer, headers: Record<string, string> = {}): Promise<SlowClient> {
  const port = portOf(url);
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let text = '';
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', () => undefined); // a reset after the answer is fine: the answer is what counts
  });
  const all = { Host: `127.0.0.1:${port}`, 'Content-Type': 'application/x-protobuf', 'Content-Length': String(declared), ...headers };
  const head = [`POST ${path} HTTP/1.1`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  const send = (bytes: Buffer) => new Promise<void>((resolve) => socket.write(bytes, () => resolve()));
  await send(Buffer.from(head, 'latin1'));
  if (first.length > 0) void send(first);
  return { socket, answer, send };
}

let spanCounter = 0;
async function normalOtlp(daemon: TestDaemon): Promise<number> {
  spanCounter += 1;
  const traceId = `51b0${process.pid.toString(16).padStart(8, '0')}${spanCounter.toString(16).padStart(20, '0')}`;
  const body = encodeTraceRequestProto([makeSpan({ traceId, spanId: '00000000000000b1', name: 'chat', startTimeUnixNano: 1_763_900_000_000_000_000n, endTimeUnixNano: 1_763_900_000_100_000_000n })]);
  const res = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
  await res.arrayBuffer();
  return res.status;
}

const inflight = (daemon: TestDaemon, receiver = 'otlp') => metric(daemon, 'tracehouse_receiver_inflight_bytes', { receiver });
const receiving = (daemon: TestDaemon, receiver = 'otlp') => metric(daemon, 'tracehouse_receiver_receiving_bytes', { receiver });
const statusLine = (answer: string) => answer.split('\r\n')[0];

describe('slow bodies on the default config', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    ({ daemon } = await startListenerDaemon());
  });
  afterAll(() => daemon.stop());

  it('seven stalled 20 MiB uploads hold only what they sent; a normal request gets 200; the default idle timeout cuts them with 408 and frees the budget', async () => {
    const url = daemon.receiverUrl('otlp');
    const stalled = await Promise.all(Array.from({ length: 7 }, () => slowRequest(url, '/v1/traces', 20 * MiB, Buffer.alloc(MiB, 7))));
    // The server has read what they sent: 7 MiB arriving, nothing of the 140 MiB they announced.
    await waitFor('the stalled bodies to be read', async () => (await receiving(daemon)) >= 7 * MiB);
    expect(await inflight(daemon)).toBeLessThan(8 * MiB);
    expect(await normalOtlp(daemon)).toBe(200);
    // body_idle_timeout_ms (10 s by default): each gets 408 and its connection is closed.
    const answers = await Promise.all(stalled.map((c) => c.answer));
    for (const answer of answers) {
      expect(statusLine(answer)).toBe('HTTP/1.1 408 Request Timeout');
      expect(answer).toMatch(/no request body byte received/);
    }
    await waitFor('the budget to be released', async () => (await inflight(daemon)) === 0 && (await receiving(daemon)) === 0);
    expect(await metric(daemon, 'tracehouse_receiver_requests_total', { receiver: 'otlp', outcome: 'body_timeout' })).toBe(7);
    expect(await normalOtlp(daemon)).toBe(200);
  });

  it('bodies still arriving cannot take the whole budget: the surplus is refused with 429 and a normal request gets 200', async () => {
    const url = daemon.receiverUrl('otlp');
    const before = await metric(daemon, 'tracehouse_receiver_requests_total', { receiver: 'otlp', outcome: 'inflight_limit' });
    const chunk = Buffer.alloc(17 * MiB, 9);
    // 6 x 17 MiB = 102 MiB sent, more than the 96 MiB (3/4 of 128 MiB) bodies still arriving may hold.
    const clients = await Promise.all(Array.from({ length: 6 }, () => slowRequest(url, '/v1/traces', 20 * MiB, chunk)));
    try {
      await waitFor('a body to be refused while arriving', async () => (await metric(daemon, 'tracehouse_receiver_requests_total', { receiver: 'otlp', outcome: 'inflight_limit' })) > before);
      expect(await receiving(daemon)).toBeLessThanOrEqual(96 * MiB);
      expect(await normalOtlp(daemon)).toBe(200);
    } finally {
      for (const c of clients) c.socket.destroy();
    }
    // A client that goes away gives its bytes back at once.
    await waitFor('the budget to be released', async () => (await inflight(daemon)) === 0 && (await receiving(daemon)) === 0);
    expect(await normalOtlp(daemon)).toBe(200);
  });

  it('refuses a JSON ingest request without a valid key before reading its body', async () => {
    const url = daemon.receiverUrl('native');
    const held = await slowRequest(url, '/api/traces', 5 * MiB, Buffer.alloc(0), { 'Content-Type': 'application/json' });
    const wrongKey = await slowRequest(url, '/api/traces', 5 * MiB, Buffer.alloc(0), { Authorization: 'Bearer not-the-key-000000000000' });
    // Answered (and closed) with no body byte sent.
    expect(statusLine(await held.answer)).toBe('HTTP/1.1 401 Unauthorized');
    expect(statusLine(await wrongKey.answer)).toBe('HTTP/1.1 401 Unauthorized');
    expect(await receiving(daemon, 'native')).toBe(0);
    expect(await normalOtlp(daemon)).toBe(200);
  });
});

describe('slow bodies with short body timeouts', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    ({ daemon } = await startListenerDaemon((yaml) => addOptions(yaml, ANCHOR.otlpHttp, ['body_idle_timeout_ms: 1000', 'body_min_bytes_per_second: 1024'])));
  });
  afterAll(() => daemon.stop());

  it('cuts a body that trickles below body_min_bytes_per_second with 408, while a normal request gets 200', async () => {
    const url = daemon.receiverUrl('otlp');
    const client = await slowRequest(url, '/v1/traces', 4096, Buffer.from([0x0a]));
    let open = true;
    void client.answer.then(() => (open = false));
    // One byte every 200 ms: never idle for a second, but far below 1024 bytes per second.
    const trickle = (async () => {
      while (open) {
        await new Promise((r) => setTimeout(r, 200));
        if (open) await client.send(Buffer.from([0x0a]));
      }
    })();
    expect(await normalOtlp(daemon)).toBe(200);
    const answer = await client.answer;
    await trickle;
    expect(statusLine(answer)).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer).toMatch(/slower than body_min_bytes_per_second \(1024\)/);
    await waitFor('the budget to be released', async () => (await inflight(daemon)) === 0);
    expect(await normalOtlp(daemon)).toBe(200);
  });

  it('cuts a stalled JSON ingest body after the default idle timeout with 408 in the API error format', async () => {
    const url = daemon.receiverUrl('native');
    const client = await slowRequest(url, '/api/traces', 2 * MiB, Buffer.from('{"actionName": "slow", "prompt": "'), {
      Authorization: `Bearer ${DEFAULT_CONFIG_KEY}`,
      'Content-Type': 'application/json',
    });
    await waitFor('the body to be read', async () => (await receiving(daemon, 'native')) > 0);
    expect(await normalOtlp(daemon)).toBe(200);
    const answer = await client.answer;
    expect(statusLine(answer)).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer).toMatch(/"code":"RCV_BODY_TIMEOUT"/);
    await waitFor('the budget to be released', async () => (await inflight(daemon, 'native')) === 0);
  });
});

describe('a slow OTLP/gRPC message', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    ({ daemon } = await startListenerDaemon((yaml) => addOptions(yaml, ANCHOR.otlpGrpc, ['request_timeout_ms: 1000'])));
  });
  afterAll(async () => {
    closeGrpcClients();
    await daemon.stop();
  });

  it('is ended with DEADLINE_EXCEEDED when it does not arrive within grpc.request_timeout_ms, while other calls succeed', async () => {
    const session = http2.connect(`http://127.0.0.1:${grpcPort(daemon)}`);
    session.on('error', () => undefined);
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export', 'content-type': 'application/grpc', te: 'trailers' });
      const status = new Promise<string | undefined>((resolve) => {
        stream.on('response', (headers) => headers['grpc-status'] !== undefined && resolve(String(headers['grpc-status'])));
        stream.on('trailers', (trailers) => resolve(String(trailers['grpc-status'])));
        stream.on('close', () => resolve(undefined));
      });
      stream.on('error', () => undefined);
      // A message header announcing 1 MiB, then 10 bytes of it, then nothing.
      const head = Buffer.alloc(5);
      head.writeUInt32BE(MiB, 1);
      stream.write(Buffer.concat([head, Buffer.alloc(10)]));
      const normal = await exportCall(grpcClient(daemon), Buffer.from(encodeTraceRequestProto([makeSpan({ traceId: 'ab'.repeat(16), spanId: '00000000000000d1', name: 'chat', startTimeUnixNano: 1_763_900_000_000_000_000n, endTimeUnixNano: 1_763_900_000_100_000_000n })])));
      expect(normal.ok).toBe(true);
      expect(await status).toBe('4'); // DEADLINE_EXCEEDED
      expect(await metric(daemon, 'tracehouse_receiver_requests_total', { receiver: 'otlp', outcome: 'body_timeout' })).toBe(1);
    } finally {
      session.destroy();
    }
    expect(await normalOtlp(daemon)).toBe(200);
  });
});
