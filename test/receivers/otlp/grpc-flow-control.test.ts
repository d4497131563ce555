/**
 * The gRPC receiver offers wide HTTP/2 receive windows (receivers/otlp/flow-control.ts): a client
 * sees the stream window in the server's SETTINGS and the connection window granted at once, so
 * many concurrent Export calls on one connection are not held to 64 KiB in flight.
 */
import http2 from 'node:http2';
import { CONNECTION_WINDOW, STREAM_WINDOW } from '../../../receivers/otlp/flow-control';
import { otlpPipelineYaml, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { grpcPort } from '../../support/otlp-grpc-client';
import { waitFor } from '../../support/wait';

let daemon: TestDaemon;

beforeAll(async () => {
  daemon = await startDaemon(otlpPipelineYaml({ database: uniqueDatabase('grpc_window'), http: '{ enabled: false }', grpc: true }));
});

afterAll(async () => {
  await daemon.stop();
});

test('the server offers a 1 MiB stream window and an 8 MiB connection window', async () => {
  const session = http2.connect(`http://127.0.0.1:${grpcPort(daemon)}`);
  try {
    const settings = await new Promise<http2.Settings>((resolve, reject) => {
      session.once('remoteSettings', resolve);
      session.once('error', reject);
    });
    expect(settings.initialWindowSize).toBe(STREAM_WINDOW);
    // The connection window starts at 65,535 by the protocol; the server's WINDOW_UPDATE widens it.
    await waitFor('the connection window update', () => session.state.remoteWindowSize === CONNECTION_WINDOW);
  } finally {
    session.close();
  }
});
