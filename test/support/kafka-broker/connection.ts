/**
 * One client connection: splits the byte stream into size-prefixed requests, parses the request
 * header (v1: api_key, api_version, correlation_id, client_id) and answers each request in turn.
 * Like a real broker, a connection processes one request at a time (responses stay in order);
 * kafkajs keeps fetches on a separate connection so long polls do not block other requests.
 */
import type { Socket } from 'node:net';
import { MalformedRequestError, Reader, Writer } from './codec';
import type { ApiHandler, BrokerContext } from './context';
import { API_VERSIONS_KEY, unsupportedApiVersionsResponse } from './handlers/api-versions';

/** Far above anything a test sends; a bigger size prefix means the stream is not Kafka. */
const MAX_REQUEST_BYTES = 100 * 1024 * 1024;
const debug = process.env.KAFKA_TEST_BROKER_DEBUG === '1';

function trace(line: string): void {
  process.stderr.write(`[kafka-test-broker ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
}

export class BrokerConnection {
  /** Received bytes not yet framed, kept as chunks so a big request is concatenated once. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes needed before the next frame can be cut: 4 (its size) or 4 + size. */
  private needed = 4;
  private readonly queue: Buffer[] = [];
  private processing = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly socket: Socket,
    private readonly broker: BrokerContext,
    private readonly byKey: ReadonlyMap<number, ApiHandler>,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.abort.abort());
    // Clients vanish mid-request all the time in these tests (pause(), killed consumers).
    socket.on('error', () => undefined);
  }

  get closed(): Promise<void> {
    return new Promise((resolve) => (this.socket.destroyed ? resolve() : this.socket.once('close', () => resolve())));
  }

  destroy(): void {
    this.abort.abort();
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.needed) return;
    let buffered = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.needed = 4;
    while (buffered.length >= 4) {
      const size = buffered.readInt32BE(0);
      if (size < 0 || size > MAX_REQUEST_BYTES) {
        this.destroy();
        return;
      }
      if (buffered.length < 4 + size) {
        this.needed = 4 + size;
        break;
      }
      this.queue.push(buffered.subarray(4, 4 + size));
      buffered = buffered.subarray(4 + size);
    }
    this.pending = buffered.length > 0 ? [buffered] : [];
    this.pendingBytes = buffered.length;
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.queue.length > 0 && !this.socket.destroyed) {
        await this.process(this.queue.shift() as Buffer);
      }
    } finally {
      this.processing = false;
    }
  }

  private async process(frame: Buffer): Promise<void> {
    const reader = new Reader(frame);
    let apiKey = -1;
    let apiVersion = -1;
    try {
      apiKey = reader.int16();
      apiVersion = reader.int16();
      const correlationId = reader.int32();
      const clientId = reader.nullableString();
      const handler = this.byKey.get(apiKey);
      let body: Writer | null;
      if (handler && apiVersion >= handler.minVersion && apiVersion <= handler.maxVersion) {
        body = await handler.handle(reader, { broker: this.broker, apiVersion, clientId, signal: this.abort.signal });
      } else if (apiKey === API_VERSIONS_KEY) {
        body = unsupportedApiVersionsResponse(this.broker.handlers);
      } else {
        // What a real broker does with an API or version it cannot parse: drop the connection.
        if (debug) trace(`unsupported api ${apiKey} v${apiVersion}: closing`);
        this.destroy();
        return;
      }
      if (debug) trace(`${handler?.name ?? apiKey} v${apiVersion} #${correlationId} from ${clientId ?? '-'}:${this.socket.remotePort}`);
      if (body && !this.socket.destroyed) {
        const header = Buffer.allocUnsafe(8);
        header.writeInt32BE(4 + body.length, 0);
        header.writeInt32BE(correlationId, 4);
        this.socket.write(Buffer.concat([header, body.toBuffer()]));
      }
    } catch (err) {
      if (debug || !(err instanceof MalformedRequestError)) {
        trace(`api ${apiKey} v${apiVersion} failed: ${(err as Error).stack ?? String(err)}`);
      }
      this.destroy();
    }
  }
}
