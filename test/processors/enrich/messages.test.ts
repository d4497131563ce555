/**
 * OpenLLMetry messages have two readings: one pass for the usual text-only spans, and the general
 * one (tool calls, tool results, any index). Whatever the attributes, both must give the same JSON.
 */
import type { AttributeValue, Attributes } from '../../../core/span';
import { openLlmetryConversation, openLlmetryMessages } from '../../../processors/enrich/messages';

function general(attrs: Attributes) {
  return { input: openLlmetryMessages(attrs, 'prompt'), output: openLlmetryMessages(attrs, 'completion') };
}

/** A small deterministic generator, so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const INDICES = ['0', '1', '2', '3', '10', '11', '01', '00', '', '-1', '1e0', ' 1', '999', '1000', 'x'];
const FIELDS = ['role', 'content', 'content', 'content', 'finish_reason', 'tool_call_id', 'tool_calls.0.name', 'tool_calls.0.arguments', 'name', '', 'content.extra'];
const VALUES: AttributeValue[] = ['user', 'assistant', 'system', 'tool', '', 'Hello "quoted" \\ text\n', 'é ✓ 😀', 'stop', 'length', null, 42, 1n, true, ['a', 'b'], { k: 'v' }];

function attributesFor(seed: number): Attributes {
  const next = random(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)];
  const attrs: Attributes = { 'gen_ai.system': 'openai', 'llm.request.type': 'chat' };
  const count = 1 + Math.floor(next() * 8);
  for (let i = 0; i < count; i++) {
    const direction = next() < 0.5 ? 'prompt' : 'completion';
    // Mostly the usual shape; sometimes anything.
    const usual = next() < 0.7;
    const index = usual ? String(Math.floor(next() * 4)) : pick(INDICES);
    const field = usual ? pick(['role', 'content', 'finish_reason']) : pick(FIELDS);
    attrs[`gen_ai.${direction}.${index}.${field}`] = usual && field === 'role' ? pick(['user', 'assistant', 'system']) : pick(VALUES);
  }
  if (next() < 0.2) attrs['gen_ai.prompt.0'] = 'no field';
  return attrs;
}

test('the one-pass reading and the general one give the same messages for any attributes', () => {
  for (let seed = 1; seed <= 5000; seed++) {
    const attrs = attributesFor(seed);
    expect({ seed, ...openLlmetryConversation(attrs) }).toEqual({ seed, ...general(attrs) });
  }
});

test('a text-only conversation becomes GenAI messages in index order, with finish reasons', () => {
  const attrs: Attributes = {
    'gen_ai.prompt.1.role': 'user',
    'gen_ai.prompt.1.content': 'second',
    'gen_ai.prompt.0.role': 'system',
    'gen_ai.prompt.0.content': 'first',
    'gen_ai.prompt.10.content': 'eleventh, role by default',
    'gen_ai.completion.0.content': 'answer',
    'gen_ai.completion.0.finish_reason': 'stop',
  };
  const { input, output } = openLlmetryConversation(attrs);
  expect(JSON.parse(input as string)).toEqual([
    { role: 'system', parts: [{ type: 'text', content: 'first' }] },
    { role: 'user', parts: [{ type: 'text', content: 'second' }] },
    { role: 'user', parts: [{ type: 'text', content: 'eleventh, role by default' }] },
  ]);
  expect(JSON.parse(output as string)).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'answer' }], finish_reason: 'stop' }]);
});
