import { z } from 'zod';
import { agentRunsConfigSchema } from './agent-runs';
import { callbacksConfigSchema } from './callbacks';
import { judgeConfigSchema } from './judge-config';
import { checkUniqueRuleIds, ruleConfigSchema } from './rule-config';

export type { RuleConfig, RuleScope, RuleTarget } from './rule-config';

export const evaluateRulesProcessorConfigSchema = z
  .strictObject({
    rules: z.array(ruleConfigSchema).default([]),
    /** Execution loops, tool failures and context failures across the spans of a trace. */
    agent_runs: agentRunsConfigSchema,
    /** POSTs each log's evaluation to its callbackUrl once the span is stored. */
    callbacks: callbacksConfigSchema,
    /** How llm_judge rules call their judge (timeout, concurrency, providers). */
    judge: judgeConfigSchema,
  })
  // Runs even when a rule has other problems, so that every mistake is reported at once.
  .superRefine((config, ctx) => checkUniqueRuleIds((config as { rules?: unknown }).rules, ctx), { when: () => true });

export type EvaluateRulesProcessorConfig = z.output<typeof evaluateRulesProcessorConfigSchema>;
