/**
 * Wire-level checks of the test broker that no kafkajs call reaches: version negotiation answers
 * and what happens to requests it does not implement. Raw sockets, test broker only.
 */
import net from 'node:net';
import { startKafkaTestBroker, type KafkaTestBroker } from '../support/kafka-broker';

const testBrokerOnly = process.env.KAFKA_BROKERS ? test.skip : test;
let broker: KafkaTestBroker;

beforeAll(async () => {
  broker = await startKafkaTestBroker();
});

afterAll(async () => {
  await broker.stop();
});

/** The first version of each API that uses tagged fields (KIP-482), from the Kafka protocol guide. */
const FLEXIBLE_FROM: Record<number, number> = {
  0: 9, 1: 12, 2: 6, 3: 9, 8: 8, 9: 6, 10: 3, 11: 6, 12: 4, 13: 4, 14: 4, 15: 5, 18: 3, 19: 5, 22: 2,
};

function request(apiKey: number, apiVersion: number, correlationId: number, body = Buffer.alloc(0)): Buffer {
  const clientId = Buffer.from('raw-test');
  const header = Buffer.alloc(10);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + clientId.length + body.length);
  return Buffer.concat([size, header, clientId, body]);
}

/** Sends one request; resolves with the response (after the size) or 'closed'. */
function exchange(frame: Buffer): Promise<Buffer | 'closed'> {
  const [host, port] = broker.brokers[0].split(':');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port) }, () => socket.write(frame));
    let data = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 4 && data.length >= 4 + data.readInt32BE(0)) {
        socket.destroy();
        resolve(data.subarray(4, 4 + data.readInt32BE(0)));
      }
    });
    socket.on('close', () => resolve('closed'));
    socket.on('error', reject);
  });
}

function apiVersions(body: Buffer, withThrottle: boolean): { errorCode: number; apis: Map<number, [number, number]> } {
  const errorCode = body.readInt16BE(0);
  const count = body.readInt32BE(2);
  const apis = new Map<number, [number, number]>();
  for (let i = 0; i < count; i++) {
    const at = 6 + i * 6;
    apis.set(body.readInt16BE(at), [body.readInt16BE(at + 2), body.readInt16BE(at + 4)]);
  }
  expect(body.length).toBe(6 + count * 6 + (withThrottle ? 4 : 0));
  return { errorCode, apis };
}

testBrokerOnly('ApiVersions advertises only implemented, non-flexible versions of the APIs kafkajs needs', async () => {
  const response = await exchange(request(18, 2, 7));
  if (response === 'closed') throw new Error('connection closed');
  expect(response.readInt32BE(0)).toBe(7); // correlation id
  const { errorCode, apis } = apiVersions(response.subarray(4), true);
  expect(errorCode).toBe(0);
  for (const key of [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18, 19]) expect(apis.has(key)).toBe(true);
  for (const [key, [min, max]] of apis) {
    expect(min).toBeLessThanOrEqual(max);
    expect(max).toBeLessThan(FLEXIBLE_FROM[key]);
  }
});

testBrokerOnly('a newer ApiVersions request gets UNSUPPORTED_VERSION in the v0 layout, so the client can fall back', async () => {
  const response = await exchange(request(18, 3, 9));
  if (response === 'closed') throw new Error('connection closed');
  expect(response.readInt32BE(0)).toBe(9);
  const { errorCode, apis } = apiVersions(response.subarray(4), false);
  expect(errorCode).toBe(35);
  expect(apis.get(18)).toEqual([0, 2]);
});

testBrokerOnly('an API or version the broker does not implement closes the connection, as a real broker does', async () => {
  expect(await exchange(request(20, 1, 1))).toBe('closed'); // DeleteTopics
  expect(await exchange(request(3, 9, 2))).toBe('closed'); // Metadata, first flexible version
});
