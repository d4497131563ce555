import type { Attributes, Span } from '../../../core/span';
import { harness, llmSpan, resource } from './support';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

describe('copy-on-write', () => {
  it('never modifies the incoming batch, and copies only the spans it changes', async () => {
    const llm = llmSpan({ 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o', 'llm.token_count.prompt': 10n });
    const http = llmSpan({ 'http.route': '/health' }, { name: 'GET /health' });
    const before = structuredClone({ llm: llm.attributes, http: http.attributes });
    const batch = deepFreeze([llm, http]);
    // Frozen input: any write to it would throw in strict mode.
    const out = await harness().run(batch);
    expect(out).not.toBe(batch);
    expect(out[0]).not.toBe(llm);
    expect(out[0].attributes['gen_ai.request.model']).toBe('gpt-4o');
    expect(out[0].resource).toBe(llm.resource);
    expect(out[1]).toBe(http);
    expect({ llm: llm.attributes, http: http.attributes }).toEqual(before);
  });

  it('passes the very same batch on when nothing changes', async () => {
    const batch = [llmSpan({ 'http.route': '/a' }), llmSpan({ 'db.system': 'postgresql' })];
    expect(await harness().run(batch)).toBe(batch);
  });
});

describe('context', () => {
  const stamp = async (config: unknown, attrs: Attributes, res: Attributes): Promise<Attributes> =>
    (await harness(config).one(llmSpan(attrs, { resource: resource(res) }))).attributes;

  it('takes project and environment from what OpenTelemetry SDKs put on the resource', async () => {
    const out = await stamp({ workspace: 'acme', project: 'fallback', environment: 'dev' }, {}, { 'service.name': 'checkout', 'deployment.environment.name': 'production' });
    expect(out).toMatchObject({ 'tracehouse.workspace': 'acme', 'tracehouse.project': 'checkout', 'tracehouse.environment': 'production' });
  });

  it('falls back to the configured defaults, ignoring the SDK placeholder service name', async () => {
    const out = await stamp({ workspace: 'acme', project: 'fallback', environment: 'dev' }, {}, { 'service.name': 'unknown_service:node' });
    expect(out).toMatchObject({ 'tracehouse.workspace': 'acme', 'tracehouse.project': 'fallback', 'tracehouse.environment': 'dev' });
  });

  it('keeps values the span or its resource already carries', async () => {
    const out = await stamp(
      { workspace: 'acme', project: 'fallback', environment: 'dev' },
      { 'tracehouse.project': 'from-span' },
      { 'tracehouse.workspace': 'from-resource', 'service.name': 'checkout', 'deployment.environment': 'staging', 'tracehouse.environment': 'qa' },
    );
    expect(out).toMatchObject({ 'tracehouse.workspace': 'from-resource', 'tracehouse.project': 'from-span', 'tracehouse.environment': 'qa' });
  });

  it('writes nothing when no source has a value', async () => {
    const out = await stamp({}, {}, {});
    expect(out['tracehouse.workspace']).toBeUndefined();
    expect(out['tracehouse.project']).toBeUndefined();
    expect(out['tracehouse.environment']).toBeUndefined();
  });
});

test('a batch of mixed spans keeps its order and length', async () => {
  const spans: Span[] = [
    llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1n }),
    llmSpan({ 'http.route': '/x' }),
    llmSpan({ 'gen_ai.request.model': 'nope', 'gen_ai.usage.input_tokens': 1n }),
  ];
  const out = await harness().run(spans);
  expect(out.map((s) => s.spanId)).toEqual(spans.map((s) => s.spanId));
  expect(out.map((s) => s.attributes['tracehouse.cost_status'])).toEqual(['catalog', undefined, 'unknown_model']);
});
