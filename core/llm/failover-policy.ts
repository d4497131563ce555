/**
 * A failover policy as the self-hosted control-plane contract writes it (`/v1/workspaces/:id/
 * failover-policies`): a route, its primary endpoint, its fallbacks and the conditions that open
 * an endpoint's breaker. Endpoints name the gateway's upstreams; one body means the same as a
 * route of the proxy receiver's YAML (`routes.<id>: {primary, fallbacks, conditions}`).
 */
import { z } from 'zod';
import type { RouteConditions } from './failover';

export const POLICY_STATUSES = ['active', 'disabled'] as const;
export type PolicyStatus = (typeof POLICY_STATUSES)[number];

/** Route and upstream ids (YAML keys and X-Route-ID values alike). */
export const gatewayIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'ids are 1-64 characters of letters, digits, "_", "." and "-"');

export const routeConditionsSchema = z
  .strictObject({
    /** p95 latency (ms) over the health window beyond which an endpoint's breaker opens. */
    latency_threshold_ms: z.number().int().positive().optional(),
    /** Share of failed calls (0..1) over the health window beyond which an endpoint's breaker opens. */
    error_rate_threshold: z.number().min(0).max(1).optional(),
  })
  .prefault({});

export const failoverPolicySchema = z
  .strictObject({
    route_id: gatewayIdSchema,
    primary_endpoint: gatewayIdSchema,
    fallback_endpoints: z.array(gatewayIdSchema).max(16).default([]),
    conditions: routeConditionsSchema,
    status: z.enum(POLICY_STATUSES).default('active'),
  })
  .superRefine((policy, ctx) => {
    const seen = new Set([policy.primary_endpoint]);
    policy.fallback_endpoints.forEach((id, i) => {
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['fallback_endpoints', i], message: `"${id}" is already the primary or an earlier fallback` });
      seen.add(id);
    });
  });

export type FailoverPolicySpec = z.output<typeof failoverPolicySchema>;

export function conditionsOf(conditions: FailoverPolicySpec['conditions']): RouteConditions {
  return { latencyThresholdMs: conditions.latency_threshold_ms, errorRateThreshold: conditions.error_rate_threshold };
}
