/**
 * GET /api/media/:key through HTTP: a log uploaded with base64 attachments, the 302 to a signed URL
 * on the same listener, the file served without a key with its content type and disposition,
 * another workspace's keys 404, altered and expired signatures 403, traversal attempts refused,
 * and files removed with the last log that references them.
 */
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ADMIN_KEY, OTHER_KEY, READ_KEY, startProjectsDaemon } from './projects-daemon';
import type { ProjectsDaemon } from './projects-daemon';

const SECRETS_KEY = 'media-test-secrets-key-0123456789';
const PDF = Buffer.from('%PDF-1.4\n% a tiny test document\n%%EOF\n');
const HTML = Buffer.from('<html><script>alert(1)</script></html>');
const SHARED = Buffer.from('the same bytes in two logs');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function get(url: string, key?: string): Promise<Response> {
  return fetch(url, { redirect: 'manual', headers: key ? { authorization: `Bearer ${key}` } : {} });
}

/** A GET with the path sent byte for byte (fetch would normalize "..", "%2e%2e" and "//"). */
function rawGet(port: number, rawPath: string, key: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET', headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('read_api: GET /api/media/:key', () => {
  let d: ProjectsDaemon;
  let base: string;
  beforeAll(async () => {
    d = await startProjectsDaemon('ra_media', ['media_url_ttl_seconds: 120']);
    base = d.daemon.receiverUrl('read_api');
    await d.log(ADMIN_KEY, {
      id: 'media-log-1',
      project: 'docs',
      attachments: [
        { upload: PDF.toString('base64'), name: 'report.pdf', content_type: 'application/pdf' },
        { upload: `data:text/html;base64,${HTML.toString('base64')}`, name: 'résumé final.html' },
        { url: 'https://example.com/elsewhere.png', name: 'elsewhere.png' },
        { upload: PDF.toString('base64'), name: 'odd.bin', content_type: 'text/html\r\nSet-Cookie: a=b' },
      ],
    });
  });
  afterAll(() => d.daemon.stop());

  it('redirects to a signed URL that serves the file with its content type, inline or as a download', async () => {
    // The log's own answer names each attachment's media key.
    const log = await get(`${base}/api/logs/media-log-1`, READ_KEY);
    expect(log.status).toBe(200);
    expect(((await log.json()) as { attachments: { mediaKey: string }[] }).attachments[0].mediaKey).toBe('acme/media-log-1/0-report.pdf');
    const redirect = await get(`${base}/api/media/acme/media-log-1/0-report.pdf`, READ_KEY);
    expect(redirect.status).toBe(302);
    const location = redirect.headers.get('location') ?? '';
    expect(location).toMatch(/^\/media\/signed\?key=acme%2Fmedia-log-1%2F0-report.pdf&expires=\d+&disposition=inline&signature=[A-Za-z0-9_-]{43}$/);
    // The signed URL needs no key.
    const file = await get(`${base}${location}`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/pdf');
    expect(file.headers.get('content-disposition')).toBe('inline; filename="report.pdf"');
    expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await file.arrayBuffer()).equals(PDF)).toBe(true);
    // The configured lifetime (120 s) is what the URL carries.
    const expires = Number(new URLSearchParams(location.split('?')[1]).get('expires'));
    expect(expires - Math.floor(Date.now() / 1000)).toBeGreaterThan(60);
    expect(expires - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(120);
    // fetch following the redirect lands on the same bytes.
    const followed = await fetch(`${base}/api/media/acme/media-log-1/0-report.pdf`, { headers: { authorization: `Bearer ${READ_KEY}` } });
    expect(Buffer.from(await followed.arrayBuffer()).equals(PDF)).toBe(true);

    const download = await get(`${base}/api/media/acme/media-log-1/0-report.pdf?download=1`, READ_KEY);
    expect(download.headers.get('location')).toContain('disposition=attachment');
    const downloaded = await get(`${base}${download.headers.get('location')}`);
    expect(downloaded.headers.get('content-disposition')).toBe('attachment; filename="report.pdf"');
    expect(Buffer.from(await downloaded.arrayBuffer()).equals(PDF)).toBe(true);
    expect((await get(`${base}/api/media/acme/media-log-1/0-report.pdf?download=yes`, READ_KEY)).status).toBe(422);
  });

  it('serves a data: URL upload with its type, a safe file name, and sandboxed; an invalid recorded type as bytes', async () => {
    const redirect = await get(`${base}/api/media/acme/media-log-1/1-r_sum_final.html`, READ_KEY);
    expect(redirect.status).toBe(302);
    const file = await get(`${base}${redirect.headers.get('location')}`);
    expect(file.headers.get('content-type')).toMatch(/^text\/html/);
    expect(file.headers.get('content-disposition')).toBe(`inline; filename="r_sum_final.html"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.html`);
    expect(file.headers.get('content-security-policy')).toMatch(/^sandbox/);
    expect(Buffer.from(await file.arrayBuffer()).equals(HTML)).toBe(true);

    const odd = await get(`${base}${(await get(`${base}/api/media/acme/media-log-1/3-odd.bin`, READ_KEY)).headers.get('location')}`);
    expect(odd.status).toBe(200);
    expect(odd.headers.get('content-type')).toBe('application/octet-stream');
    expect(odd.headers.get('set-cookie')).toBeNull();
  });

  it('answers 404 for keys of another workspace, unknown logs, URL attachments and names that do not match', async () => {
    // The other workspace's key asking for acme's file, and asking for it under its own workspace.
    expect((await get(`${base}/api/media/acme/media-log-1/0-report.pdf`, OTHER_KEY)).status).toBe(404);
    expect((await get(`${base}/api/media/other/media-log-1/0-report.pdf`, OTHER_KEY)).status).toBe(404);
    const notFound = await get(`${base}/api/media/acme/media-log-1/0-report.pdf`, OTHER_KEY);
    const unknown = await get(`${base}/api/media/acme/no-such-log/0-report.pdf`, ADMIN_KEY);
    expect(unknown.status).toBe(404);
    // The same answer whether the key exists elsewhere or not at all.
    expect(await notFound.text()).toBe(await (await get(`${base}/api/media/other/no-such-log/0-report.pdf`, OTHER_KEY)).text());
    expect((await get(`${base}/api/media/acme/media-log-1/2-elsewhere.png`, ADMIN_KEY)).status).toBe(404);
    expect((await get(`${base}/api/media/acme/media-log-1/0-other.pdf`, ADMIN_KEY)).status).toBe(404);
    expect((await get(`${base}/api/media/acme/media-log-1/9-report.pdf`, ADMIN_KEY)).status).toBe(404);
    expect((await get(`${base}/api/media/acme/media-log-1/0-report.pdf`)).status).toBe(401);
  });

  it('refuses altered signatures, keys, dispositions and forged expiries (403)', async () => {
    const location = (await get(`${base}/api/media/acme/media-log-1/0-report.pdf`, READ_KEY)).headers.get('location') ?? '';
    const url = new URL(`${base}${location}`);
    const variant = (change: (q: URLSearchParams) => void) => {
      const u = new URL(url);
      change(u.searchParams);
      return get(u.toString());
    };
    const sig = url.searchParams.get('signature') ?? '';
    const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    const refused = [
      await variant((q) => q.set('signature', flipped)),
      await variant((q) => q.set('key', 'acme/media-log-1/1-r_sum_final.html')),
      await variant((q) => q.set('disposition', 'attachment')),
      await variant((q) => q.set('expires', String(Number(q.get('expires')) + 3600))),
      await variant((q) => q.set('expires', '1')),
      await variant((q) => q.delete('signature')),
      await variant((q) => q.set('signature', 'x')),
    ];
    for (const res of refused) expect(res.status).toBe(403);
    expect(await refused[4].json()).toEqual({ error: 'invalid media URL signature' });
    // The untouched URL still works.
    expect((await get(url.toString())).status).toBe(200);
  });

  it('refuses traversal attempts: "..", encoded slashes and dots, absolute paths, backslashes', async () => {
    const port = Number(new URL(base).port);
    const attempts = [
      '/api/media/../../etc/passwd',
      '/api/media/acme/../../etc/passwd',
      '/api/media/acme/%2e%2e/0-report.pdf',
      '/api/media/acme%2F..%2F..%2Fetc%2Fpasswd',
      '/api/media/acme/..%2F..%2Fetc/passwd',
      '/api/media/acme/..%2F..%2F/0-passwd',
      '/api/media//etc/passwd',
      '/api/media/%2Fetc%2Fpasswd',
      '/api/media/acme/media-log-1/0-..%2F..%2Freport.pdf',
      '/api/media/acme/media-log-1/0-%5C..%5Creport.pdf',
      '/api/media/acme/media-log-1\\..\\0-report.pdf',
      `/api/media/acme/media-log-1/0-${sha256(PDF)}`,
      '/api/media/acme/media-log-1/0-report.pdf%00.txt',
    ];
    for (const attempt of attempts) {
      const res = await rawGet(port, attempt, ADMIN_KEY);
      expect({ attempt, status: res.status, location: res.location }).toEqual({ attempt, status: expect.any(Number), location: undefined });
      expect([400, 404]).toContain(res.status);
    }
  });

  it('removes a file with the last log that references it', async () => {
    await d.log(ADMIN_KEY, { id: 'shared-a', project: 'shared-a', attachments: [{ upload: SHARED.toString('base64'), name: 'a.txt', content_type: 'text/plain' }] });
    await d.log(ADMIN_KEY, { id: 'shared-b', project: 'shared-b', attachments: [{ upload: SHARED.toString('base64'), name: 'b.txt', content_type: 'text/plain' }] });
    const file = path.join(d.attachmentsDir, sha256(SHARED));
    expect(existsSync(file)).toBe(true);
    const projects = (await d.call('GET', '/api/projects', ADMIN_KEY)).body;
    const idOf = (name: string) => projects.find((p: any) => p.name === name).id;
    const staleA = (await get(`${base}/api/media/acme/shared-a/0-a.txt`, ADMIN_KEY)).headers.get('location');
    expect((await d.call('DELETE', `/api/projects/${idOf('shared-a')}`, ADMIN_KEY)).body).toEqual({ success: true });
    expect(existsSync(file)).toBe(true);
    expect((await get(`${base}/api/media/acme/shared-a/0-a.txt`, ADMIN_KEY)).status).toBe(404);
    // A URL signed before the delete no longer serves the deleted log's file.
    expect((await get(`${base}${staleA}`)).status).toBe(404);
    const b = await get(`${base}${(await get(`${base}/api/media/acme/shared-b/0-b.txt`, ADMIN_KEY)).headers.get('location')}`);
    expect(await b.text()).toBe(SHARED.toString());
    expect((await d.call('DELETE', `/api/projects/${idOf('shared-b')}`, ADMIN_KEY)).body).toEqual({ success: true });
    expect(existsSync(file)).toBe(false);
    // Files of logs that stay are kept.
    expect(existsSync(path.join(d.attachmentsDir, sha256(PDF)))).toBe(true);
  });
});

describe('read_api: signed media URLs with a secrets key and a lifetime of 0', () => {
  let d: ProjectsDaemon;
  let base: string;
  // What the daemon derives from service.control_plane.secrets_key: a test holding the key can sign.
  const signingKey = Buffer.from(hkdfSync('sha256', SECRETS_KEY, 'tracehouse-signing-key', 'tracehouse:read_api/media-url', 32));
  const signed = (key: string, expires: number, disposition = 'inline') => {
    const signature = createHmac('sha256', signingKey).update(`tracehouse-media-v1\n${key}\n${expires}\n${disposition}`).digest('base64url');
    return `${base}/media/signed?${new URLSearchParams({ key, expires: String(expires), disposition, signature })}`;
  };
  beforeAll(async () => {
    d = await startProjectsDaemon('ra_media_ttl0', ['media_url_ttl_seconds: 0'], SECRETS_KEY);
    base = d.daemon.receiverUrl('read_api');
    await d.log(ADMIN_KEY, { id: 'ttl-log', project: 'docs', attachments: [{ upload: PDF.toString('base64'), name: 'report.pdf', content_type: 'application/pdf' }] });
  });
  afterAll(() => d.daemon.stop());

  it('a URL signed with a lifetime of 0 has expired when used (403)', async () => {
    const redirect = await get(`${base}/api/media/acme/ttl-log/0-report.pdf`, ADMIN_KEY);
    expect(redirect.status).toBe(302);
    const res = await get(`${base}${redirect.headers.get('location')}`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'this media URL has expired' });
  });

  it('accepts a URL signed with the key derived from secrets_key, and resolves even signed keys only through stored metadata', async () => {
    const later = Math.floor(Date.now() / 1000) + 600;
    const ok = await get(signed('acme/ttl-log/0-report.pdf', later));
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(PDF)).toBe(true);
    expect((await get(signed('acme/ttl-log/0-report.pdf', Math.floor(Date.now() / 1000) - 10))).status).toBe(403);
    // Validly signed keys that try to reach outside attachments_dir find nothing.
    for (const key of ['acme/../../etc/passwd', '../../../etc/passwd', '/etc/passwd', `acme/ttl-log/0-${sha256(PDF)}`, 'acme/..%2F..%2Fetc/0-passwd', 'acme/ttl-log/0-..%2Freport.pdf']) {
      expect({ key, status: (await get(signed(key, later))).status }).toEqual({ key, status: 404 });
    }
  });
});
