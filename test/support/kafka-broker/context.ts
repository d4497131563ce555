/** What request handlers share: the broker's identity, its logs, its groups and its options. */
import type { Reader, Writer } from './codec';
import type { GroupCoordinator } from './group-coordinator';
import { isValidTopicName, type LogStore, type PartitionLog } from './log-store';

export const NODE_ID = 0;
export const ADVERTISED_HOST = '127.0.0.1';
export const CLUSTER_ID = 'tracehouse-test-broker';

export interface BrokerOptions {
  defaultPartitions: number;
  autoCreateTopics: boolean;
}

export interface BrokerContext {
  readonly options: BrokerOptions;
  readonly store: LogStore;
  readonly groups: GroupCoordinator;
  /** The port the broker listens on (and advertises in Metadata/FindCoordinator). */
  port(): number;
  readonly handlers: readonly ApiHandler[];
}

export interface RequestContext {
  readonly broker: BrokerContext;
  readonly apiVersion: number;
  readonly clientId: string | null;
  /** Aborted when the client's connection closes (or the broker pauses/stops): ends long polls. */
  readonly signal: AbortSignal;
}

export interface ApiHandler {
  readonly apiKey: number;
  readonly name: string;
  /** Only non-flexible versions, all implemented: clients pick the highest both sides support. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Returns the response body, or null when the request expects no response (produce acks=0). */
  handle(request: Reader, ctx: RequestContext): Promise<Writer | null> | Writer | null;
}

/**
 * The topic's partitions, auto-creating it when allowed. undefined: unknown (or invalid name).
 */
export function resolveTopic(broker: BrokerContext, topic: string, allowAutoCreate: boolean): PartitionLog[] | undefined {
  const existing = broker.store.partitions(topic);
  if (existing) return existing;
  if (!allowAutoCreate || !broker.options.autoCreateTopics || !isValidTopicName(topic)) return undefined;
  return broker.store.create(topic, broker.options.defaultPartitions);
}
