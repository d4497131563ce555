import OpenAI from 'openai';
import { FakeLlmProvider } from '../../support/fake-llm-provider';
import { queryRows, startDaemon, TEST_API_KEY, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { waitFor } from '../../support/wait';

/** The proxy's preflight governance end to end: the real openai SDK -> the daemon -> a fake provider. */

const BUDGET_KEY = 'th_test_budget_0123456789abcdef';
const EMAIL = 'jane.doe@example.com';
const SECRET_KEY = 'sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2';

let daemon: TestDaemon;
let fake: FakeLlmProvider;
let database: string;
let url: string;
let taskCounter = 0;
const newTask = (name: string) => `preflight-${name}-${++taskCounter}`;

beforeAll(async () => {
  fake = await FakeLlmProvider.start();
  database = uniqueDatabase('preflight');
  const yaml = `receivers:
  proxy:
    listen: 127.0.0.1:0
    upstreams:
      openai: { provider: openai, base_url: "${fake.url}", api_key: "sk-config-secret-preflight-01" }
    preflight:
      pii:
        default: allow
        detectors: { api_key: block, us_ssn: block, email: mask }
      rules:
        - { id: no-codenames, name: No internal code names, type: keyword_forbidden, value: ["Project Falcon"] }
      models: { allow: ["gpt-4o*"] }
      max_input_bytes: 65536
      budget:
        usd: 1000
        window_seconds: 3600
        workspaces: { budgeted: { usd: 1 } }
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
    timeout_ms: 10
workspaces:
  ${TEST_WORKSPACE}:
    api_keys: ["${TEST_API_KEY}"]
  budgeted:
    api_keys: ["${BUDGET_KEY}"]
service:
  admin:
    listen: 127.0.0.1:0
  pipelines:
    traces: { receivers: [proxy], exporters: [clickhouse] }
`;
  daemon = await startDaemon(yaml);
  url = daemon.receiverUrl('proxy');
});
afterAll(async () => {
  await daemon?.stop();
  await fake?.close();
});
beforeEach(() => fake.reset());

const client = (task: string, key = TEST_API_KEY) => new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0, defaultHeaders: { 'X-Task-ID': task } });

/** The error the SDK raised for a call the gateway refused. */
async function refusal(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return err;
    throw err;
  }
  throw new Error('the call was not refused');
}

function callRow(task: string): Promise<Record<string, any>> {
  return waitFor(`the call span of ${task}`, async () => {
    const rows = await queryRows<Record<string, any>>(
      daemon,
      `SELECT StatusCode, Verdict, Workspace, GenAIRequestModel, Input, SpanAttributes FROM otel_traces WHERE SpanAttributes['tracehouse.task'] = '${task}' AND ParentSpanId = ''`,
      database,
    );
    return rows[0];
  });
}

describe('proxy receiver: preflight governance', () => {
  it('blocks a secret with 400 in the OpenAI envelope, never reaches the provider, and stores a flagged span', async () => {
    const task = newTask('pii-block');
    const err = await refusal(client(task).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `my key is ${SECRET_KEY}` }] }));
    expect(err.status).toBe(400);
    expect(err.type).toBe('invalid_request_error');
    expect(err.code).toBe('blocked_by_policy');
    const body = err.error as Record<string, any>;
    expect(body.findings).toEqual([{ rule: 'pii:api_key', message: 'api_key detected in the input (1 match)' }]);
    expect(JSON.stringify(body)).not.toContain(SECRET_KEY);
    expect(fake.requests).toHaveLength(0);

    const row = await callRow(task);
    expect(row.StatusCode).toBe('Error');
    expect(row.Verdict).toBe('flagged');
    expect(row.SpanAttributes).toMatchObject({
      'tracehouse.proxy.preflight.blocked': 'true',
      'tracehouse.proxy.preflight.reason': 'content',
      'tracehouse.verdict.severity': 'high',
      'http.response.status_code': '400',
      'tracehouse.proxy.attempts': '0',
    });
    expect(JSON.parse(row.SpanAttributes['tracehouse.proxy.preflight.findings'])).toEqual(body.findings);
    // The stored input has the secret masked: refusing it must not store it.
    expect(row.Input).toContain('my key is');
    expect(row.Input).not.toContain(SECRET_KEY);
  });

  it('blocks a forbidden keyword of an input rule with 400, naming the rule', async () => {
    const task = newTask('rule-block');
    const err = await refusal(client(task).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is the status of project falcon?' }] }));
    expect(err.status).toBe(400);
    expect((err.error as Record<string, any>).findings).toEqual([{ rule: 'rule:no-codenames', message: 'No internal code names: contains the forbidden keyword' }]);
    expect(fake.requests).toHaveLength(0);
    expect((await callRow(task)).Verdict).toBe('flagged');
  });

  it('masks an e-mail address before it leaves: the provider gets the masked body, the caller the answer', async () => {
    const task = newTask('mask');
    const answer = await client(task).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `Draft a reply to ${EMAIL} about the invoice` }] });
    expect(answer.choices[0].message.content).toBe('Hello from the fake provider.');
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].body.messages).toEqual([{ role: 'user', content: 'Draft a reply to [REDACTED:EMAIL] about the invoice' }]);
    expect(fake.requests[0].raw).not.toContain(EMAIL);
    const row = await callRow(task);
    expect(row.StatusCode).toBe('Ok');
    expect(row.Verdict).toBe('');
    expect(row.SpanAttributes['tracehouse.proxy.preflight.masked']).toBe('{"email":1}');
    // The stored input is what was forwarded.
    expect(row.SpanAttributes['gen_ai.input.messages']).toContain('[REDACTED:EMAIL]');
    expect(row.SpanAttributes['gen_ai.input.messages']).not.toContain(EMAIL);
  });

  it('answers 403 for a model outside the allow-list, in the OpenAI envelope', async () => {
    const task = newTask('model');
    const err = await refusal(client(task).chat.completions.create({ model: 'o1-pro', messages: [{ role: 'user', content: 'hi' }] }));
    expect(err.status).toBe(403);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.code).toBe('blocked_by_policy');
    expect((err.error as Record<string, any>).findings).toEqual([{ rule: 'models.allow', message: 'model "o1-pro" is not allowed by this gateway' }]);
    expect(fake.requests).toHaveLength(0);
    const row = await callRow(task);
    expect(row).toMatchObject({ Verdict: 'flagged', GenAIRequestModel: 'o1-pro' });
    expect(row.SpanAttributes['tracehouse.proxy.preflight.reason']).toBe('model');
  });

  it('answers 403 once the workspace spent its budget, crediting each forwarded call at catalog prices', async () => {
    const first = newTask('budget-1');
    // gpt-4o: 400,000 input tokens at $2.50 per million = $1.00, the workspace's whole budget.
    fake.setDefault({ usage: { input: 400_000, output: 0 } });
    await client(first, BUDGET_KEY).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(fake.requests).toHaveLength(1);
    // The span is queued right before the cost is credited: once it is stored, the budget is spent.
    await callRow(first);

    const second = newTask('budget-2');
    const err = await refusal(client(second, BUDGET_KEY).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi again' }] }));
    expect(err.status).toBe(403);
    const findings = (err.error as Record<string, any>).findings;
    expect(findings).toEqual([{ rule: 'budget', message: 'workspace budgeted spent $1.000000 of its $1 budget in the last 3600 s' }]);
    expect(fake.requests).toHaveLength(1);
    const row = await callRow(second);
    expect(row).toMatchObject({ Verdict: 'flagged', Workspace: 'budgeted' });
    expect(row.SpanAttributes['tracehouse.proxy.preflight.reason']).toBe('budget');

    // Another workspace still has its own budget.
    fake.setDefault({});
    const other = newTask('budget-other');
    await client(other).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(fake.requests).toHaveLength(2);
  });
});
