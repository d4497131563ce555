import { handOn, type ComponentSettings, type Host, type Processor, type SpanConsumer } from '../../core/component';
import { ObjectWarnings } from '../../core/control/object-warnings';
import type { ControlObject } from '../../core/control/objects';
import { GLOBAL_WORKSPACE } from '../../core/control/objects';
import { SETTINGS_OBJECT_ID } from '../../core/control/workspace-settings';
import { apiRuleIdentity, apiRuleOf, engineRuleOf, projectNamesOf } from '../../core/rules/api-rules';
import type { ApiRule } from '../../core/rules/api-rules';
import { errorMessage, ShuttingDownError } from '../../core/errors';
import { RateLimitedWarn } from '../../core/rate-limited-warn';
import { mergeConsumeResults, spanKey, verdictOf } from '../../core/evaluation';
import type { ConsumeResult, Finding, Severity, SpanEvaluation, StoredSpansEvaluation, Verdict } from '../../core/evaluation';
import { IngestError } from '../../core/ingest/problems';
import { copyAttributes, makeSpan, withSpanAttributes } from '../../core/span';
import type { Attributes, Span, SpanBatch } from '../../core/span';
import type { ProcessorTelemetry } from '../../core/telemetry';
import { AgentRunDetector, agentRunSpanKey } from './agent-runs';
import { CallbackSender } from './callbacks';
import type { EvaluateRulesProcessorConfig } from './config';
import { JUDGE_COST_ATTRIBUTE, SpanJudge } from './judge-rules';
import type { SpanJudgement } from './judge-rules';
import { ruleConfigSchema } from './rule-config';
import type { RuleConfig } from './rule-config';
import { RuleEngine } from './rule-engine';
import type { ManagedRuleExtras } from './rule-engine';
import { projectNamesTest } from './rule-scope';

export const VERDICT_ATTRIBUTE = 'tracehouse.verdict';
export const FINDINGS_ATTRIBUTE = 'tracehouse.findings';
export const SEVERITY_ATTRIBUTE = 'tracehouse.verdict.severity';

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

/** The gravest severity among triggered findings; undefined when none triggered. */
export function severityOf(findings: readonly Finding[]): Severity | undefined {
  let gravest: Severity | undefined;
  for (const f of findings) {
    if (f.outcome === 'triggered' && (gravest === undefined || SEVERITY_RANK[f.severity] > SEVERITY_RANK[gravest])) gravest = f.severity;
  }
  return gravest;
}

/** A copy of the span carrying its verdict, findings and severity. */
export function withEvaluation(span: Span, evaluation: SpanEvaluation): Span {
  const severity = severityOf(evaluation.findings);
  const attributes = copyAttributes(span.attributes);
  attributes[VERDICT_ATTRIBUTE] = evaluation.verdict;
  attributes[FINDINGS_ATTRIBUTE] = JSON.stringify(evaluation.findings);
  // A severity left by an earlier evaluation (an upstream tier) must not outlive this verdict.
  if (severity === undefined) delete attributes[SEVERITY_ATTRIBUTE];
  else attributes[SEVERITY_ATTRIBUTE] = severity;
  return { ...span, attributes };
}

interface Evaluated {
  span: Span;
  evaluation: SpanEvaluation;
}

/**
 * Evaluates the configured rules and the agent-run detections on every span, records the verdict
 * on the spans they apply to, and answers with the evaluations (for a log API's `sync: true`).
 * Once the spans are durable, each evaluation goes to the span's callback URL, if it has one.
 */
export class EvaluateRulesProcessor implements Processor {
  /** The rules of the config plus those managed over HTTP (control-plane kind `rule`), rebuilt on every change. */
  private engine: RuleEngine;
  private unwatch: (() => void) | undefined;
  private readonly ruleWarnings: ObjectWarnings;
  private readonly detector: AgentRunDetector;
  private readonly callbacks: CallbackSender;
  private readonly telemetry: ProcessorTelemetry;
  /** Runs llm_judge rules; calls nothing while no such rule exists. */
  private readonly judge: SpanJudge;
  private readonly judgeWarn: RateLimitedWarn;
  private host: Host | undefined;
  private stopped = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly config: EvaluateRulesProcessorConfig,
    private readonly settings: ComponentSettings<ProcessorTelemetry>,
    private readonly next: SpanConsumer,
  ) {
    this.engine = new RuleEngine(config.rules);
    this.detector = new AgentRunDetector(config.agent_runs);
    this.telemetry = settings.telemetry;
    this.ruleWarnings = new ObjectWarnings(settings.logger);
    this.callbacks = new CallbackSender(config.callbacks, { logger: settings.logger, telemetry: settings.telemetry });
    // Judge keys and models may come from the workspace's settings object (secrets decrypted in memory).
    this.judge = new SpanJudge(config.judge, (workspace) => this.host?.objects.get('settings', workspace, SETTINGS_OBJECT_ID)?.spec);
    this.judgeWarn = new RateLimitedWarn(settings.logger, 'llm_judge rules got no verdict (the findings say why)');
  }

  async start(host: Host): Promise<void> {
    this.host = host;
    host.objects.declare(
      this.settings.id,
      'rule',
      this.config.rules.map((rule) => ({ workspace: rule.scope?.workspace ?? GLOBAL_WORKSPACE, id: rule.id, spec: apiRuleOf(rule) })),
    );
    this.unwatch = host.objects.watch('rule', (objects) => this.applyManagedRules(objects));
    host.provide('ruleEvaluator', {
      evaluate: (rule, output, options) => this.evaluateOne(rule, output, options),
      evaluateSpans: (spans, options) => this.evaluateStored(spans, options),
    });
    host.provide('decisionCallbacks', this.callbacks);
  }

  /**
   * One API rule against one output, nothing stored (POST /api/rules/evaluate); scope is not
   * applied. An llm_judge rule calls the judge with the caller's workspace settings.
   */
  private async evaluateOne(rule: Record<string, unknown>, output: string, options: { confidence?: number; workspace: string; signal?: AbortSignal }): Promise<Finding[]> {
    const spec = { ...rule, projectName: undefined, taskName: undefined, isActive: true } as ApiRule;
    const parsed = ruleConfigSchema.safeParse(engineRuleOf(undefined, typeof rule.id === 'string' ? rule.id : 'evaluate', spec));
    if (!parsed.success) throw new IngestError(422, 'RCV_VALIDATION', `the rule cannot be evaluated: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'rule'}: ${i.message}`).join('; ')}`);
    const attributes: Attributes = { 'gen_ai.completion': output, 'tracehouse.workspace': options.workspace };
    if (options.confidence !== undefined) attributes['tracehouse.confidence'] = options.confidence;
    const span = makeSpan({ traceId: '0'.repeat(31) + '1', spanId: '0'.repeat(15) + '1', name: 'evaluate', attributes });
    const engine = new RuleEngine([parsed.data], new Map([[parsed.data, { shown: apiRuleIdentity(rule as ApiRule) }]]));
    const findings = engine.evaluate(span);
    if (!engine.hasJudgeRules) return findings;
    const judged = await this.judge.judge(span, engine.judgeRulesFor(span), options.signal);
    this.countJudgeOutcomes([judged]);
    return [...findings, ...judged.findings];
  }

  /**
   * Stored spans of one workspace against its current rules (the engine as it is now, judge rules
   * included) and a fresh agent-run detection over them, nothing stored or passed on
   * (POST /api/v1/verification/verify/:trace_id, POST /api/v1/tasks/:id/detect).
   */
  private async evaluateStored(spans: readonly Span[], options: { workspace: string; rules: boolean; signal?: AbortSignal }): Promise<StoredSpansEvaluation> {
    // The caller read the spans from its own workspace: scopes are applied for that workspace.
    const batch = spans.map((span) => withSpanAttributes(span, { 'tracehouse.workspace': options.workspace }));
    const evaluated: StoredSpansEvaluation['spans'] = [];
    if (options.rules) {
      const engine = this.engine;
      const judged = engine.hasJudgeRules ? await this.judgeBatch(engine, batch, options.signal ?? new AbortController().signal) : undefined;
      batch.forEach((span, i) => {
        const judgement = judged?.[i];
        const findings = judgement ? [...engine.evaluate(span), ...judgement.findings] : engine.evaluate(span);
        if (findings.length > 0) evaluated.push({ spanId: span.spanId, evaluation: { verdict: verdictOf(findings), findings } });
      });
    }
    // A detector of its own: the stored trace is judged whole, apart from the live traces' state.
    const { records } = new AgentRunDetector(this.config.agent_runs).inspect(batch);
    return { spans: evaluated, detections: records };
  }

  /** Rebuilds the engine from the config's rules and the valid rules managed over HTTP. */
  private applyManagedRules(objects: readonly ControlObject[]): void {
    const managed: RuleConfig[] = [];
    const extras = new Map<RuleConfig, ManagedRuleExtras>();
    for (const object of objects) {
      if (object.source !== 'api') continue;
      const spec = object.spec as ApiRule;
      const candidate = engineRuleOf(object.workspace === GLOBAL_WORKSPACE ? undefined : object.workspace, object.id, spec);
      const parsed = ruleConfigSchema.safeParse(candidate);
      if (!parsed.success) {
        this.ruleWarnings.warnOnce(object, 'a rule managed over HTTP cannot be applied by this processor and is skipped', { type: candidate.type });
        continue;
      }
      managed.push(parsed.data);
      extras.set(parsed.data, { shown: apiRuleIdentity(spec), ...(spec.projectId ? { inScope: this.projectIdScope(object.workspace, spec.projectId) } : {}) });
    }
    this.engine = new RuleEngine([...this.config.rules, ...managed], extras);
  }

  /** Spans of the project with this id, by its names when the span is evaluated (renames keep matching). */
  private projectIdScope(workspace: string, projectId: string) {
    return projectNamesTest(() => {
      const project = this.host?.objects.get('project', workspace, projectId);
      return project && project.workspace === workspace ? projectNamesOf(project.spec) : undefined;
    });
  }

  shutdown(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    // Drains callbacks already queued for stored spans; a second call waits for the same drain.
    this.stopping ??= Promise.all([this.callbacks.shutdown(), this.judge.close()]).then(() => undefined);
    return this.stopping;
  }

  consume(batch: SpanBatch, signal: AbortSignal): Promise<ConsumeResult | void> {
    if (this.stopped) return Promise.reject(new ShuttingDownError(this.settings.id));
    // Rules may be replaced while the judge runs: the batch is evaluated by the engine it started with.
    const engine = this.engine;
    if (engine.hasJudgeRules) return this.judgeThenForward(engine, batch, signal);
    return this.forward(engine, batch, undefined, signal);
  }

  private async judgeThenForward(engine: RuleEngine, batch: SpanBatch, signal: AbortSignal): Promise<ConsumeResult | void> {
    const judged = await this.judgeBatch(engine, batch, signal);
    return this.forward(engine, batch, judged, signal);
  }

  /**
   * Evaluates and hands on; a plain function, so that only the spans with an evaluation wait for
   * the insert (an async frame would hold the whole batch until it ends).
   */
  private forward(engine: RuleEngine, batch: SpanBatch, judged: readonly (SpanJudgement | undefined)[] | undefined, signal: AbortSignal): Promise<ConsumeResult | void> {
    const { batch: out, evaluated } = this.evaluateBatch(engine, batch, judged);
    return this.afterStored(handOn(this.next, out, signal), evaluated);
  }

  private async afterStored(stored: Promise<ConsumeResult | void>, evaluated: readonly Evaluated[]): Promise<ConsumeResult | void> {
    const result = await stored;
    const evaluations = new Map<string, SpanEvaluation>();
    for (const { span, evaluation } of evaluated) evaluations.set(spanKey(span.traceId, span.spanId), evaluation);
    // The spans are durable now: only now may anyone outside be told about them.
    for (const { span, evaluation } of evaluated) this.sendCallback(span, evaluation);
    return mergeConsumeResults([result, { evaluations }]);
  }

  /**
   * The llm_judge findings of every span with judge rules in scope (by index in the batch), all
   * spans in parallel, bounded by the judge's concurrency and timeout.
   */
  private async judgeBatch(engine: RuleEngine, batch: SpanBatch, signal: AbortSignal): Promise<(SpanJudgement | undefined)[]> {
    const pending: Promise<SpanJudgement | undefined>[] = batch.map((span) => {
      const rules = engine.judgeRulesFor(span);
      return rules.length === 0 ? Promise.resolve(undefined) : this.judge.judge(span, rules, signal);
    });
    const judged = await Promise.all(pending);
    this.countJudgeOutcomes(judged);
    return judged;
  }

  private countJudgeOutcomes(judged: readonly (SpanJudgement | undefined)[]): void {
    const counts = { pass: 0, fail: 0, error: 0 };
    for (const j of judged) for (const outcome of j?.outcomes ?? []) counts[outcome]++;
    for (const outcome of ['pass', 'fail', 'error'] as const) if (counts[outcome] > 0) this.telemetry.event('judge_call', counts[outcome], outcome);
    if (counts.error > 0) {
      // The reason names provider, status and timeout (keys are scrubbed from provider messages), never the text judged.
      const example = judged.flatMap((j) => j?.findings ?? []).find((f) => f.outcome === 'error');
      this.judgeWarn.warn({ errors: counts.error, rule: example?.ruleId, reason: example?.detail });
    }
  }

  /** The batch to hand on (copied only where a span got a verdict, plus agent-run records). */
  private evaluateBatch(engine: RuleEngine, batch: SpanBatch, judged: readonly (SpanJudgement | undefined)[] | undefined): { batch: SpanBatch; evaluated: Evaluated[] } {
    const { spansUntracked, tracesEvicted } = this.detector.stats;
    const inspection = this.detector.inspect(batch);
    // What the detector's memory bounds made it leave out is counted, never silent.
    const untracked = this.detector.stats.spansUntracked - spansUntracked;
    const evicted = this.detector.stats.tracesEvicted - tracesEvicted;
    if (untracked > 0) this.telemetry.event('agent_span_untracked', untracked);
    if (evicted > 0) this.telemetry.event('agent_trace_evicted', evicted);
    const evaluated: Evaluated[] = [];
    const verdicts: Record<Verdict, number> = { pass: 0, flagged: 0, error: 0 };
    let ruleErrors = 0;
    let out: Span[] | undefined;
    for (let i = 0; i < batch.length; i++) {
      const span = batch[i];
      const judgement = judged?.[i];
      const ruleFindings = judgement && judgement.findings.length > 0 ? [...engine.evaluate(span), ...judgement.findings] : engine.evaluate(span);
      const agentFindings = inspection.findings.size > 0 ? inspection.findings.get(agentRunSpanKey(span)) : undefined;
      const findings = agentFindings && agentFindings.length > 0 ? [...ruleFindings, ...agentFindings] : ruleFindings;
      if (findings.length === 0) {
        out?.push(span);
        continue;
      }
      const evaluation: SpanEvaluation = { verdict: verdictOf(findings), findings };
      verdicts[evaluation.verdict]++;
      for (const f of ruleFindings) if (f.outcome === 'error') ruleErrors++;
      const copy = withEvaluation(span, evaluation);
      if (judgement?.costUsd !== undefined) copy.attributes[JUDGE_COST_ATTRIBUTE] = judgement.costUsd;
      evaluated.push({ span: copy, evaluation });
      out ??= batch.slice(0, i);
      out.push(copy);
    }
    for (const verdict of ['pass', 'flagged', 'error'] as const) {
      if (verdicts[verdict] > 0) this.telemetry.event('verdict', verdicts[verdict], verdict);
    }
    if (ruleErrors > 0) this.telemetry.event('rule_error', ruleErrors);
    const records = inspection.records;
    if (records.length === 0) return { batch: out ?? batch, evaluated };
    return { batch: [...(out ?? batch), ...records], evaluated };
  }

  private sendCallback(span: Span, evaluation: SpanEvaluation): void {
    try {
      this.callbacks.send(span, evaluation);
    } catch (err) {
      // The sender promises not to throw; if it ever does, ingestion must not notice.
      this.settings.logger.error({ err: errorMessage(err) }, 'callback sender failed');
    }
  }
}
