import { createHash } from 'node:crypto';
import { WorkspaceDirectory, workspacesConfigSchema } from '../../core/workspaces';

const KEY = 'th_acme_0123456789abcdef';
const HASHED = 'th_hashed_0123456789abcdef';

describe('workspace directory', () => {
  const config = workspacesConfigSchema.parse({
    acme: {
      api_keys: [KEY, { sha256: createHash('sha256').update(HASHED).digest('hex') }],
      webhook_signing_secrets: ['whsec_new', 'whsec_old'],
    },
    beta: { api_keys: [{ key: 'th_beta_0123456789abcdef', receivers: ['logs'] }] },
  });
  const directory = new WorkspaceDirectory(config);

  it('names the workspace of a plain or SHA-256-configured key, as Bearer or X-API-Key', () => {
    expect(directory.authenticate({ authorization: `Bearer ${KEY}` }, 'native')).toMatchObject({ outcome: 'ok', workspace: 'acme' });
    expect(directory.authenticate({ 'x-api-key': HASHED }, 'native')).toMatchObject({ outcome: 'ok', workspace: 'acme' });
  });

  it('gives each key a principal that does not reveal it', () => {
    const result = directory.authenticate({ authorization: `Bearer ${KEY}` }, 'native');
    expect(result.outcome === 'ok' && result.principal).toMatch(/^key:[0-9a-f]{12}$/);
    expect(JSON.stringify(result)).not.toContain(KEY);
  });

  it('answers missing, invalid, and forbidden for a key restricted to other receivers', () => {
    expect(directory.authenticate({}, 'native').outcome).toBe('missing');
    expect(directory.authenticate({ authorization: 'Bearer nope' }, 'native').outcome).toBe('invalid');
    expect(directory.authenticate({ authorization: 'Bearer th_beta_0123456789abcdef' }, 'native')).toEqual({ outcome: 'forbidden', workspace: 'beta' });
    expect(directory.authenticate({ authorization: 'Bearer th_beta_0123456789abcdef' }, 'logs')).toMatchObject({ outcome: 'ok', workspace: 'beta' });
  });

  it('keeps each workspace its own signing secrets', () => {
    expect(directory.signingSecrets('acme')).toEqual(['whsec_new', 'whsec_old']);
    expect(directory.signingSecrets('beta')).toEqual([]);
  });

  it('rejects a key entry with both or neither of key and sha256, and bad workspace ids', () => {
    expect(workspacesConfigSchema.safeParse({ a: { api_keys: [{ key: 'x', sha256: 'a'.repeat(64) }] } }).success).toBe(false);
    expect(workspacesConfigSchema.safeParse({ a: { api_keys: [{ receivers: ['x'] }] } }).success).toBe(false);
    expect(workspacesConfigSchema.safeParse({ a: { api_keys: [{ sha256: 'ABC' }] } }).success).toBe(false);
    expect(workspacesConfigSchema.safeParse({ 'a b': { api_keys: ['k'] } }).success).toBe(false);
  });
});
