/**
 * The configured preflight with a workspace's guardrail policies layered on (real Governance
 * objects): a mask of one layer never hides what another blocks, every layer's masks apply, the
 * first block wins, and only the policies of the caller's workspace check or settle its calls.
 */
import { Governance, PREFLIGHT_MASKED_ATTRIBUTE } from '../../../core/llm/governance';
import { guardrailPolicySchema, preflightConfigOf } from '../../../core/llm/guardrail-policy';
import { preflightConfigSchema } from '../../../core/llm/governance-config';
import { LayeredPreflight } from '../../../core/llm/layered-preflight';
import { inputMessagesOf } from '../../../core/llm/outcome';
import type { PreflightRequest } from '../../../core/llm/preflight';

const EMAIL = 'jane.doe@example.com';
const PHONE = '+1 415 555 0134';

const yaml = (config: unknown) => new Governance(preflightConfigSchema.parse(config));
const policy = (body: unknown) => new Governance(preflightConfigOf(guardrailPolicySchema.parse({ name: 'p', ...(body as object) })));

function chat(content: string, workspace = 'acme'): PreflightRequest {
  const body = { model: 'gpt-4o', messages: [{ role: 'user', content }] };
  return { workspace, api: 'chat', model: 'gpt-4o', body, inputMessages: inputMessagesOf('chat', body), bodyBytes: Buffer.byteLength(JSON.stringify(body)) };
}

const signal = new AbortController().signal;

describe('LayeredPreflight', () => {
  it('blocks what a policy blocks even when the configured preflight masks it, keeping the recorded input masked', async () => {
    const layered = new LayeredPreflight(yaml({ pii: { detectors: { email: 'mask' } } }), (ws) => (ws === 'acme' ? [policy({ pii: { detectors: { email: 'block' } } })] : []));
    const decision = await layered.check(chat(`write to ${EMAIL}`), signal);
    expect(decision).toMatchObject({ action: 'block', status: 400, findings: [{ rule: 'pii:email' }] });
    expect(JSON.stringify(decision.action === 'block' ? decision.recordedBody : undefined)).not.toContain(EMAIL);
    // Another workspace: only the configured mask.
    const other = await layered.check(chat(`write to ${EMAIL}`, 'other'), signal);
    expect(other).toMatchObject({ action: 'rewrite', body: { messages: [{ content: 'write to [REDACTED:EMAIL]' }] } });
  });

  it('applies the masks of every layer, counting each detector once', async () => {
    const layered = new LayeredPreflight(yaml({ pii: { detectors: { email: 'mask' } } }), () => [policy({ pii: { detectors: { email: 'mask', phone: 'mask' } } })]);
    const decision = await layered.check(chat(`mail ${EMAIL} or call ${PHONE}`), signal);
    if (decision.action !== 'rewrite') throw new Error(`expected a rewrite, got ${decision.action}`);
    const content = (decision.body.messages as { content: string }[])[0].content;
    expect(content).not.toContain(EMAIL);
    expect(content).not.toContain('555');
    expect(content).toContain('[REDACTED:EMAIL]');
    expect(JSON.parse(String(decision.attributes?.[PREFLIGHT_MASKED_ATTRIBUTE]))).toEqual({ email: 1, phone: 1 });
  });

  it('answers the first block in order (configuration first) and allows what no layer minds', async () => {
    const layered = new LayeredPreflight(yaml({ rules: [{ id: 'cfg', type: 'keyword_forbidden', value: 'alpha' }] }), () => [
      policy({ models: { allow: ['claude-*'] } }),
      policy({ rules: [{ id: 'pol', type: 'keyword_forbidden', value: 'beta' }] }),
    ]);
    expect(await layered.check(chat('alpha'), signal)).toMatchObject({ action: 'block', status: 400, findings: [{ rule: 'rule:cfg' }] });
    expect(await layered.check(chat('beta'), signal)).toMatchObject({ action: 'block', status: 403, findings: [{ rule: 'models.allow' }] });
    const permissive = new LayeredPreflight(yaml({}), () => [policy({ rules: [{ id: 'pol', type: 'keyword_forbidden', value: 'beta' }] })]);
    expect(await permissive.check(chat('gamma'), signal)).toEqual({ action: 'allow' });
    expect(await permissive.check(chat('beta'), signal)).toMatchObject({ action: 'block', findings: [{ rule: 'rule:pol' }] });
  });

  it("settles a call on the policies of the caller's workspace only", async () => {
    const budget = policy({ budget: { usd: 0.000001, window_seconds: 3600 } });
    const layered = new LayeredPreflight(yaml({}), (ws) => (ws === 'acme' ? [budget] : []));
    const call = { api: 'chat' as const, model: 'gpt-4o', providerName: 'openai', usage: { input: 1000, output: 10 }, status: 200, bodyBytes: 100 };
    layered.settle({ ...call, workspace: 'other' });
    expect(budget.spent('acme')).toBe(0);
    expect(budget.spent('other')).toBe(0);
    layered.settle({ ...call, workspace: 'acme' });
    expect(budget.spent('acme')).toBeGreaterThan(0);
    expect(await layered.check(chat('hi'), signal)).toMatchObject({ action: 'block', status: 403, findings: [{ rule: 'budget' }] });
  });
});
