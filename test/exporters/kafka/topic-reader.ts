/**
 * Reads what the exporter wrote, the way a Kafka user would: a plain kafkajs consumer for the
 * records, and one raw Fetch request for the stored record batches' attributes (which kafkajs
 * decodes away), so the compression on the wire can be checked against any broker.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

export interface ReadMessage {
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

function client(brokers: string[]): Kafka {
  return new Kafka({ brokers, clientId: 'kafka-exporter-test', logLevel: logLevel.NOTHING });
}

/** Records in the topic now: the sum of its partitions' high watermarks (no compaction, no transactions). */
export async function recordCount(brokers: string[], topic: string): Promise<number> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Every record of the topic, read from the beginning by a new consumer group. */
export async function readTopic(brokers: string[], topic: string, deadlineMs = 30_000): Promise<ReadMessage[]> {
  const expected = await recordCount(brokers, topic);
  // A short fetch wait: disconnect waits for the fetch in flight.
  const consumer = client(brokers).consumer({ groupId: `reader-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 100 });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        messages.push({ partition, key: message.key, value: message.value, headers });
      },
    });
    const deadline = Date.now() + deadlineMs;
    while (messages.length < expected) {
      if (Date.now() > deadline) throw new Error(`read ${messages.length} of ${expected} records of ${topic}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** The compression codec (attributes & 7: 0 none, 1 gzip) of every record batch stored in the topic. */
export async function batchCompressions(brokers: string[], topic: string): Promise<number[]> {
  const admin = client(brokers).admin();
  await admin.connect();
  let leaders: { partition: number; host: string; port: number }[];
  try {
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const { brokers: nodes } = await admin.describeCluster();
    leaders = metadata.partitions.map((p) => {
      const node = nodes.find((n) => n.nodeId === p.leader);
      if (!node) throw new Error(`no broker for leader ${p.leader}`);
      return { partition: p.partitionId, host: node.host, port: node.port };
    });
  } finally {
    await admin.disconnect();
  }
  const codecs: number[] = [];
  for (const leader of leaders) {
    const records = await fetchPartition(leader.host, leader.port, topic, leader.partition);
    // RecordBatch: baseOffset int64, batchLength int32, leaderEpoch int32, magic int8, crc int32, attributes int16.
    for (let at = 0; at + 23 <= records.length; ) {
      const length = records.readInt32BE(at + 8);
      if (at + 12 + length > records.length) break; // a batch cut off by max_bytes
      codecs.push(records.readInt16BE(at + 21) & 0x07);
      at += 12 + length;
    }
  }
  return codecs;
}

/** One Fetch v7 request for a partition from offset 0; returns the partition's raw record bytes. */
function fetchPartition(host: string, port: number, topic: string, partition: number): Promise<Buffer> {
  const topicBytes = Buffer.from(topic, 'utf8');
  const clientId = Buffer.from('kafka-exporter-test', 'utf8');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 * 4 + 1 + 4 + 4 + 4 + 2 + topicBytes.length + 4 + 4 + 8 + 8 + 4 + 4);
  let o = 0;
  o = body.writeInt16BE(1, o); // api key: Fetch
  o = body.writeInt16BE(7, o); // api version
  o = body.writeInt32BE(1, o); // correlation id
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt32BE(-1, o); // replica id: a consumer
  o = body.writeInt32BE(0, o); // max wait ms
  o = body.writeInt32BE(0, o); // min bytes
  o = body.writeInt32BE(64 * 1024 * 1024, o); // max bytes
  o = body.writeInt8(0, o); // isolation level
  o = body.writeInt32BE(0, o); // session id
  o = body.writeInt32BE(-1, o); // session epoch: no session
  o = body.writeInt32BE(1, o); // one topic
  o = body.writeInt16BE(topicBytes.length, o);
  o += topicBytes.copy(body, o);
  o = body.writeInt32BE(1, o); // one partition
  o = body.writeInt32BE(partition, o);
  o = body.writeBigInt64BE(0n, o); // fetch offset
  o = body.writeBigInt64BE(-1n, o); // log start offset
  o = body.writeInt32BE(64 * 1024 * 1024, o); // partition max bytes
  o = body.writeInt32BE(0, o); // no forgotten topics
  const size = Buffer.alloc(4);
  size.writeInt32BE(o);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let received = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      socket.end();
      try {
        resolve(recordsOf(received.subarray(4, 4 + received.readInt32BE(0))));
      } catch (err) {
        reject(err);
      }
    });
    socket.write(Buffer.concat([size, body.subarray(0, o)]));
  });
}

/** The records field of a Fetch v7 response for one topic and partition. */
function recordsOf(response: Buffer): Buffer {
  let o = 4 + 4 + 2 + 4; // correlation id, throttle time, error code, session id
  o += 4; // topics array length (1)
  o += 2 + response.readInt16BE(o); // topic name
  o += 4; // partitions array length (1)
  o += 4; // partition
  const errorCode = response.readInt16BE(o);
  if (errorCode !== 0) throw new Error(`fetch failed with error code ${errorCode}`);
  o += 2 + 8 + 8 + 8; // error code, high watermark, last stable offset, log start offset
  const aborted = response.readInt32BE(o);
  o += 4 + Math.max(0, aborted) * 16;
  const length = response.readInt32BE(o);
  o += 4;
  return length < 0 ? Buffer.alloc(0) : response.subarray(o, o + length);
}
