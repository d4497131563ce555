/**
 * The judge's wire format read defensively (bare, fenced and embedded JSON; bad verdicts; clamped
 * confidence; bounded explanation and answer) and the call slots' bounds.
 */
import { CallSlots, CallSlotsFullError } from '../../../core/llm/call-slots';
import { judgeAnswer, judgeRequest, MAX_EXPLANATION_CHARS, MAX_JUDGED_CHARS, parseVerdict } from '../../../core/llm/judge-protocol';

describe('parseVerdict', () => {
  it('reads bare, fenced and embedded JSON', () => {
    expect(parseVerdict('{"verdict":"pass","confidence":0.7,"explanation":"ok"}')).toEqual({ verdict: 'pass', confidence: 0.7, explanation: 'ok' });
    expect(parseVerdict('```json\n{"verdict": "Fail", "explanation": "no"}\n```')).toEqual({ verdict: 'fail', explanation: 'no' });
    expect(parseVerdict('Sure. {"verdict": "pass", "confidence": "0.4"} Hope this helps.')).toEqual({ verdict: 'pass', confidence: 0.4, explanation: '' });
  });

  it('clamps confidence, ignores a non-numeric one, and bounds the explanation to one line', () => {
    expect(parseVerdict('{"verdict":"pass","confidence":7}')).toMatchObject({ confidence: 1 });
    expect(parseVerdict('{"verdict":"pass","confidence":-2}')).toMatchObject({ confidence: 0 });
    expect(parseVerdict('{"verdict":"pass","confidence":"high"}')).not.toHaveProperty('confidence');
    const long = parseVerdict(JSON.stringify({ verdict: 'fail', explanation: `line one\n\nline two ${'x'.repeat(2_000)}` }));
    expect(typeof long === 'object' && long.explanation.startsWith('line one line two ')).toBe(true);
    expect(typeof long === 'object' && long.explanation.length).toBe(MAX_EXPLANATION_CHARS);
  });

  it('says why there is no verdict', () => {
    expect(parseVerdict('pass')).toBe("the judge's answer is not a JSON object");
    expect(parseVerdict('{"verdict": pass}')).toBe("the judge's answer is not a JSON object");
    expect(parseVerdict('["pass"]')).toBe("the judge's answer is not a JSON object");
    expect(parseVerdict('{"verdict":"yes"}')).toBe('the judge\'s answer has no "verdict" of "pass" or "fail"');
    expect(parseVerdict('{"result":"pass"}')).toBe('the judge\'s answer has no "verdict" of "pass" or "fail"');
    expect(parseVerdict(`{"verdict":"pass","explanation":"${'a'.repeat(20_000)}"}`)).toMatch(/longer than/);
  });

  it('reads a fenced verdict without the json tag, and answers a megabyte of fences without a verdict', () => {
    expect(parseVerdict('```\n{"verdict": "PASS"}\n```')).toMatchObject({ verdict: 'pass' });
    expect(typeof parseVerdict('```json '.repeat(140_000))).toBe('string');
  });
});

describe('judgeAnswer', () => {
  it('reads the text, model and usage of each API', () => {
    const chat = judgeAnswer('openai', { model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: '{"verdict":"fail"}' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 3 } });
    expect(chat).toEqual({ model: 'gpt-4o-mini', usage: { input: 10, output: 3 }, verdict: { verdict: 'fail', explanation: '' } });
    const messages = judgeAnswer('anthropic', { model: 'claude-haiku-4-5', content: [{ type: 'text', text: '{"verdict":"pass"}' }], usage: { input_tokens: 8, output_tokens: 2 } });
    expect(messages).toMatchObject({ model: 'claude-haiku-4-5', usage: { input: 8, output: 2 }, verdict: { verdict: 'pass' } });
    expect(judgeAnswer('openai', { choices: [] }).problem).toBe('the judge answered without any text');
    expect(judgeAnswer('openai', 'not an object').problem).toBe('the judge answered without any text');
  });
});

describe('judgeRequest', () => {
  it('puts the key in a header only and cuts long texts', () => {
    const big = 'y'.repeat(MAX_JUDGED_CHARS + 10);
    const openai = judgeRequest('openai', 'm', 'sk-secret', { criteria: 'c', output: big });
    expect(openai.headers).toEqual({ authorization: 'Bearer sk-secret' });
    const user = (openai.body.messages as { content: string }[])[1].content;
    expect(JSON.stringify(openai.body).includes('sk-secret')).toBe(false);
    expect(user.endsWith('\n[truncated]\n</output>')).toBe(true);
    expect(user.length).toBeLessThan(MAX_JUDGED_CHARS + 100);
    expect(user.includes('<input>')).toBe(false);
    const anthropic = judgeRequest('anthropic', 'm', 'sk-secret', { criteria: 'c', output: 'o', input: 'i' });
    expect(anthropic.headers).toEqual({ 'x-api-key': 'sk-secret', 'anthropic-version': '2023-06-01' });
    expect(anthropic.body.messages).toEqual([{ role: 'user', content: '<criteria>\nc\n</criteria>\n\n<input>\ni\n</input>\n\n<output>\no\n</output>' }]);
  });
});

describe('CallSlots', () => {
  it('grants up to maxActive, queues up to maxWaiting, refuses beyond, and hands a freed slot to the next waiter', async () => {
    const slots = new CallSlots(1, 1);
    const signal = new AbortController().signal;
    const release = await slots.acquire(signal);
    let granted = false;
    const waiting = slots.acquire(signal).then((r) => {
      granted = true;
      return r;
    });
    await expect(slots.acquire(signal)).rejects.toBeInstanceOf(CallSlotsFullError);
    expect([slots.inUse, slots.queued, granted]).toEqual([1, 1, false]);
    release();
    release(); // idempotent
    const second = await waiting;
    expect([slots.inUse, slots.queued]).toEqual([1, 0]);
    second();
    expect(slots.inUse).toBe(0);
  });

  it('drops a waiter whose signal aborts', async () => {
    const slots = new CallSlots(1, 5);
    const release = await slots.acquire(new AbortController().signal);
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(slots.queued).toBe(0);
    release();
    expect(slots.inUse).toBe(0);
  });
});
