/** One rule's outcome in a sync answer. */
export interface RuleOutcome {
  name: string;
  triggered: boolean;
}

/** What evaluating a log decided; until rules are evaluated at ingest, nothing applies. */
export interface LogVerdict {
  pass: boolean;
  rules: RuleOutcome[];
}

export const NO_RULES_APPLY: LogVerdict = Object.freeze({ pass: true, rules: [] });

export type LogAnswer =
  | { ok: true; id: string; status: 'pending' }
  | { ok: true; id: string; status: 'pass' | 'flagged'; verdict: LogVerdict };

/**
 * The 200 body of POST /api/logs. Async logs are "pending"; a sync log carries its verdict, which
 * is "pass" while no rule applies to it (rule evaluation will supply real outcomes here).
 */
export function logAnswer(id: string, sync: boolean, verdict: LogVerdict = NO_RULES_APPLY): LogAnswer {
  if (!sync) return { ok: true, id, status: 'pending' };
  return { ok: true, id, status: verdict.pass ? 'pass' : 'flagged', verdict };
}
