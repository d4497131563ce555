/** Realistic request documents, as a Brixo SDK would send them. */

export const TRACE_ID = 'trace_support_2025_0917_001';

export const traceAttributes = {
  name: 'support-chat',
  project: 'helpdesk',
  environment: 'prod',
  client: { sdk: 'brixo-python', version: '1.4.2', user_agent: 'brixo-python/1.4.2 CPython/3.12' },
  metadata: { customer: { tier: 'gold', region: 'eu' }, ticket: 'T-1042', attempt: 2 },
  started_at: '2025-09-17T12:34:56.100Z',
  ended_at: '2025-09-17T12:34:58.900123456Z',
  status: 'success',
  metrics: [{ name: 'user.satisfaction', value: 4.5, scale: '1-5', source: 'human', at: '2025-09-17T12:40:00Z' }],
};

export const retrievalObservation = {
  type: 'observation',
  id: 'obs_kb_search',
  attributes: {
    name: 'kb-search',
    kind: 'retrieval',
    started_at: '2025-09-17T12:34:56.200Z',
    ended_at: '2025-09-17T12:34:56.450Z',
    status: 'success',
    provider: 'pinecone',
    model: 'multilingual-e5-large',
    parameters: { top_k: 3, namespace: 'kb-en' },
    endpoint: 'query',
    input: { query: 'How do I reset my password?' },
    output: { matches: [{ id: 'kb-12', score: 0.91 }, { id: 'kb-40', score: 0.77 }] },
    usage: { input_tokens: 9 },
    cost: { total: 0.0004, currency: 'EUR' },
  },
};

export const llmObservation = {
  type: 'observation',
  id: 'obs_answer',
  attributes: {
    kind: 'llm',
    started_at: '2025-09-17T12:34:56.500Z',
    ended_at: '2025-09-17T12:34:58.800Z',
    status: 'success',
    provider: 'openai',
    model: 'gpt-4o-mini',
    model_version: 'gpt-4o-mini-2024-07-18',
    parameters: { temperature: 0.2, top_p: 1, max_output_tokens: 512, seed: 7, stop: ['\n\n'], tool_choice: 'auto' },
    endpoint: 'chat.completions',
    region: 'us-east-1',
    provider_request_id: 'req_7f3a',
    provider_response_id: 'chatcmpl-B9x1',
    input: {
      messages: [
        { role: 'system', content: 'You are a helpful support agent.' },
        { role: 'user', content: 'How do I reset my password?' },
      ],
      tools: [{ type: 'function', function: { name: 'lookup_account' } }],
    },
    output: {
      choices: [{ index: 0, message: { role: 'assistant', content: 'Click "Forgot password" on the sign-in page.' }, finish_reason: 'stop' }],
    },
    usage: { input_tokens: 42, output_tokens: 12, total_tokens: 54, total_time_ms: 2300 },
    cost: { total: 0.0000135, estimated: true },
    metrics: [{ name: 'groundedness', value: 0.93, source: 'auto' }],
    metadata: { prompt_version: 'v7' },
  },
};

export const toolObservation = {
  type: 'observation',
  id: 'obs_lookup',
  attributes: {
    name: 'lookup_account',
    kind: 'tool',
    started_at: '2025-09-17T12:34:58.810Z',
    ended_at: '2025-09-17T12:34:58.890Z',
    status: 'error',
    error: { code: 'NOT_FOUND', type: 'lookup_error', message: 'no account for that email', retryable: false },
    provider: 'internal',
    model: 'accounts-service',
    parameters: {},
    endpoint: 'accounts.lookup',
    input: { email: 'ada@example.com' },
    output: { found: false },
  },
};

export const traceWithObservations = {
  data: {
    type: 'trace',
    id: TRACE_ID,
    attributes: traceAttributes,
    relationships: { observations: { data: [retrievalObservation, llmObservation, toolObservation] } },
  },
};
