import { JudgeClient } from '../../core/llm/judge';
import type { JudgeResult } from '../../core/llm/judge';
import type { JudgeProvider } from '../../core/llm/judge-protocol';
import { JUDGE_PROVIDERS } from '../../core/rules/api-rules';
import type { Finding } from '../../core/evaluation';
import type { AttributeValue, Span } from '../../core/span';
import type { CheckResult } from './check';
import { erred, triggered } from './check';
import type { JudgeConfig } from './judge-config';
import type { CompiledJudgeRule, JudgeRuleConfig } from './rule-engine';
import { SpanTexts } from './span-text';

/** The judges' cost of a span's llm_judge rules, in USD (never the provider key). */
export const JUDGE_COST_ATTRIBUTE = 'tracehouse.judge.cost_usd';

/** A workspace's settings object (control plane, kind `settings`, id `workspace`), secrets decrypted. */
export type WorkspaceSettingsOf = (workspace: string) => Readonly<Record<string, unknown>> | undefined;

export interface SpanJudgement {
  findings: Finding[];
  /** Summed over the span's judge calls that reported usage of a priced model. */
  costUsd?: number;
  /** What each judge call came to, for telemetry. */
  outcomes: JudgeOutcome[];
}

export type JudgeOutcome = 'pass' | 'fail' | 'error';

interface Judged {
  result: CheckResult;
  costUsd?: number;
  confidence?: number;
  outcome: JudgeOutcome;
}

/**
 * Runs llm_judge rules on spans: picks provider, model and key (the rule's, else the workspace
 * settings', else the `judge` config's) and asks the judge; every rule of a span in parallel,
 * bounded by the judge's slots and timeout.
 */
export class SpanJudge {
  private readonly client: JudgeClient;

  constructor(
    private readonly config: JudgeConfig,
    private readonly settingsOf: WorkspaceSettingsOf,
  ) {
    this.client = new JudgeClient({ timeoutMs: config.timeout_ms, maxConcurrency: config.max_concurrency, maxQueue: config.max_queue, maxRetries: config.max_retries });
  }

  /** The findings of `rules` (in scope for `span`, in order); rules that do not apply give none. */
  async judge(span: Span, rules: readonly CompiledJudgeRule[], signal?: AbortSignal): Promise<SpanJudgement> {
    const texts = new SpanTexts(span.attributes);
    const output = texts.of('output');
    if (output.kind === 'absent') return { findings: [], outcomes: [] };
    const input = texts.of('input');
    const workspace = contextValue(span, 'tracehouse.workspace');
    const settings = typeof workspace === 'string' && workspace !== '' ? this.settingsOf(workspace) : undefined;
    const judged = await Promise.all(
      rules.map((compiled): Promise<Judged> => {
        if (output.kind === 'unreadable') return Promise.resolve({ result: erred(output.reason), outcome: 'error' });
        return this.judgeOne(compiled.rule, settings, { criteria: compiled.rule.value, output: output.text, ...(input.kind === 'text' ? { input: input.text } : {}) }, signal);
      }),
    );
    let costUsd: number | undefined;
    const findings: Finding[] = judged.map(({ result, costUsd: cost, confidence }, i) => {
      if (cost !== undefined) costUsd = (costUsd ?? 0) + cost;
      return {
        ...rules[i].identity,
        outcome: result.outcome,
        ...(result.detail !== undefined ? { detail: result.detail } : {}),
        ...(confidence !== undefined ? { confidence } : {}),
      };
    });
    return { findings, outcomes: judged.map((j) => j.outcome), ...(costUsd !== undefined ? { costUsd } : {}) };
  }

  private async judgeOne(rule: JudgeRuleConfig, settings: Readonly<Record<string, unknown>> | undefined, question: { criteria: string; output: string; input?: string }, signal?: AbortSignal): Promise<Judged> {
    const provider = rule.provider ?? providerOf(settings?.defaultJudgeProvider) ?? this.config.default_provider;
    const providerConfig = this.config.providers[provider];
    const apiKey = rule.api_key ?? text(settings?.[`${provider}ApiKey`]) ?? providerConfig.api_key;
    if (apiKey === undefined) return { result: erred(`judge error: no API key for ${provider} (set ${provider}ApiKey in the workspace settings or judge.providers.${provider}.api_key)`), outcome: 'error' };
    const model = rule.model ?? text(settings?.[`${provider}JudgeModel`]) ?? providerConfig.model;
    let result: JudgeResult;
    try {
      result = await this.client.judge({ provider, model, apiKey, baseUrl: providerConfig.base_url, question, signal });
    } catch (err) {
      // The client promises not to throw; a bug still gives the span a verdict.
      result = { outcome: 'error', reason: `evaluation failed (${(err as Error).name})`, attempts: 0 };
    }
    const cost = result.costUsd === undefined ? {} : { costUsd: result.costUsd };
    if (result.outcome === 'error') return { result: erred(`judge error: ${result.reason}`), outcome: 'error', ...cost };
    const { verdict, confidence, explanation } = result.verdict;
    const detail = `judge ${result.model}: ${verdict}${confidence === undefined ? '' : ` (confidence ${round(confidence)})`}${explanation === '' ? '' : `: ${explanation}`}`;
    return { result: verdict === 'fail' ? triggered(detail) : { outcome: 'passed', detail }, outcome: verdict, ...cost, ...(confidence !== undefined ? { confidence } : {}) };
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

function providerOf(value: unknown): JudgeProvider | undefined {
  return typeof value === 'string' && (JUDGE_PROVIDERS as readonly string[]).includes(value) ? (value as JudgeProvider) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function contextValue(span: Span, key: string): AttributeValue | undefined {
  return span.attributes[key] ?? span.resource.attributes[key];
}
