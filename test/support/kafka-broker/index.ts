/**
 * A Kafka wire-protocol broker for tests (there is no Kafka on the build machines): one process,
 * one broker (node 0) on 127.0.0.1, in-memory logs and consumer groups, enough protocol for
 * kafkajs producers, consumers (with groups) and the admin client. See README.md for the scope.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { BrokerConnection } from './connection';
import type { BrokerContext, BrokerOptions } from './context';
import { GroupCoordinator } from './group-coordinator';
import { API_HANDLERS } from './handlers';
import { LogStore } from './log-store';
import { decodeBatch } from './record-batch';

export interface KafkaTestMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

export interface KafkaTestBroker {
  /** ['127.0.0.1:<port>'] */
  readonly brokers: string[];
  stop(): Promise<void>;
  /** Every record of the topic (all partitions, in partition then offset order); [] if unknown. */
  topicMessages(topic: string): Promise<KafkaTestMessage[]>;
  /** Closes the listener and every connection: the broker is "down" (data and groups are kept). */
  pause(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  committedOffset(groupId: string, topic: string, partition: number): bigint | undefined;
}

export interface KafkaTestBrokerOptions {
  /** 0 (default): any free port. */
  port?: number;
  /** Partitions of auto-created topics and of CreateTopics with num_partitions -1. Default 3. */
  defaultPartitions?: number;
  /** Create unknown topics on Metadata (when the client allows it) and Produce. Default true. */
  autoCreateTopics?: boolean;
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: net.Server | undefined): Promise<void> {
  return new Promise((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
}

export async function startKafkaTestBroker(options: KafkaTestBrokerOptions = {}): Promise<KafkaTestBroker> {
  const brokerOptions: BrokerOptions = {
    defaultPartitions: options.defaultPartitions ?? 3,
    autoCreateTopics: options.autoCreateTopics ?? true,
  };
  const store = new LogStore();
  const groups = new GroupCoordinator();
  let port = options.port ?? 0;
  const context: BrokerContext = { options: brokerOptions, store, groups, port: () => port, handlers: API_HANDLERS };
  const byKey = new Map(API_HANDLERS.map((h) => [h.apiKey, h]));
  const connections = new Set<BrokerConnection>();
  let server: net.Server | undefined;
  let stopped = false;

  const open = async (): Promise<void> => {
    const s = net.createServer((socket) => {
      const connection = new BrokerConnection(socket, context, byKey);
      connections.add(connection);
      void connection.closed.then(() => connections.delete(connection));
    });
    port = await listen(s, port);
    server = s;
  };

  const shut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    const closing = close(s);
    for (const connection of connections) connection.destroy();
    connections.clear();
    await closing;
  };

  await open();

  return {
    brokers: [`127.0.0.1:${port}`],
    async stop() {
      if (stopped) return;
      stopped = true;
      groups.stop();
      await shut();
    },
    async topicMessages(topic) {
      const partitions = store.partitions(topic) ?? [];
      return partitions.flatMap((log, partition) =>
        log.batches.flatMap((batch) =>
          decodeBatch(batch.data).map((r) => ({ partition, offset: r.offset.toString(), key: r.key, value: r.value, headers: r.headers })),
        ),
      );
    },
    async pause() {
      await shut();
    },
    async resume() {
      if (stopped) throw new Error('kafka test broker is stopped');
      if (!server) await open();
    },
    committedOffset(groupId, topic, partition) {
      return groups.committed(groupId, topic, partition)?.offset;
    },
  };
}
