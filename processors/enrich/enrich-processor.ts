import type { ComponentSettings, Processor, SpanConsumer } from '../../core/component';
import type { ConsumeResult } from '../../core/evaluation';
import { builtInCatalog, costUsd, PriceBook } from '../../core/pricing/pricing';
import type { PriceScope } from '../../core/pricing/pricing';
import { attributeAsNumber, type AttributeValue, type Attributes, type Span, type SpanBatch } from '../../core/span';
import type { ProcessorTelemetry } from '../../core/telemetry';
import { AttributeDraft } from './attribute-draft';
import type { EnrichProcessorConfig } from './config';
import { normalizeAttributes } from './normalize';
import { accountTokens } from './tokens';

export const COST_USD = 'tracehouse.cost_usd';
export const COST_STATUS = 'tracehouse.cost_status';

/** Where tracehouse.cost_usd came from, or why there is none. */
export type CostStatus = 'client' | 'override' | 'catalog' | 'unknown_model';

/** Cost attributes clients send themselves, in order of preference; they always win. */
const CLIENT_COST_KEYS = [COST_USD, 'costUsd', 'estimatedCostUsd', 'llm.cost.total'];

function present(value: AttributeValue | undefined): value is AttributeValue {
  return value !== undefined && value !== null && value !== '';
}

/** The attribute when it is a non-empty string. */
function text(attrs: Attributes, key: string): string | undefined {
  const value = attrs[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function clientCost(attrs: Attributes): number | undefined {
  for (const key of CLIENT_COST_KEYS) {
    const value = attrs[key];
    if (!present(value)) continue;
    const n = attributeAsNumber(value);
    if (n !== undefined && Number.isFinite(n) && n >= 0) return n;
  }
  return undefined;
}

/** Per-batch tallies by event and kind, flushed to telemetry once per batch rather than once per span. */
class Tally {
  private readonly counts = new Map<string, Map<string, number>>();
  add(event: string, kind = ''): void {
    let kinds = this.counts.get(event);
    if (kinds === undefined) this.counts.set(event, (kinds = new Map()));
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  flush(telemetry: ProcessorTelemetry): void {
    for (const [event, kinds] of this.counts) {
      for (const [kind, count] of kinds) telemetry.event(event, count, kind);
    }
  }
}

/**
 * Normalizes conventions onto the GenAI attributes, converts token counts to the OpenTelemetry
 * rule, stamps workspace/project/environment and prices each model call. Spans that change are
 * copied; the incoming batch is left as it was.
 */
export class EnrichProcessor implements Processor {
  private readonly telemetry: ProcessorTelemetry;
  private readonly prices: PriceBook;

  constructor(
    private readonly config: EnrichProcessorConfig,
    settings: ComponentSettings<ProcessorTelemetry>,
    private readonly next: SpanConsumer,
  ) {
    this.telemetry = settings.telemetry;
    this.prices = new PriceBook(config.catalog ? builtInCatalog().entries : [], config.price_overrides);
  }

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {}

  async consume(batch: SpanBatch, signal: AbortSignal): Promise<ConsumeResult | void> {
    const tally = new Tally();
    let out: Span[] | undefined;
    for (let i = 0; i < batch.length; i++) {
      const enriched = this.enrich(batch[i], tally);
      if (enriched !== batch[i]) {
        out ??= batch.slice();
        out[i] = enriched;
      }
    }
    tally.flush(this.telemetry);
    return this.next.consume(out ?? batch, signal);
  }

  /** Returns the span itself when nothing changed, else a copy with new attributes. */
  private enrich(span: Span, tally: Tally): Span {
    const draft = new AttributeDraft(span.attributes);
    for (const convention of normalizeAttributes(draft, span.name)) tally.add('normalized', convention);
    const { usage, conversions } = accountTokens(draft);
    for (const conversion of conversions) tally.add('tokens_converted', conversion);
    const scope = this.stampContext(draft, span);
    this.price(draft, usage, scope, tally);
    return draft.changed ? { ...span, attributes: draft.current } : span;
  }

  /**
   * The span's own value wins, then the resource's tracehouse.* value, then what OpenTelemetry
   * SDKs already put on the resource, then the configured default.
   */
  private stampContext(draft: AttributeDraft, span: Span): { workspace?: string; project?: string } {
    const resource = span.resource.attributes;
    const service = resource['service.name'];
    // SDKs fill "unknown_service[:process]" when the application named nothing: not a project.
    const serviceName = typeof service === 'string' && !service.startsWith('unknown_service') ? service : undefined;
    const attrs = draft.current;
    const workspace = text(attrs, 'tracehouse.workspace') ?? text(resource, 'tracehouse.workspace') ?? this.config.workspace;
    const project = text(attrs, 'tracehouse.project') ?? text(resource, 'tracehouse.project') ?? serviceName ?? this.config.project;
    const environment =
      text(attrs, 'tracehouse.environment') ??
      text(resource, 'tracehouse.environment') ??
      text(resource, 'deployment.environment.name') ??
      text(resource, 'deployment.environment') ??
      this.config.environment;
    draft.fill('tracehouse.workspace', workspace);
    draft.fill('tracehouse.project', project);
    draft.fill('tracehouse.environment', environment);
    return { workspace, project };
  }

  private price(
    draft: AttributeDraft,
    usage: ReturnType<typeof accountTokens>['usage'],
    scope: { workspace?: string; project?: string },
    tally: Tally,
  ): void {
    const attrs = draft.current;
    // Already priced (by a client, or by an enrich earlier in the path): keep it as it is.
    if (present(attrs[COST_USD]) && present(attrs[COST_STATUS])) return;
    const supplied = clientCost(attrs);
    if (supplied !== undefined) {
      draft.set(COST_USD, supplied);
      draft.set(COST_STATUS, 'client' satisfies CostStatus);
      tally.add('cost', 'client');
      return;
    }
    if (usage.input === undefined && usage.output === undefined) return;
    const model = text(attrs, 'gen_ai.response.model') ?? text(attrs, 'gen_ai.request.model');
    if (model === undefined) return;
    const priceScope: PriceScope = { workspace: scope.workspace, project: scope.project, provider: text(attrs, 'gen_ai.provider.name') };
    const match =
      this.prices.lookup(model, priceScope) ??
      // A dated response model may be unknown while the requested alias is priced.
      this.lookupRequestModel(attrs, model, priceScope);
    if (!match) {
      draft.set(COST_STATUS, 'unknown_model' satisfies CostStatus);
      tally.add('unknown_model');
      return;
    }
    draft.set(COST_USD, costUsd(match.price, usage));
    draft.set(COST_STATUS, match.source satisfies CostStatus);
    tally.add('cost', match.source);
  }

  private lookupRequestModel(attrs: Attributes, tried: string, scope: PriceScope) {
    const requested = text(attrs, 'gen_ai.request.model');
    return requested !== undefined && requested !== tried ? this.prices.lookup(requested, scope) : undefined;
  }
}
