/** Documents that break the rules, for the validation tests. */

/** Metadata nested four levels deep (the limit is three). */
export const deepMetadata = { a: { b: { c: { d: 1 } } } };

/** Metadata of more than 16 KB once serialized. */
export const bigMetadata = { notes: 'x'.repeat(16 * 1024) };

/** A trace with observations breaking every rule the receiver checks, each once. */
export const everyRuleBroken = {
  data: {
    type: 'traces',
    id: '',
    attributes: {
      name: '',
      project: 'p'.repeat(129),
      client: { sdk: 5, browser: 'firefox' },
      metadata: { ...deepMetadata, ...bigMetadata },
      started_at: 'yesterday',
      ended_at: '2025-02-30T10:00:00Z',
      status: 'done',
      error: { code: 1, retryable: 'no' },
      metrics: [{ name: 'bad name', value: '5', scale: 3, source: 'robot', at: 'noon', unit: 'ms' }],
      tags: ['vip'],
    },
    relationships: {
      observations: {
        data: [
          {
            type: 'observation',
            id: 'obs-1',
            attributes: {
              name: 'n'.repeat(129),
              kind: 'chat',
              started_at: '2025-09-17T12:00:05Z',
              ended_at: '2025-09-17T12:00:04.999Z',
              status: 'ok',
              error: { code: '', message: 'upstream failed', provider_code: true },
              model: '',
              model_version: 5,
              parameters: ['temperature'],
              region: 1,
              provider_request_id: 2,
              provider_response_id: '',
              input: 'What is 2+2?',
              usage: { input_tokens: -1, output_tokens: 1.5, total_tokens: 'ten', compute_time_ms: -5, cached_tokens: 3 },
              cost: { total: -0.01, currency: '', estimated: 'yes' },
              metrics: [{ name: 'm'.repeat(65) }],
              metadata: 'not-an-object',
              ingested_at: '2025-09-17T12:00:06Z',
            },
          },
          { type: 'obs', id: 'obs-1' },
          42,
        ],
      },
    },
  },
};
