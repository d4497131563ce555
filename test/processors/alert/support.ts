/**
 * Local stand-ins for the alert processor's delivery targets (a node:http server for Slack and
 * webhooks, a real SMTP server for email), spans with known values sent over OTLP, and polling.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { encodeTraceRequestProto } from '../../../core/otlp/encode';
import { makeSpan, type Attributes, type Span, type StatusCode } from '../../../core/span';
import { queryRows, type TestDaemon } from '../../support/daemon';

export { waitFor } from '../../support/wait';

export interface RecordedPost {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any;
}

/** An HTTP receiver that records every POST and answers with the statuses it is told, then 200. */
export interface HttpStandIn {
  url: string;
  posts: RecordedPost[];
  /** Attempts answered so far (including failures). */
  attempts: number;
  /** Statuses for the next attempts, in order; 200 once empty (or `always` when set). */
  statuses: number[];
  always?: number;
  close(): Promise<void>;
}

export async function startHttpStandIn(): Promise<HttpStandIn> {
  const standIn: HttpStandIn = {
    url: '',
    posts: [],
    attempts: 0,
    statuses: [],
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      standIn.attempts += 1;
      const status = standIn.statuses.shift() ?? standIn.always ?? 200;
      if (status === 200) {
        const raw = Buffer.concat(chunks).toString('utf8');
        standIn.posts.push({ path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw) });
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'down');
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standIn.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return standIn;
}

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  raw: string;
}

export interface SmtpStandIn {
  port: number;
  mails: ReceivedMail[];
  close(): Promise<void>;
}

function decodeQuotedPrintable(text: string): string {
  const bytes = text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** Headers and the decoded text/plain body of a single-part message, as nodemailer writes it. */
function parseMail(raw: string): { subject: string; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(head)?.[1] ?? '';
  const encoding = header('Content-Transfer-Encoding').toLowerCase();
  const text =
    encoding === 'quoted-printable' ? decodeQuotedPrintable(body) : encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
  return { subject: header('Subject'), text: text.replace(/\r\n/g, '\n') };
}

/** A real SMTP server (the smtp-server package) on 127.0.0.1:0, without TLS or auth. */
export async function startSmtpStandIn(): Promise<SmtpStandIn> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          ...parseMail(raw),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let spanCounter = 0;

export interface SpanSpec {
  traceId?: string;
  durationMs?: number;
  status?: StatusCode;
  attributes?: Attributes;
  /** How long ago the span ended (default: just now). */
  endedMsAgo?: number;
}

/** A span that just ended, so it falls inside any window. Trace ids are unique unless given. */
export function span(spec: SpanSpec = {}): Span {
  spanCounter += 1;
  const end = BigInt(Date.now() - (spec.endedMsAgo ?? 0)) * 1_000_000n;
  const duration = BigInt(Math.round((spec.durationMs ?? 10) * 1_000_000));
  const traceId = spec.traceId ?? `a1e7${process.pid.toString(16).padStart(8, '0')}${spanCounter.toString(16).padStart(20, '0')}`;
  return makeSpan({
    traceId,
    spanId: spanCounter.toString(16).padStart(16, '0'),
    name: 'chat gpt-4o',
    kind: 'client',
    startTimeUnixNano: end - duration,
    endTimeUnixNano: end,
    status: { code: spec.status ?? 'unset', message: '' },
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'tracehouse.workspace': 'acme',
      'tracehouse.project': 'support-bot',
      ...spec.attributes,
    },
  });
}

/** Sends spans to the daemon's otlp receiver; resolves with the HTTP status (200 once stored). */
export async function sendSpans(daemon: TestDaemon, spans: Span[]): Promise<number> {
  const res = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, {
    method: 'POST',
    body: encodeTraceRequestProto(spans),
    headers: { 'content-type': 'application/x-protobuf' },
  });
  await res.arrayBuffer();
  return res.status;
}

/** Runs an admin action of the alert processor. */
export async function action(daemon: TestDaemon, name: string, body: unknown = {}, owner = 'alert'): Promise<{ status: number; body: any }> {
  // The admin listener has no auth here: actions need the token the daemon printed at start.
  const headers = { 'x-tracehouse-action-token': daemon.service.adminActionToken ?? '' };
  const res = await fetch(`${daemon.adminUrl}/actions/${owner}/${name}`, { method: 'POST', body: JSON.stringify(body), headers });
  return { status: res.status, body: await res.json() };
}

export interface IncidentRow {
  incident_id: string;
  rule_id: string;
  rule_name: string;
  severity: string;
  status: string;
  group_key: string;
  group: Record<string, string>;
  condition: string;
  value: number;
  threshold: number;
  first_seen: string;
  last_seen: string;
  resolved_at: string | null;
  example_trace_ids: string[];
}

/** The latest version of every incident, through the admin query endpoint (final = 1). */
export function incidentRows(daemon: TestDaemon, database: string, table = 'tracehouse_incidents'): Promise<IncidentRow[]> {
  return queryRows<IncidentRow>(daemon, `SELECT * FROM ${table} ORDER BY first_seen, rule_id`, database);
}

/** The alert processor's counter for an event kind, read from /metrics. */
export async function eventCount(daemon: TestDaemon, event: string, kind: string, processor = 'alert'): Promise<number> {
  const text = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('tracehouse_processor_events_total{') && l.includes(`processor="${processor}"`) && l.includes(`event="${event}"`) && l.includes(`kind="${kind}"`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/**
 * otlp -> upstream_stamps -> alert -> clickhouse (embedded), with `alert` holding the given YAML
 * lines (indented by the caller's 4 spaces). upstream_stamps (test/support/upstream-stamps.ts)
 * stands in for enrich and evaluate_rules, which set project, cost and verdict in a real pipeline.
 */
export function alertPipelineYaml(database: string, alertLines: string): string {
  return `receivers:
  otlp:
    http: { listen: 127.0.0.1:0 }
    grpc: { enabled: false }
    default_workspace: acme
processors:
  upstream_stamps:
  alert:
${alertLines.replace(/^\n/, '').replace(/^(?=.)/gm, '    ')}
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
    timeout_ms: 10
service:
  admin:
    listen: 127.0.0.1:0
  pipelines:
    traces: { receivers: [otlp], processors: [upstream_stamps, alert], exporters: [clickhouse] }
`;
}
