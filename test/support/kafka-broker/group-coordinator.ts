/**
 * A generation-based consumer-group coordinator, modelled on Kafka's GroupCoordinator but only as
 * far as kafkajs needs it:
 *
 * - JoinGroup collects members. A rebalance completes when every known member has (re)joined —
 *   immediately for the first member of an empty group — or when the rebalance timeout expires,
 *   dropping members that did not rejoin. Members that stop heartbeating are dropped after their
 *   session timeout, which also ends a rebalance waiting for them (a killed consumer).
 * - Completion bumps the generation, elects a leader (the previous one if still there) and hands
 *   the leader every member's subscription metadata; SyncGroup then distributes its assignment.
 * - A member joining, leaving or expiring starts a rebalance: the others get
 *   REBALANCE_IN_PROGRESS from Heartbeat (and SyncGroup) and rejoin. Commits of the current
 *   generation are still accepted until the rebalance completes, as on a real broker.
 * - Committed offsets are kept per group/topic/partition for the life of the broker.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from './errors';

// Kafka's group.min/max.session.timeout.ms defaults: a test that passes here then passes on a real broker.
const MIN_SESSION_TIMEOUT_MS = 6_000;
const MAX_SESSION_TIMEOUT_MS = 1_800_000;

export interface ProtocolOffer {
  name: string;
  metadata: Buffer;
}

export interface JoinRequest {
  groupId: string;
  memberId: string;
  clientId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: ProtocolOffer[];
  /** v4+: a new member first gets MEMBER_ID_REQUIRED with its id, then joins with it. */
  requireKnownMemberId: boolean;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolName: string;
  leaderId: string;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface GroupDescription {
  /** Kafka's state names; 'Dead' for a group the broker does not know. */
  state: 'Dead' | GroupState;
  protocolType: string;
  protocolName: string;
  members: { memberId: string; clientId: string; metadata: Buffer; assignment: Buffer }[];
}

export interface SyncResult {
  errorCode: number;
  assignment: Buffer;
}

interface Member {
  id: string;
  clientId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: ProtocolOffer[];
  assignment: Buffer;
  joinWaiter?: (result: JoinResult) => void;
  syncWaiter?: (result: SyncResult) => void;
  sessionTimer?: NodeJS.Timeout;
}

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType = '';
  protocolName = '';
  leaderId = '';
  readonly members = new Map<string, Member>();
  /** Ids handed out with MEMBER_ID_REQUIRED, valid until the member joins or its session expires. */
  readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  rebalanceTimer?: NodeJS.Timeout;
  /** `${topic}\0${partition}` -> committed offset. */
  readonly offsets = new Map<string, { offset: bigint; metadata: string | null }>();

  constructor(readonly id: string) {}
}

function offsetKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private stopped = false;

  private group(groupId: string): Group {
    let group = this.groups.get(groupId);
    if (!group) {
      group = new Group(groupId);
      this.groups.set(groupId, group);
    }
    return group;
  }

  // ---- membership -------------------------------------------------------------------------

  join(req: JoinRequest): Promise<JoinResult> {
    const fail = (errorCode: number, memberId = req.memberId): Promise<JoinResult> =>
      Promise.resolve({ errorCode, generationId: -1, protocolName: '', leaderId: '', memberId, members: [] });
    if (this.stopped) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (req.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    if (req.sessionTimeoutMs < MIN_SESSION_TIMEOUT_MS || req.sessionTimeoutMs > MAX_SESSION_TIMEOUT_MS) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    const group = this.group(req.groupId);
    if (req.protocols.length === 0 || (group.members.size > 0 && req.protocolType !== group.protocolType)) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    if (group.members.size > 0 && !this.candidateProtocols(group, req.protocols).length) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }

    let memberId = req.memberId;
    if (memberId === '') {
      memberId = `${req.clientId || 'member'}-${randomUUID()}`;
      if (req.requireKnownMemberId) {
        group.pendingMembers.set(
          memberId,
          setTimeout(() => group.pendingMembers.delete(memberId), req.sessionTimeoutMs).unref(),
        );
        return fail(ErrorCode.MEMBER_ID_REQUIRED, memberId);
      }
    } else if (!group.members.has(memberId)) {
      const pending = group.pendingMembers.get(memberId);
      if (pending === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      clearTimeout(pending);
      group.pendingMembers.delete(memberId);
    }

    const existing = group.members.get(memberId);
    const member: Member = existing ?? {
      id: memberId,
      clientId: req.clientId,
      groupInstanceId: req.groupInstanceId,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocols: req.protocols,
      assignment: Buffer.alloc(0),
    };
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs;
    member.protocols = req.protocols;
    // A member waiting in JoinGroup is not expected to heartbeat.
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    member.sessionTimer = undefined;
    // A second JoinGroup from the same member supersedes the first (its connection likely died).
    member.joinWaiter?.(this.joinFailure(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    const result = new Promise<JoinResult>((resolve) => (member.joinWaiter = resolve));
    if (!existing) {
      group.members.set(memberId, member);
      group.protocolType = req.protocolType;
    }

    if (group.state !== 'PreparingRebalance') this.prepareRebalance(group);
    this.maybeCompleteJoin(group);
    return result;
  }

  sync(groupId: string, generationId: number, memberId: string, assignments: { memberId: string; assignment: Buffer }[]): Promise<SyncResult> {
    const fail = (errorCode: number): Promise<SyncResult> => Promise.resolve({ errorCode, assignment: Buffer.alloc(0) });
    if (this.stopped) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (generationId !== group.generationId) return fail(ErrorCode.ILLEGAL_GENERATION);
    this.touch(group, member);
    switch (group.state) {
      case 'PreparingRebalance':
      case 'Empty':
        return fail(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        return Promise.resolve({ errorCode: ErrorCode.NONE, assignment: member.assignment });
      case 'CompletingRebalance': {
        member.syncWaiter?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: Buffer.alloc(0) });
        const result = new Promise<SyncResult>((resolve) => (member.syncWaiter = resolve));
        if (memberId === group.leaderId) {
          const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
          group.state = 'Stable';
          for (const m of group.members.values()) {
            m.assignment = byMember.get(m.id) ?? Buffer.alloc(0);
            const waiter = m.syncWaiter;
            m.syncWaiter = undefined;
            waiter?.({ errorCode: ErrorCode.NONE, assignment: m.assignment });
          }
        }
        return result;
      }
    }
  }

  heartbeat(groupId: string, generationId: number, memberId: string): number {
    if (this.stopped) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.state === 'PreparingRebalance') {
      this.touch(group, member);
      return ErrorCode.REBALANCE_IN_PROGRESS;
    }
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.touch(group, member);
    return ErrorCode.NONE;
  }

  /** Returns the error code for this member (UNKNOWN_MEMBER_ID if not in the group). */
  leave(groupId: string, memberId: string): number {
    const group = this.groups.get(groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    const pending = group.pendingMembers.get(memberId);
    if (pending !== undefined) {
      clearTimeout(pending);
      group.pendingMembers.delete(memberId);
      return ErrorCode.NONE;
    }
    if (!group.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(group, memberId);
    return ErrorCode.NONE;
  }

  /** DescribeGroups: like Kafka, subscriptions and assignments are only shown when Stable. */
  describe(groupId: string): GroupDescription {
    const group = this.groups.get(groupId);
    if (!group) return { state: 'Dead', protocolType: '', protocolName: '', members: [] };
    const stable = group.state === 'Stable';
    return {
      state: group.state,
      protocolType: group.protocolType,
      protocolName: stable ? group.protocolName : '',
      members: [...group.members.values()].map((m) => ({
        memberId: m.id,
        clientId: m.clientId,
        metadata: stable ? (m.protocols.find((p) => p.name === group.protocolName)?.metadata ?? Buffer.alloc(0)) : Buffer.alloc(0),
        assignment: stable ? m.assignment : Buffer.alloc(0),
      })),
    };
  }

  // ---- offsets ------------------------------------------------------------------------------

  /** Validates a commit's membership; generation -1 with an empty member id is a standalone commit. */
  commitError(groupId: string, generationId: number, memberId: string): number {
    if (this.stopped) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const group = this.group(groupId);
    if (generationId < 0 && memberId === '') {
      return group.members.size === 0 ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    }
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    // As in Kafka: a member between JoinGroup and SyncGroup has no assignment to commit for. But
    // while a rebalance is only being prepared the current generation is still valid, so members
    // can commit what they finished before rejoining (they learn of the rebalance by heartbeat).
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.touch(group, member);
    return ErrorCode.NONE;
  }

  commit(groupId: string, topic: string, partition: number, offset: bigint, metadata: string | null): void {
    this.group(groupId).offsets.set(offsetKey(topic, partition), { offset, metadata });
  }

  committed(groupId: string, topic: string, partition: number): { offset: bigint; metadata: string | null } | undefined {
    return this.groups.get(groupId)?.offsets.get(offsetKey(topic, partition));
  }

  /** Every topic/partition the group has committed, for OffsetFetch with a null topic list. */
  committedPartitions(groupId: string): { topic: string; partition: number }[] {
    const group = this.groups.get(groupId);
    if (!group) return [];
    return [...group.offsets.keys()].map((key) => {
      const [topic, partition] = key.split('\0');
      return { topic, partition: Number(partition) };
    });
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Clears every timer and fails every waiting request: used when the broker stops. */
  stop(): void {
    this.stopped = true;
    for (const group of this.groups.values()) {
      if (group.rebalanceTimer) clearTimeout(group.rebalanceTimer);
      for (const timer of group.pendingMembers.values()) clearTimeout(timer);
      for (const member of group.members.values()) {
        if (member.sessionTimer) clearTimeout(member.sessionTimer);
        member.joinWaiter?.(this.joinFailure(member.id, ErrorCode.COORDINATOR_NOT_AVAILABLE));
        member.syncWaiter?.({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, assignment: Buffer.alloc(0) });
      }
    }
  }

  // ---- internals ----------------------------------------------------------------------------

  private joinFailure(memberId: string, errorCode: number): JoinResult {
    return { errorCode, generationId: -1, protocolName: '', leaderId: '', memberId, members: [] };
  }

  /** Protocols every current member (and the candidate offer) supports, in the offer's order. */
  private candidateProtocols(group: Group, offer: ProtocolOffer[]): string[] {
    return offer
      .map((p) => p.name)
      .filter((name) => [...group.members.values()].every((m) => m.protocols.some((p) => p.name === name)));
  }

  /** (Re)arms the member's session timer: heartbeats, commits and syncs all count as liveness. */
  private touch(group: Group, member: Member): void {
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    if (this.stopped) return;
    member.sessionTimer = setTimeout(() => {
      if (group.members.get(member.id) === member && !member.joinWaiter) this.removeMember(group, member.id);
    }, member.sessionTimeoutMs).unref();
  }

  private removeMember(group: Group, memberId: string): void {
    const member = group.members.get(memberId);
    if (!member) return;
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    group.members.delete(memberId);
    member.joinWaiter?.(this.joinFailure(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    member.syncWaiter?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: Buffer.alloc(0) });
    member.joinWaiter = undefined;
    member.syncWaiter = undefined;
    if (group.state === 'PreparingRebalance') this.maybeCompleteJoin(group);
    else if (group.members.size === 0) this.becomeEmpty(group);
    else this.prepareRebalance(group);
  }

  private becomeEmpty(group: Group): void {
    if (group.rebalanceTimer) clearTimeout(group.rebalanceTimer);
    group.rebalanceTimer = undefined;
    if (group.state !== 'Empty') group.generationId++;
    group.state = 'Empty';
    group.leaderId = '';
    group.protocolName = '';
  }

  private prepareRebalance(group: Group): void {
    // Members waiting for an assignment must rejoin: their generation is over.
    for (const member of group.members.values()) {
      const waiter = member.syncWaiter;
      member.syncWaiter = undefined;
      waiter?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: Buffer.alloc(0) });
    }
    group.state = 'PreparingRebalance';
    const timeout = Math.max(...[...group.members.values()].map((m) => m.rebalanceTimeoutMs));
    if (group.rebalanceTimer) clearTimeout(group.rebalanceTimer);
    group.rebalanceTimer = setTimeout(() => {
      group.rebalanceTimer = undefined;
      for (const member of [...group.members.values()]) {
        if (!member.joinWaiter) {
          if (member.sessionTimer) clearTimeout(member.sessionTimer);
          group.members.delete(member.id);
        }
      }
      this.completeJoin(group);
    }, timeout).unref();
  }

  private maybeCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    if ([...group.members.values()].every((m) => m.joinWaiter)) this.completeJoin(group);
  }

  private completeJoin(group: Group): void {
    if (group.rebalanceTimer) clearTimeout(group.rebalanceTimer);
    group.rebalanceTimer = undefined;
    const members = [...group.members.values()];
    if (members.length === 0) {
      this.becomeEmpty(group);
      return;
    }
    group.generationId++;
    group.state = 'CompletingRebalance';
    // Kafka's vote: each member picks its most preferred protocol that everyone supports.
    const candidates = this.candidateProtocols(group, members[0].protocols);
    const votes = new Map<string, number>();
    for (const m of members) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))?.name ?? candidates[0];
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    group.protocolName = [...votes.entries()].sort((a, b) => b[1] - a[1])[0][0];
    if (!group.members.has(group.leaderId)) group.leaderId = members[0].id;

    const memberList = members.map((m) => ({
      memberId: m.id,
      groupInstanceId: m.groupInstanceId,
      metadata: m.protocols.find((p) => p.name === group.protocolName)?.metadata ?? Buffer.alloc(0),
    }));
    for (const m of members) {
      m.assignment = Buffer.alloc(0);
      const waiter = m.joinWaiter;
      m.joinWaiter = undefined;
      this.touch(group, m);
      waiter?.({
        errorCode: ErrorCode.NONE,
        generationId: group.generationId,
        protocolName: group.protocolName,
        leaderId: group.leaderId,
        memberId: m.id,
        members: m.id === group.leaderId ? memberList : [],
      });
    }
  }
}
