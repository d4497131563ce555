import { waitFor as waitUntil } from '../../support/wait';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The raw body text, exactly as signed. */
  body: string;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Hold the answer until this resolves (to observe in-flight work). */
  hold?: Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 with an ephemeral port, standing in for a callback or webhook
 * receiver: records every request and answers from a script (then 200).
 */
export class LocalReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly script: ScriptedAnswer[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = this.script.shift() ?? { status: 200 };
      void (answer.hold ?? Promise.resolve()).then(() => {
        res.writeHead(answer.status, answer.headers ?? {});
        res.end('{}');
      });
    });
  });

  static async start(): Promise<LocalReceiver> {
    const receiver = new LocalReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Answers the next requests with these, in order. */
  answer(...answers: ScriptedAnswer[]): void {
    this.script.push(...answers);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The shared poller (test/support/wait.ts), with this file's argument order. */
export async function waitFor(condition: () => boolean, what: string, deadlineMs = 20_000): Promise<void> {
  await waitUntil(what, condition, deadlineMs);
}
