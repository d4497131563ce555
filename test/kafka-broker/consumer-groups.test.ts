/**
 * Consumer groups against the Kafka test broker (or KAFKA_BROKERS) with real kafkajs consumers:
 * partition splitting, rebalances on join/leave/expiry, and committed offsets.
 */
import net from 'node:net';
import type { Admin, Consumer, ConsumerConfig, ISocketFactory, Producer } from 'kafkajs';
import { kafkaBrokers, uniqueTopic, type KafkaBrokers } from '../support/kafka/brokers';
import { createTestTopic, testKafka } from '../support/kafka/clients';
import { waitFor } from '../support/wait';

let env: KafkaBrokers;
let admin: Admin;
let producer: Producer;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  env = await kafkaBrokers();
  admin = testKafka(env.brokers).admin();
  await admin.connect();
  producer = testKafka(env.brokers).producer();
  await producer.connect();
});

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup().catch(() => undefined)));
});

afterAll(async () => {
  await producer.disconnect();
  await admin.disconnect();
  await env.stop();
});

interface GroupMember {
  consumer: Consumer;
  /** Values consumed by this member. */
  received: string[];
  /** Partitions of the latest assignment (replaced at every GROUP_JOIN). */
  assigned(): number[];
  joins: number;
}

interface MemberOptions {
  consumer?: Partial<ConsumerConfig>;
  autoCommit?: boolean;
  /** Lets a test cut the member's connections (a killed process). */
  socketFactory?: ISocketFactory;
}

/**
 * A group member consuming `topic` from the beginning. Does not wait for the member to join:
 * kafkajs's run() resolves only after the first JoinGroup, which may wait for other members.
 */
async function member(topic: string, groupId: string, options: MemberOptions = {}): Promise<GroupMember> {
  const kafka = testKafka(env.brokers, options.socketFactory ? { socketFactory: options.socketFactory } : {});
  const consumer = kafka.consumer({ groupId, heartbeatInterval: 500, maxWaitTimeInMs: 500, ...options.consumer });
  const m: GroupMember = { consumer, received: [], assigned: () => [], joins: 0 };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const partitions = [...(e.payload.memberAssignment[topic] ?? [])].sort();
    m.assigned = () => partitions;
    m.joins++;
  });
  await consumer.connect();
  cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  void consumer
    .run({
      autoCommit: options.autoCommit ?? true,
      eachMessage: async ({ message }) => {
        m.received.push(message.value?.toString() ?? '');
      },
    })
    .catch(() => undefined); // a failed join shows up as a missing assignment
  return m;
}

/** True when the members' latest assignments are disjoint and cover partitions 0..n-1. */
function split(members: GroupMember[], partitions: number, each?: number): boolean {
  const all = members.flatMap((m) => m.assigned());
  if (each !== undefined && !members.every((m) => m.assigned().length === each)) return false;
  return all.length === partitions && new Set(all).size === partitions;
}

async function send(topic: string, prefix: string, count: number): Promise<string[]> {
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ key: `key-${i}`, value })) });
  return values;
}

/** Waits until the group's committed offsets reach the end of every partition. */
async function allCommitted(topic: string, groupId: string): Promise<void> {
  await waitFor(`group ${groupId} to commit everything`, async () => {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return ends.every((end) => committed.partitions.find((p) => p.partition === end.partition)?.offset === end.high);
  });
}

test('two members split the partitions; a third joining rebalances; every message is consumed exactly once', async () => {
  const topic = uniqueTopic('cg-split');
  const groupId = uniqueTopic('cg-split-group');
  await createTestTopic(env.brokers, topic, 3);

  const a = await member(topic, groupId);
  const b = await member(topic, groupId);
  await waitFor('two members to split 3 partitions', () => split([a, b], 3) && a.assigned().length > 0 && b.assigned().length > 0);
  const first = await send(topic, 'first', 30);
  await waitFor('the first batch', () => a.received.length + b.received.length >= first.length);
  await allCommitted(topic, groupId);
  const joinsBefore = a.joins + b.joins;

  const c = await member(topic, groupId);
  await waitFor('three members with one partition each', () => split([a, b, c], 3, 1));
  expect(a.joins + b.joins).toBeGreaterThan(joinsBefore); // the old members rejoined: a real rebalance
  const second = await send(topic, 'second', 30);
  await waitFor('the second batch', () => a.received.length + b.received.length + c.received.length >= 60);
  await allCommitted(topic, groupId);

  const all = [...a.received, ...b.received, ...c.received].sort();
  expect(all).toEqual([...first, ...second].sort());
  expect(c.received.length).toBeGreaterThan(0);
});

test('committed offsets survive a consumer restart: a new member resumes after the last commit', async () => {
  const topic = uniqueTopic('cg-restart');
  const groupId = uniqueTopic('cg-restart-group');
  await createTestTopic(env.brokers, topic, 2);
  const before = await send(topic, 'before', 10);

  const first = await member(topic, groupId);
  await waitFor('the first consumer to read everything', () => first.received.length >= before.length);
  await allCommitted(topic, groupId);
  await first.consumer.disconnect();
  if (env.broker) {
    const committed = [0, 1].map((p) => env.broker?.committedOffset(groupId, topic, p) ?? 0n);
    expect(committed.reduce((x, y) => x + y, 0n)).toBe(10n);
  }

  const after = await send(topic, 'after', 10);
  // fromBeginning: without the committed offsets this member would re-read the first ten.
  const second = await member(topic, groupId);
  await waitFor('the second consumer to read the new messages', () => second.received.length >= after.length);
  await allCommitted(topic, groupId);
  expect([...second.received].sort()).toEqual([...after].sort());
});

test('a member that leaves hands its partitions over at once', async () => {
  const topic = uniqueTopic('cg-leave');
  const groupId = uniqueTopic('cg-leave-group');
  await createTestTopic(env.brokers, topic, 2);
  // A long session: only the LeaveGroup request can end the departed member's membership in time.
  const config = { sessionTimeout: 120_000, rebalanceTimeout: 120_000 };
  const a = await member(topic, groupId, { consumer: config });
  const b = await member(topic, groupId, { consumer: config });
  await waitFor('two members with a partition each', () => split([a, b], 2, 1));
  await b.consumer.disconnect();
  await waitFor('the remaining member to own both partitions', () => split([a], 2), 45_000);
  const values = await send(topic, 'after-leave', 10);
  await waitFor('the remaining member to read them', () => values.every((v) => a.received.includes(v)));
}, 90_000);

test('a member that vanishes without leaving expires after its session timeout', async () => {
  const topic = uniqueTopic('cg-expire');
  const groupId = uniqueTopic('cg-expire-group');
  await createTestTopic(env.brokers, topic, 2);
  // The doomed member's sockets can be cut and further connections refused: a killed process.
  const sockets = new Set<net.Socket>();
  let dead = false;
  const killable: ISocketFactory = ({ host, port, onConnect }) => {
    if (dead) {
      const refused = new net.Socket();
      process.nextTick(() => refused.destroy(new Error('member is dead')));
      return refused;
    }
    const socket = net.connect({ host, port }, onConnect);
    sockets.add(socket);
    return socket;
  };
  const config = { sessionTimeout: 6_000, rebalanceTimeout: 60_000 };
  const a = await member(topic, groupId, { consumer: config });
  const doomed = await member(topic, groupId, {
    consumer: { ...config, retry: { retries: 0, restartOnFailure: async () => false } },
    socketFactory: killable,
  });
  await waitFor('two members with a partition each', () => split([a, doomed], 2, 1));

  dead = true;
  for (const socket of sockets) socket.destroy(new Error('member is dead'));
  await waitFor('the survivor to own both partitions', () => split([a], 2), 45_000);
  const values = await send(topic, 'after-expiry', 10);
  await waitFor('the survivor to read them', () => values.every((v) => a.received.includes(v)));
}, 90_000);

test('while a rebalance is being prepared, a member of the current generation can still commit', async () => {
  const topic = uniqueTopic('cg-commit-during-rebalance');
  const groupId = uniqueTopic('cg-commit-during-rebalance-group');
  await createTestTopic(env.brokers, topic, 1);
  const first = await send(topic, 'first', 5);
  // A heartbeats rarely, so it is slow to notice the rebalance B starts and can commit meanwhile.
  const a = await member(topic, groupId, {
    autoCommit: false,
    consumer: { heartbeatInterval: 30_000, sessionTimeout: 60_000, rebalanceTimeout: 60_000 },
  });
  await waitFor('A to read the first messages', () => a.received.length >= first.length);
  const [before] = await admin.fetchOffsets({ groupId, topics: [topic] });
  expect(before.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '-1' })]);

  const b = await member(topic, groupId);
  await waitFor('the group to prepare a rebalance', async () => {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.state === 'PreparingRebalance';
  });
  await a.consumer.commitOffsets([{ topic, partition: 0, offset: '5' }]);
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  expect(committed.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '5' })]);

  await a.consumer.disconnect();
  await waitFor('B to own the partition', () => split([b], 1));
  const later = await send(topic, 'later', 1);
  await waitFor('B to read the new message', () => b.received.includes(later[0]));
  expect(b.received).toEqual(later); // B started at A's commit
}, 90_000);

test('describeGroups reports a stable group with its members and assignments', async () => {
  const topic = uniqueTopic('cg-describe');
  const groupId = uniqueTopic('cg-describe-group');
  await createTestTopic(env.brokers, topic, 2);
  const a = await member(topic, groupId);
  const b = await member(topic, groupId);
  await waitFor('two members with a partition each', () => split([a, b], 2, 1));
  const group = await waitFor('a stable group', async () => {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.state === 'Stable' && groups[0].members.length === 2 ? groups[0] : undefined;
  });
  expect(group).toMatchObject({ groupId, protocolType: 'consumer', protocol: 'RoundRobinAssigner' });
  expect(group.members.every((m) => m.memberAssignment.length > 0)).toBe(true);
  const { groups: unknown } = await admin.describeGroups([uniqueTopic('no-such-group')]);
  expect(unknown[0].state).toBe('Dead');
});
