import { ApiKeyAuth } from '../../core/auth';

const KEY = 'th_live_0123456789abcdef';

describe('API key auth', () => {
  const auth = new ApiKeyAuth({ api_keys: ['th_other_key_000000000', KEY] });

  it('accepts the key as a Bearer token, X-API-Key, Basic password or X-ClickHouse-Key', () => {
    expect(auth.check({ authorization: `Bearer ${KEY}` })).toBe('ok');
    expect(auth.check({ 'x-api-key': KEY })).toBe('ok');
    expect(auth.check({ authorization: `Basic ${Buffer.from(`default:${KEY}`).toString('base64')}` })).toBe('ok');
    expect(auth.check({ 'x-clickhouse-key': KEY })).toBe('ok');
  });

  it('tells a missing key from a wrong one', () => {
    expect(auth.check({})).toBe('missing');
    expect(auth.check({ authorization: 'Bearer nope' })).toBe('invalid');
    expect(auth.check({ authorization: `Bearer ${KEY}x` })).toBe('invalid');
    expect(auth.check({ authorization: 'Token abc' })).toBe('missing');
  });

  it('lets everything through when no keys are configured or auth is none', () => {
    expect(new ApiKeyAuth(undefined).check({})).toBe('ok');
    expect(new ApiKeyAuth('none').check({})).toBe('ok');
  });
});
