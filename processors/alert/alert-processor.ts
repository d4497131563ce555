import type { AlertTestReport, IncidentTables } from '../../core/alerting/capability';
import type { EmailTargetConfig } from '../../core/alerting/target-configs';
import type { ComponentSettings, Host, Processor, SpanConsumer, TraceStore } from '../../core/component';
import type { ControlObject } from '../../core/control/objects';
import type { OnUnavailable } from '../../core/shared-state/config';
import type { SharedClaims } from '../../core/shared-state/claims';
import type { Leases } from '../../core/shared-state/leases';
import { GLOBAL_WORKSPACE } from '../../core/control/objects';
import type { ConsumeResult } from '../../core/evaluation';
import { PermanentError, TracehouseError, errorMessage } from '../../core/errors';
import type { SpanBatch } from '../../core/span';
import type { ProcessorTelemetry } from '../../core/telemetry';
import { describeCondition, thresholdOf, unitOf } from './conditions';
import { isPerSpanCondition, type AlertProcessorConfig, type AlertRuleConfig, type WindowedCondition } from './config';
import { IncidentStore } from './incident-store';
import { IncidentBook, incidentWorkspace, MAX_EXAMPLES, type Change, type Incident, type Reading } from './incidents';
import type { AlertNotification, NotificationKind } from './notification';
import { declaredRuleSpec, declaredTargetSpec, managedRules, managedTargetKey, managedTargets } from './managed-objects';
import type { ManagedTarget } from './managed-objects';
import { Notifier } from './notifier';
import { settingsNotification, settingsPlan } from './settings-notifications';
import type { SettingsRoutes } from './settings-notifications';
import { spanDimension } from './group';
import { mergeTraceIds, SpanRule } from './span-rules';
import { sendTests, testNotification } from './test-sends';
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
  /** The config's enabled rules. */
  private readonly configRules: AlertRuleConfig[];
  /** Every applied rule (config and managed), enabled or not, with its workspace ('*': the config's). */
  private allRules = new Map<string, { workspace: string; rule: AlertRuleConfig }>();
  /** The enabled rules. */
  private rules = new Map<string, AlertRuleConfig>();
  private spanRules: SpanRule[] = [];
  private windowRules: WindowRule[] = [];
  private ruleObjects: readonly ControlObject[] = [];
  private targets = new Map<string, ManagedTarget>();
  private settingsRoutes = new Map<string, SettingsRoutes>();
  private readonly unwatch: (() => void)[] = [];
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
  /** With shared state: windowed rules are evaluated and paged by the instance holding their lease. */
  private ownership: { leases: Leases; onUnavailable: OnUnavailable } | undefined;
  private readonly owned = new Set<string>();
  /** With shared state: per-span rules' incidents agreed on by every instance. */
  private claims: SharedClaims | undefined;
  private flushing: Promise<void> | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';

  constructor(
    private readonly config: AlertProcessorConfig,
    private readonly settings: ComponentSettings<ProcessorTelemetry>,
    private readonly next: SpanConsumer,
  ) {
    this.telemetry = settings.telemetry;
    this.configRules = config.rules;
    this.book = new IncidentBook({
      cooldownMs: config.cooldown_seconds * 1000,
      renotifyMs: config.renotify_interval_seconds * 1000,
      maxFiring: MAX_FIRING_INCIDENTS,
    });
    this.notifier = new Notifier(config.delivery, settings);
    this.notifier.sync('config', new Map(Object.entries(config.targets)));
    this.rebuildRules();
  }

  /** Rebuilds the applied rules from the config's and the managed ones; incidents of rules gone are closed silently. */
  private rebuildRules(): void {
    const managed = this.store ? managedRules(this.ruleObjects, (workspace, id) => this.targetKey(workspace, id), this.settings.logger) : [];
    if (!this.store && this.ruleObjects.some((o) => o.source === 'api')) {
      this.settings.logger.warn('alert rules managed over HTTP need a clickhouse exporter for incidents and windows; they are not applied');
    }
    const all = new Map<string, { workspace: string; rule: AlertRuleConfig }>();
    for (const rule of this.configRules) all.set(rule.id, { workspace: GLOBAL_WORKSPACE, rule });
    for (const m of managed) if (!all.has(m.rule.id)) all.set(m.rule.id, m);
    const rules = new Map<string, AlertRuleConfig>();
    const spanRules: SpanRule[] = [];
    const windowRules: WindowRule[] = [];
    for (const { rule } of all.values()) {
      if (!rule.enabled) continue;
      rules.set(rule.id, rule);
      if (isPerSpanCondition(rule.condition)) spanRules.push(new SpanRule(rule, rule.condition));
      else windowRules.push({ config: rule, condition: rule.condition });
    }
    this.allRules = all;
    this.rules = rules;
    this.spanRules = spanRules;
    this.windowRules = windowRules;
    const now = Date.now();
    const retired: Incident[] = [];
    for (const incident of this.book.active()) {
      if (rules.has(incident.ruleId)) continue;
      const closed = this.book.retire(incident.ruleId, incident.groupKey, now);
      if (closed) retired.push(closed);
    }
    if (retired.length) void this.persist(retired);
  }

  /** The notifier key of a target a rule of `workspace` names: the workspace's own, else the config's. */
  private targetKey(workspace: string, id: string): string | undefined {
    const managed = managedTargetKey(workspace, id);
    if (this.targets.has(managed)) return managed;
    return Object.prototype.hasOwnProperty.call(this.config.targets, id) ? id : undefined;
  }

  private applyTargets(objects: readonly ControlObject[]): void {
    const targets = managedTargets(objects, this.settings.logger, this.settingsEmailBase());
    this.targets = new Map(targets.map((t) => [t.key, t]));
    this.notifier.sync('api', new Map(targets.map((t) => [t.key, t.config])));
    this.rebuildRules();
  }

  private applyRules(objects: readonly ControlObject[]): void {
    this.ruleObjects = objects;
    this.rebuildRules();
  }

  private applySettings(objects: readonly ControlObject[]): void {
    const plan = settingsPlan(objects, this.settingsEmailBase(), this.settings.logger);
    this.notifier.sync('settings', plan.targets);
    this.settingsRoutes = plan.routes;
  }

  /** The email target whose SMTP server and sender send the workspace settings' e-mails and API e-mail targets without their own. */
  private settingsEmailBase(): EmailTargetConfig | undefined {
    const named = this.config.settings_email_target;
    const found = named !== undefined ? this.config.targets[named] : Object.values(this.config.targets).find((t) => t.type === 'email');
    return found?.type === 'email' ? found : undefined;
  }

  async start(host: Host): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'running';
    host.registerAdminAction(this.settings.id, 'evaluate', (_params, signal) => this.evaluate(signal));
    host.registerAdminAction(this.settings.id, 'test', (params, signal) => this.test(params, signal));
    host.objects.declare(this.settings.id, 'alert_rule', this.config.rules.map((rule) => ({ workspace: GLOBAL_WORKSPACE, id: rule.id, spec: declaredRuleSpec(rule) })));
    host.objects.declare(this.settings.id, 'delivery_target', Object.entries(this.config.targets).map(([id, target]) => ({ workspace: GLOBAL_WORKSPACE, id, spec: declaredTargetSpec(id, target) })));
    host.provide('alerting', {
      testRule: (workspace, ruleId) => this.testRule(workspace, ruleId),
      verifyTarget: (workspace, targetId) => this.verifyTarget(workspace, targetId),
      incidentTables: () => this.incidentTables(),
      hasEmailTransport: () => this.settingsEmailBase() !== undefined,
    });
    this.store = host.store(this.config.store);
    this.ownership = host.shared?.leases(this.settings.id);
    this.claims = host.shared?.claims(this.settings.id);
    this.unwatch.push(host.objects.watch('delivery_target', (objects) => this.applyTargets(objects)));
    this.unwatch.push(host.objects.watch('alert_rule', (objects) => this.applyRules(objects)));
    this.unwatch.push(host.objects.watch('settings', (objects) => this.applySettings(objects)));
    if (!this.store && this.configRules.some((r) => r.enabled)) {
      throw new TracehouseError(
        'PRC_ALERT_NO_STORE',
        this.config.store
          ? `store "${this.config.store}" is not a running clickhouse exporter: alert rules need one for incidents and windowed conditions`
          : 'no clickhouse exporter is running: alert rules need one for incidents and windowed conditions',
      );
    }
    if (!this.store) return;
    this.incidents = new IncidentStore(this.store, this.config.incidents_table);
    // A ClickHouse server may still be booting: preparing is retried by every round and write.
    if (this.rules.size > 0) {
      this.ensurePrepared().catch((err: unknown) =>
        this.settings.logger.warn({ err: errorMessage(err) }, 'incidents table not ready; retried on the next evaluation'),
      );
    }
    this.timer = setInterval(() => this.scheduledRound(), this.config.evaluation_interval_seconds * 1000);
    // The schedule alone must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  async shutdown(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    if (this.timer) clearInterval(this.timer);
    for (const stop of this.unwatch.splice(0)) stop();
    this.abort.abort();
    if (wasRunning) {
      await this.rounds.catch(() => undefined);
      await this.flush();
      // Another instance takes the rules over at its next round instead of after the leases expire.
      await this.ownership?.leases.releaseAll();
    }
    await this.notifier.shutdown();
  }

  consume(batch: SpanBatch, signal: AbortSignal): Promise<ConsumeResult | void> {
    // The default pipeline runs this processor with no rules and no settings notifications: then
    // the batch goes straight on, with no frame of its own and no work per span.
    if (this.spanRules.length === 0 && this.settingsRoutes.size === 0) return this.next.consume(batch, signal);
    return this.consumeThenAlert(batch, signal);
  }

  private async consumeThenAlert(batch: SpanBatch, signal: AbortSignal): Promise<ConsumeResult | void> {
    const result = await this.next.consume(batch, signal);
    // Only spans that were stored raise alerts, and alerting never delays or fails the answer.
    if ((this.spanRules.length > 0 || this.settingsRoutes.size > 0) && this.state === 'running') {
      try {
        if (this.spanRules.length > 0) this.observe(batch);
        if (this.settingsRoutes.size > 0) this.notifySettings(batch);
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

  /** Flagged and failed spans of workspaces whose settings ask to hear about them. */
  private notifySettings(batch: SpanBatch): void {
    for (const span of batch) {
      const verdict = span.attributes['tracehouse.verdict'];
      if (verdict !== 'flagged' && verdict !== 'error') continue;
      const keys = this.settingsRoutes.get(spanDimension(span, 'workspace'))?.[verdict];
      if (keys && keys.length > 0) this.notifier.notify(keys, settingsNotification(span, verdict, this.config.trace_link));
    }
  }

  private fire(reading: Reading, now: number, changes: Change[]): void {
    const applied = this.allRules.get(reading.ruleId);
    const workspace = incidentWorkspace(applied?.workspace ?? GLOBAL_WORKSPACE, applied?.rule.filter.workspace, reading.group);
    const change = this.book.fire({ ...reading, workspace }, now);
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
        if (!(await this.owns(rule.config.id))) continue;
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

  /**
   * Per-span rules with shared state: every instance sees its own spans, so the instances agree on
   * one incident per rule and group through a claim in Redis. The first to open it pages and names
   * it; the others adopt its id and stay quiet; every instance seeing matching spans keeps the claim
   * alive; an incident resolves (and pages, once) only when nobody renewed it for the cooldown.
   * With Redis away, changes go through as on a single instance.
   */
  private async arbitrate(changes: readonly Change[], claims: SharedClaims): Promise<Change[]> {
    const ttlMs = Math.max(this.config.cooldown_seconds * 1000, 1_000);
    const out: Change[] = [];
    for (const change of changes) {
      const { incident } = change;
      if (!this.spanRules.some((r) => r.config.id === incident.ruleId)) {
        out.push(change);
        continue;
      }
      const name = `incident:${incident.ruleId}:${incident.groupKey}`;
      try {
        if (incident.status === 'firing') {
          if (change.notify === 'firing') {
            const holder = await claims.claim(name, incident.id, ttlMs);
            if (holder !== incident.id) {
              out.push({ incident: this.book.adopt(incident.ruleId, incident.groupKey, holder) ?? { ...incident, id: holder } });
              continue;
            }
          } else await claims.renew(name, ttlMs);
          out.push(change);
          continue;
        }
        if (await claims.held(name)) {
          // Another instance still sees matching spans: keep it open here too, look again next round.
          this.book.restore({ ...incident, status: 'firing', resolvedAt: undefined });
          continue;
        }
        if (await claims.first(`resolved:${incident.id}`, ttlMs * 10)) out.push(change);
      } catch {
        out.push(change);
      }
    }
    return out;
  }

  /**
   * Whether this instance evaluates and pages the windowed rule now: always without shared state;
   * with it, while this instance holds the rule's lease. An instance that takes a rule over
   * continues its incidents from the incidents table; one that lost it forgets them silently.
   */
  private async owns(ruleId: string): Promise<boolean> {
    if (!this.ownership) return true;
    const ttlMs = Math.max(3 * this.config.evaluation_interval_seconds * 1000, 3_000);
    let held: boolean;
    try {
      held = await this.ownership.leases.hold(`rule:${ruleId}`, ttlMs);
    } catch {
      held = this.ownership.onUnavailable === 'allow';
    }
    if (!held) {
      this.owned.delete(ruleId);
      this.book.forget(ruleId);
      return false;
    }
    if (!this.owned.has(ruleId)) {
      this.owned.add(ruleId);
      const firing = await (this.incidents as IncidentStore).loadFiring(this.abort.signal);
      for (const incident of firing) if (incident.ruleId === ruleId) this.book.restore(incident);
    }
    return true;
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
  private async apply(proposed: readonly Change[]): Promise<void> {
    const changes = this.claims ? await this.arbitrate(proposed, this.claims) : proposed;
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

  /** Where incidents are stored, the table made first (the read API's incidents routes). */
  private async incidentTables(): Promise<IncidentTables | undefined> {
    if (!this.store || !this.incidents) return undefined;
    await this.ensurePrepared();
    return { store: this.store, incidents: this.config.incidents_table, spans: this.config.spans_table };
  }

  /** A test alert to every target of a rule the workspace sees (the API's POST .../alert-rules/:ruleId/test). */
  private async testRule(workspace: string, ruleId: string): Promise<AlertTestReport | undefined> {
    const found = this.allRules.get(ruleId);
    if (!found || (found.workspace !== GLOBAL_WORKSPACE && found.workspace !== workspace)) return undefined;
    const { rule } = found;
    const notification = testNotification(rule.id, rule.name, rule.severity, `test alert for rule "${rule.name}": ${describeCondition(rule.condition)}`);
    const name = (key: string) => (key.startsWith(`${found.workspace}/`) ? key.slice(found.workspace.length + 1) : key);
    return sendTests(this.notifier, rule.targets.map((key) => ({ key, name: name(key) })), notification, this.abort.signal);
  }

  /** A verification message to one target the workspace sees (POST .../deliveries/:targetId/verify). */
  private async verifyTarget(workspace: string, targetId: string): Promise<AlertTestReport | undefined> {
    const key = this.targetKey(workspace, targetId);
    if (!key) return undefined;
    const managed = this.targets.get(key);
    const label = managed?.name ?? targetId;
    const notification = testNotification('verify', 'Tracehouse verification', managed?.defaultSeverity ?? 'medium', `delivery target "${label}" is set up: this is a verification message`);
    return sendTests(this.notifier, [{ key, name: targetId }], notification, this.abort.signal);
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
