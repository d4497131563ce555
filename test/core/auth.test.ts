import { ApiKeyAuth } from '../../core/auth';

const KEY = 'th_live_0123456789abcdef';

describe('API key auth', () => {
  const auth = new ApiKeyAuth({ api_keys: ['th_other_key_000000000', KEY] });

  it('accepts the key as a Bearer token, X-API-Key, Basic password or X-ClickHouse-Key', () => {
    expect(auth.authenticate({ authorization: `Bearer ${KEY}` }).outcome).toBe('ok');
    expect(auth.authenticate({ 'x-api-key': KEY }).outcome).toBe('ok');
    expect(auth.authenticate({ authorization: `Basic ${Buffer.from(`default:${KEY}`).toString('base64')}` }).outcome).toBe('ok');
    expect(auth.authenticate({ 'x-clickhouse-key': KEY }).outcome).toBe('ok');
  });

  it('tells a missing key from a wrong one', () => {
    expect(auth.authenticate({}).outcome).toBe('missing');
    expect(auth.authenticate({ authorization: 'Bearer nope' }).outcome).toBe('invalid');
    expect(auth.authenticate({ authorization: `Bearer ${KEY}x` }).outcome).toBe('invalid');
    expect(auth.authenticate({ authorization: 'Token abc' }).outcome).toBe('missing');
  });

  it('lets everything through when no keys are configured or auth is none', () => {
    expect(new ApiKeyAuth(undefined).authenticate({}).outcome).toBe('ok');
    expect(new ApiKeyAuth('none').authenticate({}).outcome).toBe('ok');
  });
});
