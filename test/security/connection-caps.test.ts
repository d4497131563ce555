/**
 * Connections on the default config with small limits: idle gRPC connections are closed (raw
 * sockets that never speak, and clients whose calls are done), and every listener holds at most
 * max_connections, closing the surplus at once, counting it in /metrics and warning once, while
 * the other listeners (and the same one, once below its cap) keep serving.
 */
import * as grpc from '@grpc/grpc-js';
import net from 'node:net';
import { encodeTraceRequestProto } from '../../core/otlp/encode';
import { makeSpan } from '../../core/span';
import type { TestDaemon } from '../support/daemon';
import { closeGrpcClients, exportCall, grpcClient, grpcPort } from '../support/otlp-grpc-client';
import { waitFor } from '../support/wait';
import { ANCHOR, addOptions, metric, portOf, rawHttp, startListenerDaemon } from './support/listener-daemon';

afterEach(closeGrpcClients);

let spanCounter = 0;
function exportRequest(): Buffer {
  spanCounter += 1;
  const traceId = `c0a0${process.pid.toString(16).padStart(8, '0')}${spanCounter.toString(16).padStart(20, '0')}`;
  return Buffer.from(encodeTraceRequestProto([makeSpan({ traceId, spanId: '00000000000000c1', name: 'chat', startTimeUnixNano: 1_763_900_000_000_000_000n, endTimeUnixNano: 1_763_900_000_100_000_000n })]));
}

/** An OTLP/HTTP export over a connection of its own (no keep-alive pool holding a slot). */
async function otlpHttp(daemon: TestDaemon): Promise<number> {
  const answer = await rawHttp(daemon.receiverUrl('otlp'), { method: 'POST', path: '/v1/traces', body: exportRequest(), headers: { 'content-type': 'application/x-protobuf' } });
  return answer.status;
}

async function grpcExportOk(daemon: TestDaemon): Promise<void> {
  const result = await exportCall(grpcClient(daemon), exportRequest());
  expect(result.ok).toBe(true);
}

/** A raw TCP connection; `closed` resolves when the server (or the test) closes it. */
async function rawConnection(port: number): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  return { socket, closed };
}

const openConnections = (daemon: TestDaemon, listener: string) => metric(daemon, 'tracehouse_listener_open_connections', { listener });
const refusedConnections = (daemon: TestDaemon, listener: string) => metric(daemon, 'tracehouse_listener_connections_refused_total', { listener });

describe('idle gRPC connections', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    // Long enough that a loaded machine still sees the silent sockets held before they go idle.
    ({ daemon } = await startListenerDaemon((yaml) => addOptions(yaml, ANCHOR.otlpGrpc, ['max_connection_idle_ms: 2000'])));
  });
  afterAll(() => daemon.stop());

  it('closes sockets that never speak and clients whose calls are done, and keeps serving', async () => {
    const port = grpcPort(daemon);
    const listener = `grpc 127.0.0.1:${port}`;
    const silent = await Promise.all(Array.from({ length: 20 }, () => rawConnection(port)));
    await waitFor('the listener to hold the silent sockets', async () => (await openConnections(daemon, listener)) >= 20);
    // A normal call meanwhile.
    const client = grpcClient(daemon);
    expect((await exportCall(client, exportRequest())).ok).toBe(true);
    expect(client.getChannel().getConnectivityState(false)).toBe(grpc.connectivityState.READY);
    // Every silent socket is closed by the server, and the client's connection too (GOAWAY: idle).
    await Promise.all(silent.map((c) => c.closed));
    await waitFor('the idle client connection to be closed', () => client.getChannel().getConnectivityState(false) !== grpc.connectivityState.READY);
    await waitFor('no connection held', async () => (await openConnections(daemon, listener)) === 0);
    // The same client reconnects for its next call.
    expect((await exportCall(client, exportRequest())).ok).toBe(true);
    expect(await otlpHttp(daemon)).toBe(200);
  });
});

describe('connection caps', () => {
  let daemon: TestDaemon;
  let logs: Record<string, unknown>[];
  beforeAll(async () => {
    ({ daemon, logs } = await startListenerDaemon((yaml) =>
      addOptions(addOptions(addOptions(yaml, ANCHOR.otlpGrpc, ['max_connections: 4']), ANCHOR.otlpHttp, ['max_connections: 3']), ANCHOR.admin, ['max_connections: 8']),
    ));
  });
  afterAll(() => daemon.stop());

  it('gRPC: refuses connections beyond max_connections, counts them, warns once, and serves again below the cap', async () => {
    const port = grpcPort(daemon);
    const listener = `grpc 127.0.0.1:${port}`;
    expect(await refusedConnections(daemon, listener)).toBe(0);
    const held = await Promise.all(Array.from({ length: 4 }, () => rawConnection(port)));
    await waitFor('the cap to be reached', async () => (await openConnections(daemon, listener)) === 4);
    const surplus = await Promise.all(Array.from({ length: 3 }, () => rawConnection(port)));
    await Promise.all(surplus.map((c) => c.closed));
    expect(await refusedConnections(daemon, listener)).toBe(3);
    expect(await openConnections(daemon, listener)).toBe(4);
    const warnings = logs.filter((l) => l.msg === 'listener is at max_connections: refusing new connections' && l.listener === listener);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, max_connections: 4 });
    // The other listeners are not affected.
    expect(await otlpHttp(daemon)).toBe(200);
    for (const c of held) c.socket.destroy();
    await waitFor('the held connections to be gone', async () => (await openConnections(daemon, listener)) === 0);
    await grpcExportOk(daemon);
  });

  it('HTTP: refuses connections beyond max_connections, counts them, and serves again below the cap', async () => {
    const url = daemon.receiverUrl('otlp');
    const port = portOf(url);
    const listener = `http 127.0.0.1:${port}`;
    const held = await Promise.all(Array.from({ length: 3 }, () => rawConnection(port)));
    await waitFor('the cap to be reached', async () => (await openConnections(daemon, listener)) === 3);
    const surplus = await rawConnection(port);
    await surplus.closed;
    await expect(otlpHttp(daemon)).rejects.toThrow();
    expect(await refusedConnections(daemon, listener)).toBeGreaterThanOrEqual(2);
    // The other listeners (gRPC, admin) still serve. (On ephemeral ports every HTTP receiver of the
    // default config shares this one listener, so the JSON ingest APIs are behind the same cap.)
    await grpcExportOk(daemon);
    expect((await fetch(`${daemon.adminUrl}/?query=SELECT%201`)).status).toBe(200);
    for (const c of held) c.socket.destroy();
    await waitFor('the held connections to be gone', async () => (await openConnections(daemon, listener)) === 0);
    expect(await otlpHttp(daemon)).toBe(200);
  });

  it('admin: refuses connections beyond service.admin.max_connections and serves again below the cap', async () => {
    const port = portOf(daemon.adminUrl);
    const listener = `admin 127.0.0.1:${port}`;
    // More than the cap of 8 (some slots may be held by pooled /metrics connections): the first
    // connection to close is one the listener refused at once (the others wait for headers_timeout).
    const connections = await Promise.all(Array.from({ length: 12 }, () => rawConnection(port)));
    await Promise.race(connections.map((c) => c.closed));
    for (const c of connections) c.socket.destroy();
    await waitFor('the admin listener to answer again', async () => (await rawHttp(daemon.adminUrl, { path: '/?query=SELECT%201' }).catch(() => undefined))?.status === 200);
    expect(await refusedConnections(daemon, listener)).toBeGreaterThanOrEqual(1);
    expect(await otlpHttp(daemon)).toBe(200);
  });
});
