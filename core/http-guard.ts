import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import os from 'node:os';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { isLoopbackHost, isWildcardHost } from './listen';

/**
 * The Host and Origin rules every HTTP listener applies before any route runs, so that a web page
 * the operator happens to open can neither drive a listener (`<img src="http://127.0.0.1:8888/...">`,
 * a cross-site form) nor read its answers through DNS rebinding (a name the attacker controls,
 * re-pointed at 127.0.0.1, sends its own name as Host).
 *
 * Host: the listener's own address with its bound port; `localhost` and loopback IP literals on a
 * loopback or wildcard listener; any IP literal (with the bound port) and this machine's hostname on
 * a non-loopback listener (a rebinding page always sends a name, never an IP literal); and the
 * configured `allowed_hosts`.
 * Origin: absent, or exactly the origin the request was sent to (scheme http or https, the same
 * host and port). `Sec-Fetch-Site: cross-site` is refused, and `same-site` unless the Origin is
 * this listener's own.
 */

export type GuardReason = 'host_not_allowed' | 'cross_site';

export interface GuardRefusal {
  /** 421 Misdirected Request for a foreign Host, 403 for a cross-site request. */
  status: 421 | 403;
  code: 'HTTP_HOST_NOT_ALLOWED' | 'HTTP_CROSS_SITE_REQUEST';
  reason: GuardReason;
  message: string;
}

interface HostName {
  /** Lowercase name without a trailing dot, an IPv4 literal, or a bracketed canonical IPv6 literal. */
  name: string;
  port: number | undefined;
}

interface AllowedHost {
  any: boolean;
  /** Exact name, or a suffix (".example.com") when `suffix` is set. */
  name: string;
  suffix: boolean;
  port: number | undefined;
}

/**
 * An `allowed_hosts` entry: `name`, `name:port`, `*.example.com[:port]` (any subdomain), an IP
 * literal (`10.0.0.5`, `[fd00::1]`, with or without port), or `*` (any Host: turns the Host check
 * off for this listener; the Origin check stays).
 */
export const allowedHostsSchema = z.array(
  z.string().refine((v) => parseAllowedHost(v) !== undefined, {
    message: 'must be a host name or IP literal, optionally with :port, "*.example.com", or "*"',
  }),
);

export class RequestGuard {
  private readonly allowed: AllowedHost[] = [];
  private readonly bindHost: string;
  private readonly loopback: boolean;
  private readonly wildcard: boolean;
  private readonly machineName = normalizeName(os.hostname());

  /**
   * @param bindHost the host part of the listen address
   * @param port the bound port (read per request: a listener on port 0 learns it once listening)
   */
  constructor(
    bindHost: string,
    private readonly port: () => number,
    allowedHosts: readonly string[] = [],
  ) {
    this.bindHost = normalizeName(bindHost.includes(':') ? `[${bindHost}]` : bindHost) ?? bindHost;
    this.loopback = isLoopbackHost(bindHost);
    this.wildcard = isWildcardHost(bindHost);
    this.allow(allowedHosts);
  }

  /** Adds configured names (a listener shared by several receivers serves the union of theirs). */
  allow(hosts: readonly string[]): void {
    for (const entry of hosts) {
      const parsed = parseAllowedHost(entry);
      if (parsed) this.allowed.push(parsed);
    }
  }

  /** Undefined when the request may proceed; otherwise why it must be refused. */
  check(headers: IncomingHttpHeaders): GuardRefusal | undefined {
    const rawHost = headers.host;
    const host = rawHost === undefined ? undefined : parseHostHeader(rawHost);
    if (!host || !this.hostAllowed(host)) {
      return {
        status: 421,
        code: 'HTTP_HOST_NOT_ALLOWED',
        reason: 'host_not_allowed',
        message:
          rawHost === undefined
            ? 'the request has no Host header'
            : `Host "${printable(rawHost)}" is not served by this listener; add it to the listener's allowed_hosts if it is a name of this server`,
      };
    }
    const origin = firstValue(headers.origin);
    const site = firstValue(headers['sec-fetch-site'])?.trim().toLowerCase();
    if (origin !== undefined) {
      if (!sameOrigin(origin, host) || site === 'cross-site') {
        return crossSite(`cross-origin request from Origin "${printable(origin)}" refused`);
      }
      return undefined;
    }
    if (site === 'cross-site' || site === 'same-site') {
      return crossSite(`${site} request refused (Sec-Fetch-Site: ${site})`);
    }
    return undefined;
  }

  private hostAllowed(host: HostName): boolean {
    const port = host.port ?? 80;
    for (const entry of this.allowed) {
      if (entry.any) return true;
      const nameMatches = entry.suffix ? host.name.endsWith(entry.name) && host.name.length > entry.name.length : host.name === entry.name;
      if (nameMatches && (entry.port === undefined || entry.port === port)) return true;
    }
    if (port !== this.port()) return false;
    if (!this.wildcard && host.name === this.bindHost) return true;
    const loopbackName = host.name === 'localhost' || isLoopbackLiteral(host.name);
    if ((this.loopback || this.wildcard) && loopbackName) return true;
    if (!this.loopback && (isIpLiteral(host.name) || host.name === this.machineName)) return true;
    return false;
  }
}

/**
 * Express middleware applying `guard` before any route; `refuse` answers in the listener's own
 * error format. The refused request's body is not read and the connection is closed afterwards.
 */
export function guardMiddleware(guard: RequestGuard, refuse: (req: Request, res: Response, refusal: GuardRefusal) => void): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const refusal = guard.check(req.headers);
    if (!refusal) return next();
    res.set('Connection', 'close');
    req.resume();
    refuse(req, res, refusal);
  };
}

/** Parses a Host header value: `name`, `name:port`, `1.2.3.4:port`, `[v6]:port`. */
export function parseHostHeader(value: string): HostName | undefined {
  const v = value.trim();
  let hostPart: string;
  let portPart: string | undefined;
  if (v.startsWith('[')) {
    const close = v.indexOf(']');
    if (close === -1) return undefined;
    hostPart = v.slice(0, close + 1);
    const rest = v.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
    portPart = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = v.indexOf(':');
    if (colon !== v.lastIndexOf(':')) return undefined;
    hostPart = colon === -1 ? v : v.slice(0, colon);
    portPart = colon === -1 ? undefined : v.slice(colon + 1);
  }
  let port: number | undefined;
  if (portPart !== undefined) {
    if (!/^\d{1,5}$/.test(portPart)) return undefined;
    port = Number(portPart);
    if (port > 65535) return undefined;
  }
  const name = normalizeName(hostPart);
  return name === undefined ? undefined : { name, port };
}

function parseAllowedHost(entry: string): AllowedHost | undefined {
  const v = entry.trim();
  if (v === '*') return { any: true, name: '', suffix: false, port: undefined };
  const wildcard = v.startsWith('*.');
  const parsed = parseHostHeader(wildcard ? v.slice(2) : v);
  if (!parsed || (wildcard && parsed.name.startsWith('['))) return undefined;
  return { any: false, name: wildcard ? `.${parsed.name}` : parsed.name, suffix: wildcard, port: parsed.port };
}

/**
 * Lowercase host name without one trailing dot, or an IP literal in canonical form (IPv6 bracketed
 * and compressed, as browsers send it). Undefined for anything that is neither.
 */
function normalizeName(host: string): string | undefined {
  if (host.startsWith('[')) {
    if (!host.endsWith(']') || isIP(host.slice(1, -1)) !== 6) return undefined;
    try {
      return new URL(`http://${host}/`).hostname;
    } catch {
      return undefined;
    }
  }
  const name = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase();
  // A DNS name (letters, digits, hyphens, underscores, dots) or an IPv4 literal.
  if (name === '' || name.length > 253 || !/^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/.test(name)) return undefined;
  return name;
}

function isIpLiteral(name: string): boolean {
  return name.startsWith('[') || isIP(name) === 4;
}

function isLoopbackLiteral(name: string): boolean {
  if (name === '[::1]') return true;
  return isIP(name) === 4 && name.startsWith('127.');
}

/** Whether `origin` (an Origin header) is the origin of a request sent to `host`. */
function sameOrigin(origin: string, host: HostName): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file:, cross-site redirects) and garbage
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') return false;
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  const originPort = url.port === '' ? defaultPort : Number(url.port);
  // A Host without a port was sent to the scheme's default port (e.g. through a TLS proxy).
  return normalizeName(url.hostname) === host.name && originPort === (host.port ?? defaultPort);
}

function crossSite(message: string): GuardRefusal {
  return { status: 403, code: 'HTTP_CROSS_SITE_REQUEST', reason: 'cross_site', message: `${message}: this listener only answers same-origin requests and non-browser clients` };
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A header value safe to echo in an error message. */
function printable(value: string): string {
  return value.slice(0, 100).replace(/[^\x20-\x7e]/g, '?');
}
