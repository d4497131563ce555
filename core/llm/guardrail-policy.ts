/**
 * A guardrail policy of the control plane (`/v1/workspaces/:id/policies`): the gateway's preflight
 * checks (core/llm/governance) for one workspace, with a name and a status. Its body uses the zod
 * pieces of the proxy's `preflight:` section, so one body means the same in both; its budget is
 * the workspace's own (no per-workspace map).
 */
import { z } from 'zod';
import { POLICY_STATUSES } from './failover-policy';
import { checkRuleIds, preflightChecks, workspaceBudgetSchema } from './governance-config';
import type { PreflightConfig } from './governance-config';

export const guardrailPolicySchema = z
  .strictObject({
    name: z.string().min(1).max(200),
    status: z.enum(POLICY_STATUSES).default('active'),
    description: z.string().max(2000).optional(),
    ...preflightChecks,
    budget: workspaceBudgetSchema.optional(),
  })
  .superRefine((policy, ctx) => {
    checkRuleIds(policy.rules, ctx);
    policy.rules.forEach((rule, i) => {
      if (rule.scope?.workspace !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'scope', 'workspace'], message: "a policy's rules apply to its own workspace; leave scope.workspace out" });
      }
    });
  });

export type GuardrailPolicy = z.output<typeof guardrailPolicySchema>;

/** The preflight configuration a policy amounts to. */
export function preflightConfigOf(policy: GuardrailPolicy): PreflightConfig {
  return {
    pii: policy.pii,
    rules: policy.rules,
    models: policy.models,
    max_input_bytes: policy.max_input_bytes,
    budget: policy.budget ? { ...policy.budget, workspaces: {} } : undefined,
  };
}
