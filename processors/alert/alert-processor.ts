import type { ComponentSettings, Host, Processor, SpanConsumer, TraceStore } from '../../core/component';
import type { ConsumeResult } from '../../core/evaluation';
import { PermanentError, TracehouseError, errorMessage } from '../../core/errors';
import type { SpanBatch } from '../../core/span';
import type { ProcessorTelemetry } from '../../core/telemetry';
import { describeCondition, thresholdOf, unitOf } from './conditions';
import { isPerSpanCondition, type AlertProcessorConfig, type AlertRuleConfig, type WindowedCondition } from './config';
import { IncidentStore } from './incident-store';
import { IncidentBook, MAX_EXAMPLES, type Change, type Incident, type Reading } from './incidents';
import type { AlertNotification, NotificationKind } from './notification';
import { Notifier } from './notifier';
import { mergeTraceIds, SpanRule } from './span-rules';
import { readWindow } from './window-rules';

/** Firing incidents one process keeps; beyond it new ones are counted (incident_dropped), not opened. */
export const MAX_FIRING_INCIDENTS = 10_000;

interface WindowRule {
  config: AlertRuleConfig;
  condition: WindowedCondition;
}

/** An incident as the admin actions answer it: times in ISO 8601. */
export interface IncidentView {
  incidentId: string;
  ruleId: string;
  ruleName: string;
  severity: string;
  status: string;
  group: Record<string, string>;
  condition: string;
  value: number;
  threshold: number;
  firstSeen: string;
  lastSeen: string;
  resolvedAt?: string;
  exampleTraceIds: string[];
}

export interface RoundResult {
  evaluatedAt: string;
  /** Every incident firing after the round. */
  firing: IncidentView[];
  /** Incidents this round resolved. */
  resolved: IncidentView[];
  /** Rules whose query failed this round (their incidents were left as they were). */
  errors: { ruleId: string; error: string }[];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function view(incident: Incident): IncidentView {
  return {
    incidentId: incident.id,
    ruleId: incident.ruleId,
    ruleName: incident.ruleName,
    severity: incident.severity,
    status: incident.status,
    group: incident.group,
    condition: incident.condition,
    value: incident.value,
    threshold: incident.threshold,
    firstSeen: iso(incident.firstSeen),
    lastSeen: iso(incident.lastSeen),
    ...(incident.resolvedAt !== undefined ? { resolvedAt: iso(incident.resolvedAt) } : {}),
    exampleTraceIds: incident.exampleTraceIds,
  };
}

/**
 * Passes every batch on unchanged; afterwards (the spans are durable by then) checks per-span
 * rules on it. Windowed rules run on a timer against the store. Both open, update and resolve
 * incidents in one IncidentBook; every change is written to the incidents table and the
 * notifications it calls for are queued to the rule's targets.
 */
export class AlertProcessor implements Processor {
  private readonly telemetry: ProcessorTelemetry;
  private readonly rules = new Map<string, AlertRuleConfig>();
  private readonly spanRules: SpanRule[] = [];
  private readonly windowRules: WindowRule[] = [];
  private readonly book: IncidentBook;
  private readonly notifier: Notifier;
  private readonly abort = new AbortController();
  private store: TraceStore | undefined;
  private incidents: IncidentStore | undefined;
  private timer: NodeJS.Timeout | undefined;
  private preparing: Promise<void> | undefined;
  private rounds: Promise<unknown> = Promise.resolve();
  /** Rounds queued or running. */
  private roundsPending = 0;
  private readonly pendingRows = new Map<string, Incident>();
  private flushing: Promise<void> | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';

  constructor(
    private readonly config: AlertProcessorConfig,
    private readonly settings: ComponentSettings<ProcessorTelemetry>,
    private readonly next: SpanConsumer,
  ) {
    this.telemetry = settings.telemetry;
    for (const rule of config.rules) {
      if (!rule.enabled) continue;
      this.rules.set(rule.id, rule);
      if (isPerSpanCondition(rule.condition)) this.spanRules.push(new SpanRule(rule, rule.condition));
      else this.windowRules.push({ config: rule, condition: rule.condition });
    }
    this.book = new IncidentBook({
      cooldownMs: config.cooldown_seconds * 1000,
      renotifyMs: config.renotify_interval_seconds * 1000,
      maxFiring: MAX_FIRING_INCIDENTS,
    });
    this.notifier = new Notifier(config, settings);
  }

  async start(host: Host): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'running';
    host.registerAdminAction(this.settings.id, 'evaluate', (_params, signal) => this.evaluate(signal));
    host.registerAdminAction(this.settings.id, 'test', (params, signal) => this.test(params, signal));
    if (this.rules.size === 0) return;
    this.store = host.store(this.config.store);
    if (!this.store) {
      throw new TracehouseError(
        'PRC_ALERT_NO_STORE',
        this.config.store
          ? `store "${this.config.store}" is not a running clickhouse exporter: alert rules need one for incidents and windowed conditions`
          : 'no clickhouse exporter is running: alert rules need one for incidents and windowed conditions',
      );
    }
    this.incidents = new IncidentStore(this.store, this.config.incidents_table);
    // A ClickHouse server may still be booting: preparing is retried by every round and write.
    this.ensurePrepared().catch((err: unknown) =>
      this.settings.logger.warn({ err: errorMessage(err) }, 'incidents table not ready; retried on the next evaluation'),
    );
    this.timer = setInterval(() => this.scheduledRound(), this.config.evaluation_interval_seconds * 1000);
    // The schedule alone must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  async shutdown(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    if (this.timer) clearInterval(this.timer);
    this.abort.abort();
    if (wasRunning) {
      await this.rounds.catch(() => undefined);
      await this.flush();
    }
    await this.notifier.shutdown();
  }

  async consume(batch: SpanBatch, signal: AbortSignal): Promise<ConsumeResult | void> {
    const result = await this.next.consume(batch, signal);
    // Only spans that were stored raise alerts, and alerting never delays or fails the answer.
    if (this.spanRules.length > 0 && this.state === 'running') {
      try {
        this.observe(batch);
      } catch (err) {
        this.settings.logger.error({ err: errorMessage(err) }, 'per-span alert rules failed on a batch');
        this.telemetry.event('rule_error', 1);
      }
    }
    return result;
  }

  private observe(batch: SpanBatch): void {
    const now = Date.now();
    const changes: Change[] = [];
    for (const rule of this.spanRules) {
      for (const matches of rule.match(batch, MAX_EXAMPLES)) {
        const open = this.book.get(rule.config.id, matches.groupKey);
        this.fire(
          {
            ...this.ruleFacts(rule.config),
            groupKey: matches.groupKey,
            group: matches.group,
            value: rule.valueAfter(open?.value, matches),
            exampleTraceIds: mergeTraceIds(matches.traceIds, open?.exampleTraceIds ?? [], MAX_EXAMPLES),
          },
          now,
          changes,
        );
      }
    }
    if (changes.length) void this.apply(changes);
  }

  private fire(reading: Reading, now: number, changes: Change[]): void {
    const change = this.book.fire(reading, now);
    if (change) changes.push(change);
    else this.telemetry.event('incident_dropped', 1);
  }

  private ruleFacts(rule: AlertRuleConfig) {
    return {
      ruleId: rule.id,
      ruleName: rule.name,
      severity: rule.severity,
      condition: describeCondition(rule.condition),
      threshold: thresholdOf(rule.condition),
    };
  }

  /** Runs one round now (the `evaluate` action); rounds never overlap. */
  evaluate(signal?: AbortSignal): Promise<RoundResult> {
    this.roundsPending += 1;
    const round = this.rounds.then(() => this.round(signal)).finally(() => (this.roundsPending -= 1));
    this.rounds = round.catch(() => undefined);
    return round;
  }

  private scheduledRound(): void {
    // A round slower than the interval is not stacked up behind itself.
    if (this.roundsPending > 0 || this.state !== 'running') return;
    this.evaluate(this.abort.signal).catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.settings.logger.warn({ err: errorMessage(err) }, 'alert evaluation round failed');
    });
  }

  private async round(signal?: AbortSignal): Promise<RoundResult> {
    if (this.state !== 'running') throw new TracehouseError('PRC_ALERT_STOPPED', 'the alert processor is not running');
    if (this.rules.size > 0) await this.ensurePrepared();
    const combined = signal ? AbortSignal.any([signal, this.abort.signal]) : this.abort.signal;
    const now = Date.now();
    const changes: Change[] = [];
    const errors: RoundResult['errors'] = [];
    for (const rule of this.windowRules) {
      try {
        changes.push(...(await this.evaluateWindow(rule, now, combined)));
      } catch (err) {
        if (combined.aborted) throw err;
        // A failed query says nothing about the condition: its incidents stay as they are.
        errors.push({ ruleId: rule.config.id, error: errorMessage(err) });
        this.telemetry.event('evaluation_error', 1);
        this.settings.logger.warn({ rule: rule.config.id, err: errorMessage(err) }, 'windowed alert rule could not be evaluated');
      }
    }
    for (const rule of this.spanRules) changes.push(...this.book.resolveQuiet(rule.config.id, now));
    await this.apply(changes);
    return {
      evaluatedAt: iso(now),
      firing: this.book.active().map(view),
      resolved: changes.filter((c) => c.incident.status === 'resolved').map((c) => view(c.incident)),
      errors,
    };
  }

  private async evaluateWindow(rule: WindowRule, now: number, signal: AbortSignal): Promise<Change[]> {
    const store = this.store as TraceStore;
    const facts = this.ruleFacts(rule.config);
    const readings = await readWindow(store, rule.config, rule.condition, facts.threshold, this.config.spans_table, signal);
    const changes: Change[] = [];
    const crossing = new Set<string>();
    for (const reading of readings) {
      crossing.add(reading.groupKey);
      this.fire({ ...facts, ...reading }, now, changes);
    }
    for (const incident of this.book.active(rule.config.id)) {
      if (crossing.has(incident.groupKey)) continue;
      const change = this.book.clear(rule.config.id, incident.groupKey, now);
      if (change) changes.push(change);
    }
    return changes;
  }

  /** Queues the notifications the changes call for and writes the changes to the incidents table. */
  private apply(changes: readonly Change[]): Promise<void> {
    for (const change of changes) {
      if (!change.notify) continue;
      const rule = this.rules.get(change.incident.ruleId);
      this.telemetry.event('incident', 1, change.notify);
      this.settings.logger.info({ rule: change.incident.ruleId, incident: change.incident.id, kind: change.notify }, `incident ${change.notify}`);
      if (rule) this.notifier.notify(rule.targets, this.notification(change.incident, change.notify));
    }
    return this.persist(changes.map((c) => c.incident));
  }

  private notification(incident: Incident, kind: NotificationKind): AlertNotification {
    const rule = this.rules.get(incident.ruleId);
    const link = this.config.trace_link;
    return {
      kind,
      incidentId: incident.id,
      ruleId: incident.ruleId,
      ruleName: incident.ruleName,
      severity: incident.severity,
      condition: incident.condition,
      group: incident.group,
      value: incident.value,
      threshold: incident.threshold,
      ...(rule ? { unit: unitOf(rule.condition) } : {}),
      firstSeen: iso(incident.firstSeen),
      lastSeen: iso(incident.lastSeen),
      ...(incident.resolvedAt !== undefined ? { resolvedAt: iso(incident.resolvedAt) } : {}),
      exampleTraceIds: incident.exampleTraceIds,
      ...(link ? { exampleTraceLinks: incident.exampleTraceIds.map((id) => link.replaceAll('{trace_id}', encodeURIComponent(id))) } : {}),
    };
  }

  /**
   * Row versions are coalesced by incident: while one insert runs, later versions of the same
   * incident replace each other, so a burst of matching spans costs a few inserts, not one each.
   * Resolves once everything handed in so far is written (or failed and was counted).
   */
  private persist(incidents: readonly Incident[]): Promise<void> {
    for (const incident of incidents) this.pendingRows.set(incident.id, incident);
    return this.flush();
  }

  private flush(): Promise<void> {
    if (this.pendingRows.size === 0) return this.flushing ?? Promise.resolve();
    this.flushing ??= this.drain();
    return this.flushing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pendingRows.size > 0 && this.incidents) {
        try {
          await this.ensurePrepared();
        } catch (err) {
          // Kept for the next flush: the table may be there by the next round.
          this.settings.logger.warn({ err: errorMessage(err), incidents: this.pendingRows.size }, 'incidents table not ready; writes wait for the next round');
          return;
        }
        const rows = [...this.pendingRows.values()];
        this.pendingRows.clear();
        try {
          await this.incidents.write(rows);
        } catch (err) {
          this.telemetry.event('incident_write_failed', rows.length);
          this.settings.logger.error({ err: errorMessage(err), incidents: rows.length }, 'incident changes could not be stored');
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private ensurePrepared(): Promise<void> {
    this.preparing ??= this.prepare().catch((err: unknown) => {
      this.preparing = undefined;
      throw err;
    });
    return this.preparing;
  }

  /** Creates the incidents table and takes back the incidents that were firing at the last stop. */
  private async prepare(): Promise<void> {
    const incidents = this.incidents as IncidentStore;
    await incidents.ensureTable();
    const firing = await incidents.loadFiring(this.abort.signal);
    const now = Date.now();
    const retired: Incident[] = [];
    for (const incident of firing) {
      if (this.rules.has(incident.ruleId)) {
        this.book.restore(incident);
        continue;
      }
      // Its rule was removed or disabled: nothing will ever clear it, so it is closed, silently.
      this.book.restore(incident);
      const closed = this.book.retire(incident.ruleId, incident.groupKey, now);
      if (closed) retired.push(closed);
    }
    if (firing.length) this.settings.logger.info({ restored: firing.length - retired.length, retired: retired.length }, 'firing incidents loaded');
    for (const incident of retired) this.pendingRows.set(incident.id, incident);
    if (retired.length) void this.flush();
  }

  /** The `test` action: one test notification to one target, answered once delivered. */
  private async test(params: Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
    const target = params.target;
    if (typeof target !== 'string' || target === '') {
      throw new PermanentError('PRC_ALERT_BAD_ACTION', 'the test action needs {"target": "<target id>"}');
    }
    const now = iso(Date.now());
    const notification: AlertNotification = {
      kind: 'test',
      incidentId: 'test',
      ruleId: 'test',
      ruleName: 'Tracehouse test alert',
      severity: 'low',
      condition: `test notification from ${this.settings.id} to target ${target}`,
      group: {},
      value: 0,
      threshold: 0,
      firstSeen: now,
      lastSeen: now,
      exampleTraceIds: [],
    };
    const combined = AbortSignal.any([signal, this.abort.signal]);
    return { delivered: true, ...(await this.notifier.sendNow(target, notification, combined)) };
  }
}
