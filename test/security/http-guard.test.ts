/**
 * The Host and Origin rules every listener applies (core/http-guard.ts), for listen addresses the
 * default config does not use: wildcard, a specific non-loopback address, IPv6 loopback, and the
 * `allowed_hosts` patterns.
 */
import os from 'node:os';
import { RequestGuard } from '../../core/http-guard';

const verdict = (guard: RequestGuard, headers: Record<string, string>) => guard.check(headers)?.code ?? 'ok';

describe('Host rules', () => {
  it('a loopback listener answers loopback names with its port only', () => {
    const guard = new RequestGuard('127.0.0.1', () => 8888);
    for (const host of ['127.0.0.1:8888', 'localhost:8888', '[::1]:8888', '127.0.0.2:8888']) expect({ host, v: verdict(guard, { host }) }).toEqual({ host, v: 'ok' });
    for (const host of ['127.0.0.1', 'localhost:8889', '10.0.0.5:8888', 'tracehouse.internal:8888', `${os.hostname()}:8888`, 'attacker.example:8888', '127.0.0.1.attacker.example:8888', 'xn--80ak6aa92e.com:8888', '[::1', '[::1]8888', '::1:8888', '127.0.0.1:99999', '127.0.0.1:88a8', 'a b:8888', '']) {
      expect({ host, v: verdict(guard, { host }) }).toEqual({ host, v: 'HTTP_HOST_NOT_ALLOWED' });
    }
    expect(verdict(guard, {})).toBe('HTTP_HOST_NOT_ALLOWED');
  });

  it('an IPv6 loopback listener answers [::1] and localhost', () => {
    const guard = new RequestGuard('::1', () => 4318);
    expect(verdict(guard, { host: '[::1]:4318' })).toBe('ok');
    expect(verdict(guard, { host: 'localhost:4318' })).toBe('ok');
    expect(verdict(guard, { host: 'rebind.example:4318' })).toBe('HTTP_HOST_NOT_ALLOWED');
  });

  it('a wildcard listener answers IP literals, localhost and the machine name on its port, never another name', () => {
    const guard = new RequestGuard('0.0.0.0', () => 4318);
    for (const host of ['10.1.2.3:4318', '[fd00::1]:4318', '127.0.0.1:4318', 'localhost:4318', `${os.hostname().toLowerCase()}:4318`]) {
      expect({ host, v: verdict(guard, { host }) }).toEqual({ host, v: 'ok' });
    }
    for (const host of ['10.1.2.3:4319', 'rebind.example:4318', 'tracehouse:4318']) expect({ host, v: verdict(guard, { host }) }).toEqual({ host, v: 'HTTP_HOST_NOT_ALLOWED' });
  });

  it('a listener on a specific address answers that address', () => {
    const guard = new RequestGuard('192.168.1.20', () => 8080);
    expect(verdict(guard, { host: '192.168.1.20:8080' })).toBe('ok');
    expect(verdict(guard, { host: 'rebind.example:8080' })).toBe('HTTP_HOST_NOT_ALLOWED');
  });

  it('allowed_hosts adds names: exact (any port or one port), subdomains, or any host', () => {
    const guard = new RequestGuard('0.0.0.0', () => 4318, ['Tracehouse.Internal', 'collector:4318', '*.corp.example']);
    for (const host of ['tracehouse.internal', 'tracehouse.internal:443', 'TRACEHOUSE.internal.:4318', 'collector:4318', 'otel.corp.example:9999', 'a.b.corp.example']) {
      expect({ host, v: verdict(guard, { host }) }).toEqual({ host, v: 'ok' });
    }
    for (const host of ['collector:4319', 'corp.example:4318', 'evilcorp.example:4318', 'tracehouse.internal.attacker.example']) {
      expect({ host, v: verdict(guard, { host }) }).toEqual({ host, v: 'HTTP_HOST_NOT_ALLOWED' });
    }
    const any = new RequestGuard('127.0.0.1', () => 8888, ['*']);
    expect(verdict(any, { host: 'whatever.example' })).toBe('ok');
    // "*" turns the Host check off, not the Origin check.
    expect(verdict(any, { host: 'whatever.example', origin: 'http://attacker.example' })).toBe('HTTP_CROSS_SITE_REQUEST');
  });
});

describe('Origin and Sec-Fetch-Site rules', () => {
  const guard = new RequestGuard('0.0.0.0', () => 8888, ['tracehouse.example.com']);

  it('accepts the origin the request was sent to, over http or https (a TLS proxy in front)', () => {
    expect(verdict(guard, { host: '127.0.0.1:8888', origin: 'http://127.0.0.1:8888' })).toBe('ok');
    expect(verdict(guard, { host: 'tracehouse.example.com', origin: 'https://tracehouse.example.com' })).toBe('ok');
    expect(verdict(guard, { host: 'tracehouse.example.com:8443', origin: 'https://tracehouse.example.com:8443', 'sec-fetch-site': 'same-origin' })).toBe('ok');
    expect(verdict(guard, { host: '127.0.0.1:8888', 'sec-fetch-site': 'none' })).toBe('ok');
  });

  it('refuses every other origin, null, malformed ones, and cross-site or same-site fetches', () => {
    const host = '127.0.0.1:8888';
    for (const origin of ['http://127.0.0.1:8889', 'http://localhost:8888', 'https://127.0.0.1:8443', 'null', 'file://', 'http://127.0.0.1:8888/path', 'http://user@127.0.0.1:8888', 'not a url', 'http://127.0.0.1:8888, http://attacker.example']) {
      expect({ origin, v: verdict(guard, { host, origin }) }).toEqual({ origin, v: 'HTTP_CROSS_SITE_REQUEST' });
    }
    expect(verdict(guard, { host, 'sec-fetch-site': 'cross-site' })).toBe('HTTP_CROSS_SITE_REQUEST');
    expect(verdict(guard, { host, 'sec-fetch-site': 'Same-Site' })).toBe('HTTP_CROSS_SITE_REQUEST');
    expect(verdict(guard, { host, origin: 'http://127.0.0.1:8888', 'sec-fetch-site': 'cross-site' })).toBe('HTTP_CROSS_SITE_REQUEST');
  });

  it('answers a foreign Host with 421 and a cross-site request with 403', () => {
    expect(guard.check({ host: 'attacker.example:8888' })).toMatchObject({ status: 421, reason: 'host_not_allowed' });
    expect(guard.check({ host: '127.0.0.1:8888', origin: 'http://attacker.example' })).toMatchObject({ status: 403, reason: 'cross_site' });
  });
});
