/**
 * The control plane's guardrail policies (kind `policy`) as preflight checks: one Governance per
 * active policy of a workspace, built again on every change. Budgets keep one ledger per policy,
 * which survives changes to the policy (a new window length starts a new ledger).
 */
import type { ControlObject } from '../../core/control/objects';
import { Governance } from '../../core/llm/governance';
import { InMemorySpendLedger } from '../../core/llm/governance-ledger';
import { guardrailPolicySchema, preflightConfigOf } from '../../core/llm/guardrail-policy';
import type { Preflight } from '../../core/llm/preflight';
import type { Logger } from '../../core/logger';
import { errorMessage } from '../../core/errors';
import { ObjectWarnings } from '../../core/control/object-warnings';

const NONE: readonly Preflight[] = [];

export class ManagedGuardrails {
  private byWorkspace = new Map<string, Preflight[]>();
  private readonly ledgers = new Map<string, { windowMs: number; ledger: InMemorySpendLedger }>();

  private readonly warnings: ObjectWarnings;

  constructor(
    logger: Logger,
    owner: string,
  ) {
    this.warnings = new ObjectWarnings(logger, { receiver: owner });
  }

  /** The active policies of a workspace, oldest first. */
  activeFor(workspace: string): readonly Preflight[] {
    return this.byWorkspace.get(workspace) ?? NONE;
  }

  /** Rebuilds the checks from every policy object (the catalog's watch). */
  apply(objects: readonly ControlObject[]): void {
    const next = new Map<string, Preflight[]>();
    const kept = new Set<string>();
    const ordered = objects.filter((o) => o.source === 'api').sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    for (const object of ordered) {
      const parsed = guardrailPolicySchema.safeParse(object.spec);
      if (!parsed.success) {
        this.warnings.warnOnce(object, 'a guardrail policy of the control plane cannot be read and is skipped');
        continue;
      }
      const config = preflightConfigOf(parsed.data);
      const key = `${object.workspace}\u0000${object.id}`;
      let ledger: InMemorySpendLedger | undefined;
      if (config.budget) {
        const windowMs = config.budget.window_seconds * 1000;
        let held = this.ledgers.get(key);
        if (!held || held.windowMs !== windowMs) this.ledgers.set(key, (held = { windowMs, ledger: new InMemorySpendLedger(windowMs) }));
        ledger = held.ledger;
        kept.add(key);
      }
      if (parsed.data.status !== 'active') continue;
      let governance: Governance;
      try {
        governance = new Governance(config, { ledger });
      } catch (err) {
        this.warnings.warnOnce(object, 'a guardrail policy of the control plane cannot be applied and is skipped', { err: errorMessage(err) });
        continue;
      }
      let list = next.get(object.workspace);
      if (!list) next.set(object.workspace, (list = []));
      list.push(governance);
    }
    for (const key of this.ledgers.keys()) if (!kept.has(key)) this.ledgers.delete(key);
    this.byWorkspace = next;
  }

}
