/**
 * The gateway's governance before a call is forwarded (a `Preflight`): a model allow-list, a
 * per-workspace spend budget over a sliding window, a maximum input size, personal data and
 * secrets found by the redact processor's detectors (block, mask or allow per detector) and the
 * keyword/regex/length rules of the rule engine, all decided in-process from the parsed request
 * (no I/O, linear in the input's size). Findings name detectors and rules, never the text they
 * matched. Spend is credited by `settle` once a forwarded call ends (usage × catalog price).
 */
import { BUILTIN_DETECTORS, BUILTIN_PRIORITY } from '../pii/detectors';
import { BUILTIN_DETECTOR_NAMES } from '../pii/names';
import type { BuiltinDetectorName } from '../pii/names';
import { DROP, Scanner, Tally } from '../pii/scanner';
import type { ActiveDetector } from '../pii/scanner';
import { TextRedactor } from '../pii/text-redactor';
import { builtInCatalog, costUsd, PriceBook } from '../pricing/pricing';
import { modelMatcher } from '../rules/model-glob';
import type { ModelMatcher } from '../rules/model-glob';
import { inputRuleCheck, messagesText } from '../rules/text-rules';
import type { TextCheck } from '../rules/text-rules';
import type { Attributes } from '../span';
import type { PiiAction, PreflightConfig } from './governance-config';
import { InMemorySpendLedger } from './governance-ledger';
import type { SpendLedger } from './governance-ledger';
import type { Preflight, PreflightDecision, PreflightFinding, PreflightRequest, PreflightSettlement } from './preflight';
import type { LlmApi, LlmUsage } from './protocol';

/** The body fields of each API that carry the caller's input. */
const INPUT_FIELDS: Readonly<Record<LlmApi, readonly string[]>> = {
  chat: ['messages'],
  responses: ['instructions', 'input'],
  messages: ['system', 'messages'],
  completions: ['prompt'],
  embeddings: ['input'],
};

/**
 * Keys whose string values are the message's structure or opaque payloads (ids, roles, types,
 * function names, media, signatures), not text a person or a tool wrote: left unscanned, so a
 * mask never breaks an id or an image.
 */
const STRUCTURAL_KEYS: ReadonlySet<string> = new Set([
  'role',
  'type',
  'id',
  'call_id',
  'tool_call_id',
  'tool_use_id',
  'name',
  'model',
  'status',
  'media_type',
  'mime_type',
  'url',
  'image_url',
  'file_id',
  'file_data',
  'filename',
  'data',
  'detail',
  'signature',
  'cache_control',
  'format',
]);

/** Deeper input than this is refused when it has to be scanned (a scan must not exhaust the stack). */
const MAX_SCAN_DEPTH = 64;
const MAX_NAME_IN_MESSAGE = 128;

export const PREFLIGHT_MASKED_ATTRIBUTE = 'tracehouse.proxy.preflight.masked';
export const PREFLIGHT_REASON_ATTRIBUTE = 'tracehouse.proxy.preflight.reason';

interface CompiledRule {
  finding: string;
  label: string;
  workspace?: string;
  model?: ModelMatcher;
  check: TextCheck;
}

export interface GovernanceOptions {
  /** Where spend is kept (default: this process's memory, over the budget's window). */
  ledger?: SpendLedger;
  /** Prices for the budget (default: the built-in catalog). */
  prices?: PriceBook;
  /** Milliseconds since the epoch (tests move time). */
  now?: () => number;
}

/** What one scan of a request's input found. */
interface ScanState {
  tally: Tally;
  tooDeep: boolean;
}

export class Governance implements Preflight {
  private readonly actions: readonly PiiAction[];
  private readonly scanner: Scanner | undefined;
  private readonly redactor: TextRedactor | undefined;
  private readonly tally = new Tally(BUILTIN_DETECTOR_NAMES.length);
  private readonly rules: readonly CompiledRule[];
  private readonly allowModel: ModelMatcher | undefined;
  private readonly ledger: SpendLedger | undefined;
  private readonly prices: PriceBook;
  private readonly now: () => number;

  constructor(
    private readonly config: PreflightConfig,
    options: GovernanceOptions = {},
  ) {
    this.actions = BUILTIN_DETECTOR_NAMES.map((name) => config.pii.detectors[name] ?? config.pii.default);
    // One scanner for every detector that is not allowed; a match of a blocking one refuses the
    // call, so masking it too does no harm.
    const active: ActiveDetector[] = BUILTIN_PRIORITY.filter((name) => this.actionOf(name) !== 'allow').map((name) => ({
      id: BUILTIN_DETECTOR_NAMES.indexOf(name),
      name,
      action: 'mask',
      definition: BUILTIN_DETECTORS[name],
    }));
    if (active.length > 0) {
      this.scanner = new Scanner(active, undefined);
      this.redactor = new TextRedactor(this.scanner, BUILTIN_DETECTOR_NAMES.length);
    }
    this.rules = config.rules
      .filter((rule) => rule.enabled)
      .map((rule) => ({
        finding: `rule:${rule.id}`,
        label: rule.name ?? rule.id,
        workspace: rule.scope?.workspace,
        model: rule.scope?.model === undefined ? undefined : modelMatcher(rule.scope.model),
        check: inputRuleCheck(rule),
      }));
    this.allowModel = config.models ? modelMatcher(config.models.allow) : undefined;
    this.ledger = config.budget ? (options.ledger ?? new InMemorySpendLedger(config.budget.window_seconds * 1000)) : undefined;
    this.prices = options.prices ?? new PriceBook(builtInCatalog().entries, []);
    this.now = options.now ?? Date.now;
  }

  private actionOf(name: BuiltinDetectorName): PiiAction {
    return this.actions[BUILTIN_DETECTOR_NAMES.indexOf(name)];
  }

  check(request: PreflightRequest): PreflightDecision {
    const policy = this.policyFinding(request);
    if (policy) return block(403, [policy.finding], policy.reason);

    const max = this.config.max_input_bytes;
    if (max !== undefined && request.bodyBytes > max) {
      return block(400, [{ rule: 'max_input_bytes', message: `the request body has ${request.bodyBytes} bytes, more than max_input_bytes (${max})` }], 'max_input_bytes');
    }

    const findings: PreflightFinding[] = [];
    let masked: Record<string, unknown> | undefined;
    let maskedCounts: Record<string, number> | undefined;
    if (this.redactor) {
      const state: ScanState = { tally: this.tally, tooDeep: false };
      this.tally.reset();
      const rewritten = this.scanBody(request, state);
      if (state.tooDeep) findings.push({ rule: 'pii', message: `the input is nested more than ${MAX_SCAN_DEPTH} levels deep and cannot be checked` });
      for (let id = 0; id < BUILTIN_DETECTOR_NAMES.length; id++) {
        const n = this.tally.counts[id];
        if (n === 0) continue;
        const name = BUILTIN_DETECTOR_NAMES[id];
        if (this.actions[id] === 'block') findings.push({ rule: `pii:${name}`, message: `${name} detected in the input (${n} ${n === 1 ? 'match' : 'matches'})` });
        else (maskedCounts ??= {})[name] = n;
      }
      this.tally.reset();
      if (rewritten !== request.body) masked = rewritten;
    }

    if (this.rules.length > 0) {
      const text = request.inputMessages ? messagesText(request.inputMessages) : undefined;
      if (text !== undefined) {
        for (const rule of this.rules) {
          if (rule.workspace !== undefined && rule.workspace !== request.workspace) continue;
          if (rule.model !== undefined && (request.model === undefined || !rule.model(request.model))) continue;
          const result = rule.check(text);
          if (result.outcome === 'triggered') findings.push({ rule: rule.finding, message: `${rule.label}: ${result.detail ?? 'triggered'}` });
        }
      }
    }

    // A refused call is still recorded: with everything the detectors found masked, the secret
    // that got it refused is not stored either.
    if (findings.length > 0) return { ...block(400, findings, 'content'), ...(masked !== undefined ? { recordedBody: masked } : {}) };
    if (masked !== undefined && maskedCounts !== undefined) {
      return { action: 'rewrite', body: masked, attributes: { [PREFLIGHT_MASKED_ATTRIBUTE]: JSON.stringify(maskedCounts) } };
    }
    return { action: 'allow' };
  }

  /** USD `workspace` has spent in the budget's window (0 without a budget). */
  spent(workspace: string): number {
    return this.ledger ? this.ledger.spent(workspace, this.now()) : 0;
  }

  /**
   * Credits a forwarded call's cost to its workspace: the usage the provider reported, or, when
   * none arrived for a call that did not fail (a stream cut short), the request's bytes / 4 as
   * input tokens. Returns the USD credited (0 without a budget, a model or a price).
   */
  settle(call: PreflightSettlement): number {
    if (!this.ledger || call.model === undefined) return 0;
    const usage: LlmUsage | undefined = call.usage ?? (call.status === undefined || call.status < 400 ? { input: Math.ceil(call.bodyBytes / 4) } : undefined);
    if (!usage) return 0;
    const match = this.prices.lookup(call.model, { workspace: call.workspace, provider: call.providerName });
    if (!match) return 0;
    const usd = costUsd(match.price, { input: count(usage.input), output: count(usage.output), cacheRead: count(usage.cacheRead) });
    this.ledger.add(call.workspace, usd, this.now());
    return usd;
  }

  /** The model allow-list, then the budget: answered 403. */
  private policyFinding(request: PreflightRequest): { finding: PreflightFinding; reason: string } | undefined {
    if (this.allowModel) {
      if (request.model === undefined) return { finding: { rule: 'models.allow', message: 'the request names no model; this gateway forwards only allowed models' }, reason: 'model' };
      if (!this.allowModel(request.model)) {
        return { finding: { rule: 'models.allow', message: `model ${JSON.stringify(request.model.slice(0, MAX_NAME_IN_MESSAGE))} is not allowed by this gateway` }, reason: 'model' };
      }
    }
    const budget = this.config.budget;
    if (budget && this.ledger) {
      const limit = budget.workspaces[request.workspace]?.usd ?? budget.usd;
      const spent = this.ledger.spent(request.workspace, this.now());
      if (spent >= limit) {
        return {
          finding: { rule: 'budget', message: `workspace ${request.workspace} spent $${spent.toFixed(6)} of its $${limit} budget in the last ${budget.window_seconds} s` },
          reason: 'budget',
        };
      }
    }
    return undefined;
  }

  /** The body with its input fields masked (the same object when nothing changed). */
  private scanBody(request: PreflightRequest, state: ScanState): Record<string, unknown> {
    const body = request.body;
    let out: Record<string, unknown> | undefined;
    for (const field of INPUT_FIELDS[request.api]) {
      if (!Object.prototype.hasOwnProperty.call(body, field)) continue;
      const value = body[field];
      const scanned = this.scanValue(value, 0, state);
      if (scanned !== value) setOwn((out ??= { ...body }), field, scanned);
    }
    return out ?? body;
  }

  private scanValue(value: unknown, depth: number, state: ScanState): unknown {
    if (typeof value === 'string') return this.scanString(value, state);
    if (value === null || typeof value !== 'object') return value;
    if (depth >= MAX_SCAN_DEPTH) {
      state.tooDeep = true;
      return value;
    }
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const scanned = this.scanValue(value[i], depth + 1, state);
        if (scanned !== value[i]) (out ??= value.slice())[i] = scanned;
      }
      return out ?? value;
    }
    const record = value as Record<string, unknown>;
    let out: Record<string, unknown> | undefined;
    for (const key of Object.keys(record)) {
      const v = record[key];
      if (typeof v === 'string' && STRUCTURAL_KEYS.has(key)) continue;
      const scanned = this.scanValue(v, depth + 1, state);
      if (scanned !== v) setOwn((out ??= { ...record }), key, scanned);
    }
    return out ?? record;
  }

  private scanString(text: string, state: ScanState): string {
    // Data URLs (inline images, files) are payloads, not text.
    if (text.startsWith('data:')) return text;
    const result = (this.redactor as TextRedactor).redact(text, state.tally);
    // No detector here drops; a DROP would mean one did, so the text is kept and the count stands.
    return result === DROP ? text : result;
  }
}

function block(status: 400 | 403, findings: PreflightFinding[], reason: string): PreflightDecision {
  const what = status === 403 ? "the gateway's policy" : "the gateway's input checks";
  return {
    action: 'block',
    status,
    message: `the request was refused by ${what}: ${findings.map((f) => f.message).join('; ')}`,
    findings,
    attributes: { [PREFLIGHT_REASON_ATTRIBUTE]: reason } satisfies Attributes,
  };
}

function count(n: number | undefined): bigint {
  return n === undefined || !Number.isFinite(n) || n < 0 ? 0n : BigInt(Math.trunc(n));
}

// Assigning "__proto__" would replace the object's prototype instead of setting a key.
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
