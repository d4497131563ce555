import * as grpc from '@grpc/grpc-js';
import { otlpTraceServiceDefinition } from '../../receivers/otlp/grpc-server';
import type { OtlpReceiver } from '../../receivers/otlp/otlp-receiver';
import type { TestDaemon } from './daemon';

/**
 * A raw OTLP/gRPC client for tests: sends pre-encoded Export requests (valid or not) to a test
 * daemon's `otlp` receiver and returns the status, which the SDK exporter would hide.
 */
export function grpcPort(daemon: TestDaemon, receiverId = 'otlp'): number {
  const port = (daemon.service.graph.receivers.get(receiverId) as OtlpReceiver).grpcPort;
  if (!port) throw new Error(`${receiverId} is not listening for gRPC`);
  return port;
}

const clients: grpc.Client[] = [];

/** Opens a client; closeGrpcClients() closes every client opened so far. */
export function grpcClient(daemon: TestDaemon, options: grpc.ChannelOptions = {}): grpc.Client {
  const c = new grpc.Client(`127.0.0.1:${grpcPort(daemon)}`, grpc.credentials.createInsecure(), options);
  clients.push(c);
  return c;
}

export function closeGrpcClients(): void {
  for (const client of clients.splice(0)) client.close();
}

export type CallResult = { ok: true; response: Buffer } | { ok: false; error: grpc.ServiceError };

export function exportCall(c: grpc.Client, body: Uint8Array, metadata = new grpc.Metadata()): Promise<CallResult> {
  const { path: method, requestSerialize, responseDeserialize } = otlpTraceServiceDefinition.export;
  return new Promise((resolve) => {
    c.makeUnaryRequest(method, requestSerialize, responseDeserialize, Buffer.from(body), metadata, (error, response) =>
      resolve(error ? { ok: false, error } : { ok: true, response: response! }),
    );
  });
}

export async function expectStatus(call: Promise<CallResult>, code: grpc.status): Promise<grpc.ServiceError> {
  const result = await call;
  if (result.ok) throw new Error(`expected status ${grpc.status[code]}, got OK`);
  expect(grpc.status[result.error.code]).toBe(grpc.status[code]);
  return result.error;
}
