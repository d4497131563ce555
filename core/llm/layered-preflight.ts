/**
 * A gateway's preflight with the control plane's guardrail policies layered on: a call is checked
 * by the configured preflight and by every active policy of its workspace, each on the body as it
 * was sent, so that what one layer masks is never hidden from a layer that blocks it. Any block
 * blocks (the first, in order: configuration, then policies); the masks of every layer apply, one
 * after another. Each layer settles the calls it saw forwarded (every policy's budget keeps its own
 * ledger).
 */
import { PREFLIGHT_MASKED_ATTRIBUTE } from './governance';
import { inputMessagesOf } from './outcome';
import type { Preflight, PreflightDecision, PreflightRequest, PreflightSettlement } from './preflight';

const NONE: readonly Preflight[] = [];

export class LayeredPreflight implements Preflight {
  constructor(
    private readonly base: Preflight,
    /** The active policies of a workspace, in order. */
    private readonly policiesOf: (workspace: string) => readonly Preflight[] = () => NONE,
  ) {}

  /** Without policies, the configured preflight's own answer (synchronous when its check is). */
  check(request: PreflightRequest, signal: AbortSignal): Promise<PreflightDecision> | PreflightDecision {
    const policies = this.policiesOf(request.workspace);
    if (policies.length === 0) return this.base.check(request, signal);
    return this.checkLayers(request, policies, signal);
  }

  private async checkLayers(request: PreflightRequest, policies: readonly Preflight[], signal: AbortSignal): Promise<PreflightDecision> {
    const layers = [this.base, ...policies];
    const decisions: PreflightDecision[] = [];
    for (const layer of layers) decisions.push(await layer.check(request, signal));

    let body = request.body;
    const counts: Record<string, number> = {};
    for (let i = 0; i < layers.length; i++) {
      const decision = decisions[i];
      const masked = maskedBodyOf(decision);
      if (masked === undefined) continue;
      mergeCounts(counts, decision.attributes?.[PREFLIGHT_MASKED_ATTRIBUTE]);
      if (body === request.body) {
        body = masked;
        continue;
      }
      // The same layer again, on the body the layers before it masked.
      const again = await layers[i].check({ ...request, body, inputMessages: inputMessagesOf(request.api, body) }, signal);
      body = maskedBodyOf(again) ?? body;
    }
    const blocked = decisions.find((d) => d.action === 'block');
    if (blocked) return body === request.body ? blocked : { ...blocked, recordedBody: body };
    if (body === request.body) return { action: 'allow' };
    return { action: 'rewrite', body, attributes: Object.keys(counts).length > 0 ? { [PREFLIGHT_MASKED_ATTRIBUTE]: JSON.stringify(counts) } : undefined };
  }

  settle(call: PreflightSettlement): void {
    this.base.settle?.(call);
    for (const policy of this.policiesOf(call.workspace)) policy.settle?.(call);
  }
}

function maskedBodyOf(decision: PreflightDecision): Record<string, unknown> | undefined {
  if (decision.action === 'rewrite') return decision.body;
  if (decision.action === 'block') return decision.recordedBody;
  return undefined;
}

/** Matches per detector: each layer counted the same body, so the most any layer found. */
function mergeCounts(into: Record<string, number>, attribute: unknown): void {
  if (typeof attribute !== 'string') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(attribute);
  } catch {
    return;
  }
  if (parsed === null || typeof parsed !== 'object') return;
  for (const [name, n] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof n === 'number') into[name] = Math.max(into[name] ?? 0, n);
  }
}
