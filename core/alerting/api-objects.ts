/**
 * The self-hosted contract's alert rules and delivery targets as stored in the control plane
 * (kinds `alert_rule` and `delivery_target`, in the API's own shape), and how an alert rule's
 * `condition: {metric, threshold_ms, window_seconds}` maps onto the alert processor's conditions.
 * Shared by the control_plane extension (validation, 422) and the alert processor (application).
 */
import { z } from 'zod';
import { TARGET_CONFIG_SCHEMAS, TARGET_TYPES } from './target-configs';

export const ALERT_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** Longest window a windowed condition may look back: beyond it the scan is a report, not an alert. */
export const MAX_WINDOW_SECONDS = 30 * 24 * 3600;

/** `latency` is the p95; the others are the alert processor's windowed condition types. */
export const ALERT_METRICS = ['latency', 'latency_p95', 'latency_avg', 'error_rate', 'cost_sum', 'tokens_sum', 'flagged_count', 'span_count'] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];

const LATENCY_METRICS: readonly AlertMetric[] = ['latency', 'latency_p95', 'latency_avg'];

const name = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const severity = z.enum(ALERT_SEVERITIES, { error: `must be one of ${ALERT_SEVERITIES.join(', ')}` });

export const alertConditionSchema = z
  .strictObject({
    metric: z.enum(ALERT_METRICS, { error: `must be one of ${ALERT_METRICS.join(', ')}` }),
    /** Latency metrics: milliseconds. */
    threshold_ms: z.number().positive('must be above 0').optional(),
    /** Other metrics: a ratio 0..1 (error_rate), USD (cost_sum) or a count. */
    threshold: z.number().nonnegative('must be at least 0').optional(),
    window_seconds: z.number().int('must be a whole number of seconds').min(1, 'must be at least 1').max(MAX_WINDOW_SECONDS, `must be at most ${MAX_WINDOW_SECONDS} (30 days)`),
    /** error_rate: groups with fewer spans in the window are not judged (default 10). */
    min_spans: z.number().int().min(1).optional(),
    /** span_count: fire when the count falls below the threshold. */
    below: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    const latency = LATENCY_METRICS.includes(c.metric);
    const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (latency && c.threshold_ms === undefined) problem('threshold_ms', `is required for metric ${c.metric}`);
    if (latency && c.threshold !== undefined) problem('threshold', `is not used by metric ${c.metric}: use threshold_ms`);
    if (!latency && c.threshold === undefined) problem('threshold', `is required for metric ${c.metric}`);
    if (!latency && c.threshold_ms !== undefined) problem('threshold_ms', `is only for latency metrics: use threshold`);
    if (c.metric === 'error_rate' && c.threshold !== undefined && c.threshold > 1) problem('threshold', 'is a ratio for error_rate: at most 1');
    if ((c.metric === 'tokens_sum' || c.metric === 'flagged_count' || c.metric === 'span_count') && c.threshold !== undefined && !Number.isInteger(c.threshold)) {
      problem('threshold', `must be a whole number for ${c.metric}`);
    }
    if (c.min_spans !== undefined && c.metric !== 'error_rate') problem('min_spans', 'is only for error_rate');
    if (c.below !== undefined && c.metric !== 'span_count') problem('below', 'is only for span_count');
  });

export type AlertConditionSpec = z.output<typeof alertConditionSchema>;

/** POST / PUT /v1/workspaces/:id/alert-rules. */
export const alertRuleBodySchema = z.strictObject({
  name,
  description: z.string().max(2000).optional(),
  condition: alertConditionSchema,
  /**
   * Delivery targets of the workspace (or of pipelines.yaml) by id or by name; the control plane
   * stores their ids (core/alerting/target-refs.ts). Empty: incidents are recorded only.
   */
  delivery_targets: z.array(z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters')).max(20, 'at most 20 targets').default([]),
  /** Absent: the first target's default_severity, else medium. */
  severity: severity.optional(),
  /** A paused rule is kept but does not fire. */
  status: z.enum(['active', 'paused'], { error: 'must be active or paused' }).default('active'),
});

export type AlertRuleBody = z.output<typeof alertRuleBodySchema>;

/** POST / PUT /v1/workspaces/:id/deliveries; `config` is checked against the type's settings. */
export const deliveryTargetBodySchema = z
  .strictObject({
    name,
    type: z.enum(TARGET_TYPES, { error: `must be one of ${TARGET_TYPES.join(', ')}` }),
    config: z.record(z.string(), z.unknown(), { error: 'must be an object' }),
    default_severity: severity.default('medium'),
  })
  .transform((body, ctx) => {
    const parsed = TARGET_CONFIG_SCHEMAS[body.type].safeParse(body.config);
    if (parsed.success) return { ...body, config: parsed.data as Record<string, unknown> };
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['config', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: issue.message });
    return z.NEVER;
  });

export type DeliveryTargetBody = z.output<typeof deliveryTargetBodySchema>;

/** The alert processor's condition (its `condition:` in pipelines.yaml) for an API condition. */
export function processorConditionOf(c: AlertConditionSpec): Record<string, unknown> {
  const window_seconds = c.window_seconds;
  switch (c.metric) {
    case 'latency':
    case 'latency_p95':
      return { type: 'latency_p95', threshold_ms: c.threshold_ms, window_seconds };
    case 'latency_avg':
      return { type: 'latency_avg', threshold_ms: c.threshold_ms, window_seconds };
    case 'error_rate':
      return { type: 'error_rate', threshold: c.threshold, window_seconds, ...(c.min_spans !== undefined ? { min_spans: c.min_spans } : {}) };
    case 'cost_sum':
      return { type: 'cost_sum', threshold_usd: c.threshold, window_seconds };
    case 'span_count':
      return { type: 'span_count', threshold: c.threshold, window_seconds, ...(c.below !== undefined ? { below: c.below } : {}) };
    case 'tokens_sum':
    case 'flagged_count':
      return { type: c.metric, threshold: c.threshold, window_seconds };
  }
}
