import OpenAI from 'openai';
import { queryRows } from '../support/daemon';
import { DEFAULT_CONFIG_KEY, startDefaultDaemon } from '../support/default-daemon';
import { FakeLlmProvider } from '../support/fake-llm-provider';
import { waitFor } from '../support/wait';

test('the default pipelines.yaml starts with every listener on an ephemeral port', async () => {
  const daemon = await startDefaultDaemon();
  try {
    const res = await fetch(`${daemon.adminUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(daemon.service.listenerPorts.get('native')).toBeGreaterThan(0);
    // The control plane answers on the ingest listener with the workspace key.
    const rules = await fetch(`${daemon.receiverUrl('control_plane')}/api/rules`, { headers: { authorization: `Bearer ${DEFAULT_CONFIG_KEY}` } });
    expect(rules.status).toBe(200);
    expect(Array.isArray(await rules.json())).toBe(true);
    expect((await fetch(`${daemon.receiverUrl('control_plane')}/api/rules`)).status).toBe(401);
    // And what was stored reads back on it (read_api).
    const logs = await fetch(`${daemon.receiverUrl('read_api')}/api/logs`, { headers: { authorization: `Bearer ${DEFAULT_CONFIG_KEY}` } });
    expect(logs.status).toBe(200);
    expect(await logs.json()).toMatchObject({ executions: expect.any(Array), summary: expect.any(Object) });
  } finally {
    await daemon.stop();
  }
});

test('the default pipelines.yaml serves the LLM gateway: the SDK with the workspace key, the provider key from the environment, the e-mail in the prompt masked in storage', async () => {
  const provider = await FakeLlmProvider.start();
  const daemon = await startDefaultDaemon({ TRACEHOUSE_OPENAI_URL: provider.url, OPENAI_API_KEY: 'sk-from-the-environment' });
  try {
    const client = new OpenAI({ apiKey: DEFAULT_CONFIG_KEY, baseURL: `${daemon.receiverUrl('proxy')}/v1`, maxRetries: 0, defaultHeaders: { 'X-Task-ID': 'default-gateway' } });
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'write to jane.doe@example.com' }] });
    expect(answer.choices[0].message.content).toBe('Hello from the fake provider.');
    expect(provider.requests[0].headers.authorization).toBe('Bearer sk-from-the-environment');
    const [row] = await waitFor('the gateway call span', async () => {
      const rows = await queryRows<{ Input: string; GenAIProvider: string; CostUsd: number }>(
        daemon,
        "SELECT Input, GenAIProvider, CostUsd FROM otel_traces WHERE SpanAttributes['tracehouse.task'] = 'default-gateway' AND ParentSpanId = ''",
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(row.GenAIProvider).toBe('openai');
    expect(row.Input).not.toContain('jane.doe@example.com');
    expect(Number(row.CostUsd)).toBeGreaterThan(0);
  } finally {
    await daemon.stop();
    await provider.close();
  }
});
