/**
 * The incident state machine, kept free of I/O and clocks (every call takes `now`) so that its
 * rules — open once, update while firing, re-send at most once per interval, resolve only after
 * the condition stayed clear for the cooldown — can be tested step by step.
 */
import { createHash } from 'node:crypto';
import type { Severity } from '../../core/evaluation';
import { GLOBAL_WORKSPACE } from '../../core/control/objects';
import type { Group } from './group';
import type { NotificationKind } from './notification';

export type IncidentStatus = 'firing' | 'resolved';

/** One incident as stored (one row version of the incidents table). Times are Unix milliseconds. */
export interface Incident {
  id: string;
  ruleId: string;
  ruleName: string;
  severity: Severity;
  status: IncidentStatus;
  groupKey: string;
  group: Group;
  /** Human-readable condition, e.g. "avg latency over 300 s > 2000 ms". */
  condition: string;
  value: number;
  threshold: number;
  firstSeen: number;
  lastSeen: number;
  resolvedAt?: number;
  exampleTraceIds: string[];
  updatedAt: number;
  /** The workspace it belongs to (incidentWorkspace); absent or '': global, listed by no workspace's API. */
  workspace?: string;
}

/** What a rule says when its condition holds for a group. */
export interface Reading {
  ruleId: string;
  ruleName: string;
  severity: Severity;
  condition: string;
  groupKey: string;
  group: Group;
  value: number;
  threshold: number;
  exampleTraceIds: readonly string[];
  /** The workspace of the incident it opens (kept for the incident's life). */
  workspace?: string;
}

/** A state change: the incident's new version, and the notification it calls for (if any). */
export interface Change {
  incident: Incident;
  notify?: NotificationKind;
}

export interface IncidentBookOptions {
  cooldownMs: number;
  renotifyMs: number;
  /** Firing incidents kept at most; a group_by over a per-request attribute must not grow without bound. */
  maxFiring: number;
}

interface Tracked {
  incident: Incident;
  lastNotifiedAt: number;
  /** When the condition was first seen clear since it last held (windowed rules). */
  clearSince?: number;
}

export const MAX_EXAMPLES = 3;

/** Deterministic: the same rule, group and opening instant always give the same id. */
export function incidentId(ruleId: string, groupKey: string, openedAt: number): string {
  return createHash('sha256').update(`${ruleId}\u0000${groupKey}\u0000${openedAt}`).digest('hex').slice(0, 32);
}

/**
 * The workspace an incident belongs to: the workspace of a rule managed over HTTP; for a rule of
 * pipelines.yaml (workspace '*'), its filter.workspace, else the workspace its group names
 * (group_by: [workspace]); else '' (a global incident, which no workspace's API lists).
 */
export function incidentWorkspace(ruleWorkspace: string, filterWorkspace: string | undefined, group: Group): string {
  if (ruleWorkspace !== GLOBAL_WORKSPACE) return ruleWorkspace;
  if (filterWorkspace !== undefined && filterWorkspace !== '') return filterWorkspace;
  return group.workspace ?? '';
}

function trackingKey(ruleId: string, groupKey: string): string {
  return `${ruleId}\u0000${groupKey}`;
}

/** Row versions are ordered by updated_at, so two versions written in one millisecond must still differ. */
function nextUpdate(previous: Incident | undefined, now: number): number {
  return previous === undefined ? now : Math.max(now, previous.updatedAt + 1);
}

/** The firing incidents of one process, by rule and group. */
export class IncidentBook {
  private readonly firing = new Map<string, Tracked>();

  constructor(private readonly options: IncidentBookOptions) {}

  /**
   * The rule's condition holds for a group now. Opens an incident (notify 'firing'), or updates the
   * open one, re-sending it ('updated') when the last notification is renotify_interval old.
   * Undefined when a new incident would exceed maxFiring (the caller counts it).
   */
  fire(reading: Reading, now: number): Change | undefined {
    const key = trackingKey(reading.ruleId, reading.groupKey);
    const tracked = this.firing.get(key);
    if (!tracked) {
      if (this.firing.size >= this.options.maxFiring) return undefined;
      const incident: Incident = {
        id: incidentId(reading.ruleId, reading.groupKey, now),
        ruleId: reading.ruleId,
        ruleName: reading.ruleName,
        severity: reading.severity,
        status: 'firing',
        groupKey: reading.groupKey,
        group: { ...reading.group },
        condition: reading.condition,
        value: reading.value,
        threshold: reading.threshold,
        firstSeen: now,
        lastSeen: now,
        exampleTraceIds: reading.exampleTraceIds.slice(0, MAX_EXAMPLES),
        updatedAt: now,
        ...(reading.workspace !== undefined ? { workspace: reading.workspace } : {}),
      };
      this.firing.set(key, { incident, lastNotifiedAt: now });
      return { incident: { ...incident }, notify: 'firing' };
    }
    const previous = tracked.incident;
    tracked.incident = {
      ...previous,
      // A rule edited in place keeps its incident; what it is called and how grave follow the config.
      ruleName: reading.ruleName,
      severity: reading.severity,
      condition: reading.condition,
      value: reading.value,
      threshold: reading.threshold,
      lastSeen: Math.max(previous.lastSeen, now),
      exampleTraceIds: reading.exampleTraceIds.slice(0, MAX_EXAMPLES),
      updatedAt: nextUpdate(previous, now),
    };
    tracked.clearSince = undefined;
    if (now - tracked.lastNotifiedAt >= this.options.renotifyMs) {
      tracked.lastNotifiedAt = now;
      return { incident: { ...tracked.incident }, notify: 'updated' };
    }
    return { incident: { ...tracked.incident } };
  }

  /**
   * The rule's condition does not hold for the group now (a windowed rule's round found it
   * clear). Resolves the incident once it has been clear for the cooldown.
   */
  clear(ruleId: string, groupKey: string, now: number): Change | undefined {
    const tracked = this.firing.get(trackingKey(ruleId, groupKey));
    if (!tracked) return undefined;
    tracked.clearSince ??= now;
    return now - tracked.clearSince >= this.options.cooldownMs ? this.resolve(tracked, now) : undefined;
  }

  /**
   * Per-span rules have no "clear" reading: their incident is clear from the last matching span
   * on, and resolves once no matching span came for the cooldown.
   */
  resolveQuiet(ruleId: string, now: number): Change[] {
    const changes: Change[] = [];
    for (const tracked of [...this.firing.values()]) {
      if (tracked.incident.ruleId !== ruleId) continue;
      if (now - tracked.incident.lastSeen >= this.options.cooldownMs) changes.push(this.resolve(tracked, now));
    }
    return changes;
  }

  /** Resolves an incident without notifying anyone (its rule is gone from the config). */
  retire(ruleId: string, groupKey: string, now: number): Incident | undefined {
    const tracked = this.firing.get(trackingKey(ruleId, groupKey));
    return tracked ? this.resolve(tracked, now).incident : undefined;
  }

  private resolve(tracked: Tracked, now: number): Change {
    const previous = tracked.incident;
    this.firing.delete(trackingKey(previous.ruleId, previous.groupKey));
    const incident: Incident = { ...previous, status: 'resolved', resolvedAt: now, updatedAt: nextUpdate(previous, now) };
    return { incident, notify: 'resolved' };
  }

  /**
   * Takes back incidents that were firing when the process last stopped. Their last notification
   * time is not stored; the last update stands in for it, so a restart never re-pages at once.
   */
  restore(incident: Incident): void {
    const key = trackingKey(incident.ruleId, incident.groupKey);
    const known = this.firing.get(key);
    if (known && known.incident.updatedAt >= incident.updatedAt) return;
    this.firing.set(key, { incident: { ...incident }, lastNotifiedAt: incident.updatedAt });
  }

  /** Gives a firing incident the id another instance opened it under (one incident for both). */
  adopt(ruleId: string, groupKey: string, id: string): Incident | undefined {
    const tracked = this.firing.get(trackingKey(ruleId, groupKey));
    if (!tracked) return undefined;
    tracked.incident = { ...tracked.incident, id };
    return { ...tracked.incident };
  }

  /** Drops one incident without resolving it (another instance still sees its condition). */
  forgetOne(ruleId: string, groupKey: string): void {
    this.firing.delete(trackingKey(ruleId, groupKey));
  }

  /** Drops a rule's incidents without resolving them (another instance owns the rule now). */
  forget(ruleId: string): void {
    for (const [key, tracked] of [...this.firing]) if (tracked.incident.ruleId === ruleId) this.firing.delete(key);
  }

  get size(): number {
    return this.firing.size;
  }

  /** The firing incident of a rule and group, as a copy. */
  get(ruleId: string, groupKey: string): Incident | undefined {
    const tracked = this.firing.get(trackingKey(ruleId, groupKey));
    return tracked ? { ...tracked.incident, group: { ...tracked.incident.group } } : undefined;
  }

  /** Firing incidents, of one rule or all, as copies. */
  active(ruleId?: string): Incident[] {
    const out: Incident[] = [];
    for (const { incident } of this.firing.values()) {
      if (ruleId === undefined || incident.ruleId === ruleId) out.push({ ...incident, group: { ...incident.group } });
    }
    return out;
  }
}
