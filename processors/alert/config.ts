import { z } from 'zod';
import { MAX_WINDOW_SECONDS } from '../../core/alerting/api-objects';
import { targetSchema } from '../../core/alerting/target-configs';
import { outboundConfigSchema } from '../../core/outbound/config';

export { MAX_WINDOW_SECONDS };

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const severitySchema = z.enum(SEVERITIES);

const windowSeconds = z
  .number()
  .int('window_seconds must be a whole number of seconds')
  .min(1, 'window_seconds must be at least 1')
  .max(MAX_WINDOW_SECONDS, `window_seconds must be at most ${MAX_WINDOW_SECONDS} (30 days)`);

// ---- per-span conditions: decided on each span as it passes through --------------------------

const verdictCondition = z.strictObject({
  type: z.literal('verdict'),
  /** Which verdicts of evaluate_rules (tracehouse.verdict) fire. */
  verdicts: z.array(z.enum(['flagged', 'error'])).min(1).default(['flagged']),
  /** Only spans whose tracehouse.verdict.severity is at least this (flagged spans carry one). */
  min_severity: severitySchema.optional(),
});

const errorStatusCondition = z.strictObject({ type: z.literal('error_status') });

const costAboveCondition = z.strictObject({
  type: z.literal('cost_above'),
  /** Fires for a span whose tracehouse.cost_usd is above this. */
  threshold_usd: z.number().nonnegative(),
});

// ---- windowed conditions: aggregated over the stored spans on a schedule ------------------------

const latencyAvgCondition = z.strictObject({
  type: z.literal('latency_avg'),
  threshold_ms: z.number().positive(),
  window_seconds: windowSeconds,
});

const latencyP95Condition = z.strictObject({
  type: z.literal('latency_p95'),
  threshold_ms: z.number().positive(),
  window_seconds: windowSeconds,
});

const errorRateCondition = z.strictObject({
  type: z.literal('error_rate'),
  /** Fraction of spans with error status, 0..1. */
  threshold: z.number().min(0).max(1),
  /** Groups with fewer spans in the window are not judged (one failure out of two is not a rate). */
  min_spans: z.number().int().min(1).default(10),
  window_seconds: windowSeconds,
});

const costSumCondition = z.strictObject({
  type: z.literal('cost_sum'),
  threshold_usd: z.number().nonnegative(),
  window_seconds: windowSeconds,
});

const tokensSumCondition = z.strictObject({
  type: z.literal('tokens_sum'),
  /** Input plus output tokens. */
  threshold: z.number().int().nonnegative(),
  window_seconds: windowSeconds,
});

const flaggedCountCondition = z.strictObject({
  type: z.literal('flagged_count'),
  threshold: z.number().int().nonnegative(),
  window_seconds: windowSeconds,
});

const spanCountCondition = z.strictObject({
  type: z.literal('span_count'),
  threshold: z.number().int().nonnegative(),
  window_seconds: windowSeconds,
  /** Fire when the count falls below the threshold (traffic stopped) instead of above it. */
  below: z.boolean().default(false),
});

export const PER_SPAN_CONDITION_TYPES = ['verdict', 'error_status', 'cost_above'] as const;
export const WINDOWED_CONDITION_TYPES = [
  'latency_avg',
  'latency_p95',
  'error_rate',
  'cost_sum',
  'tokens_sum',
  'flagged_count',
  'span_count',
] as const;

const conditionSchema = z.discriminatedUnion('type', [
  verdictCondition,
  errorStatusCondition,
  costAboveCondition,
  latencyAvgCondition,
  latencyP95Condition,
  errorRateCondition,
  costSumCondition,
  tokensSumCondition,
  flaggedCountCondition,
  spanCountCondition,
]);

export const GROUP_DIMENSIONS = ['workspace', 'project', 'model', 'environment', 'service'] as const;
const ATTRIBUTE_PREFIX = 'attribute:';

const groupBySchema = z.string().refine(
  (g) => (GROUP_DIMENSIONS as readonly string[]).includes(g) || (g.startsWith(ATTRIBUTE_PREFIX) && g.length > ATTRIBUTE_PREFIX.length),
  { message: `group_by must be one of ${GROUP_DIMENSIONS.join(', ')} or attribute:<key>` },
);

const filterSchema = z.strictObject({
  workspace: z.string().min(1).optional(),
  project: z.string().min(1).optional(),
  /** A glob over gen_ai.request.model; `*` also crosses `/` (openai/gpt-4o). */
  model: z.string().min(1).optional(),
  /** gen_ai.operation.name, exactly (chat, embeddings, execute_tool, ...). */
  operation: z.string().min(1).optional(),
});

export const ruleSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'id may hold letters, digits and _ . : - only'),
  name: z.string().min(1),
  severity: severitySchema.default('medium'),
  /** Ids of entries under `targets`; empty records incidents without telling anyone. */
  targets: z.array(z.string().min(1)).default([]),
  enabled: z.boolean().default(true),
  condition: conditionSchema,
  group_by: z.array(groupBySchema).default([]),
  filter: filterSchema.default({}),
});

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const alertProcessorConfigSchema = z
  .strictObject({
    rules: z.array(ruleSchema).default([]),
    targets: z.record(z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'target ids may hold letters, digits and _ . : - only'), targetSchema).default({}),
    /** Retries, timeouts and the address policy of every delivery (email uses the retry options). */
    delivery: outboundConfigSchema.prefault({}),
    /** How often windowed conditions are evaluated against the store (and quiet incidents resolved). */
    evaluation_interval_seconds: z.number().int().min(1).default(60),
    /** A cleared condition resolves its incident only after it stayed clear this long. */
    cooldown_seconds: z.number().int().nonnegative().default(300),
    /** A still-firing incident is sent again at most this often. */
    renotify_interval_seconds: z.number().int().nonnegative().default(3600),
    /** The exporter whose ClickHouse store holds the spans and incidents; the first one when absent. */
    store: z.string().min(1).optional(),
    incidents_table: z.string().regex(TABLE_NAME, 'incidents_table must be a plain table name').default('tracehouse_incidents'),
    spans_table: z.string().regex(TABLE_NAME, 'spans_table must be a plain table name').default('otel_traces'),
    /** Link to a trace in messages: "{trace_id}" is replaced, e.g. https://grafana/explore?trace={trace_id}. */
    trace_link: z.string().includes('{trace_id}', { message: 'trace_link must contain {trace_id}' }).optional(),
    /** The email target whose SMTP server sends workspace settings' e-mails (notificationEmail); the first email target when absent. */
    settings_email_target: z.string().min(1).optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    const targetIds = Object.keys(config.targets);
    const emailTarget = config.settings_email_target;
    if (emailTarget !== undefined && config.targets[emailTarget]?.type !== 'email') {
      ctx.addIssue({ code: 'custom', message: `settings_email_target "${emailTarget}" is not an email target under targets`, path: ['settings_email_target'] });
    }
    config.rules.forEach((rule, i) => {
      if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', message: `duplicate rule id "${rule.id}"`, path: ['rules', i, 'id'] });
      seen.add(rule.id);
      rule.targets.forEach((target, j) => {
        if (!Object.prototype.hasOwnProperty.call(config.targets, target)) {
          const known = targetIds.length ? targetIds.join(', ') : 'none configured';
          ctx.addIssue({ code: 'custom', message: `unknown target "${target}" (targets: ${known})`, path: ['rules', i, 'targets', j] });
        }
      });
      if (new Set(rule.group_by).size !== rule.group_by.length) {
        ctx.addIssue({ code: 'custom', message: 'group_by lists a dimension twice', path: ['rules', i, 'group_by'] });
      }
    });
  });

export type AlertProcessorConfig = z.output<typeof alertProcessorConfigSchema>;
export type AlertRuleConfig = AlertProcessorConfig['rules'][number];
export type AlertCondition = AlertRuleConfig['condition'];
export type AlertFilter = AlertRuleConfig['filter'];
export type TargetConfig = AlertProcessorConfig['targets'][string];
export type SlackTargetConfig = Extract<TargetConfig, { type: 'slack' }>;
export type WebhookTargetConfig = Extract<TargetConfig, { type: 'webhook' }>;
export type EmailTargetConfig = Extract<TargetConfig, { type: 'email' }>;

export type PerSpanCondition = Extract<AlertCondition, { type: (typeof PER_SPAN_CONDITION_TYPES)[number] }>;
export type WindowedCondition = Extract<AlertCondition, { type: (typeof WINDOWED_CONDITION_TYPES)[number] }>;

export function isPerSpanCondition(condition: AlertCondition): condition is PerSpanCondition {
  return (PER_SPAN_CONDITION_TYPES as readonly string[]).includes(condition.type);
}

export function isWindowedCondition(condition: AlertCondition): condition is WindowedCondition {
  return !isPerSpanCondition(condition);
}
