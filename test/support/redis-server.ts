/**
 * A real Redis for tests: Debian's redis-server (installed by .ci/run), started on a free loopback
 * port with no persistence, in its own working directory, and stopped after. It can be stopped and
 * started again on the same port (tests of Redis outages), or frozen (a Redis that hangs).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** PEM files of a TLS server: its certificate and key, and the CA that signed it. */
export interface RedisServerTls {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly tls: RedisServerTls | undefined,
  ) {}

  /** A server on a free port; with `tls`, it speaks TLS only (on that port). */
  static async start(options: { tls?: RedisServerTls } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), mkdtempSync(path.join(os.tmpdir(), 'tracehouse-redis-')), options.tls);
    await server.resume();
    return server;
  }

  get url(): string {
    return `${this.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  private get portArgs(): string[] {
    if (!this.tls) return ['--port', String(this.port)];
    const { certFile, keyFile, caFile } = this.tls;
    return ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', certFile, '--tls-key-file', keyFile, '--tls-ca-cert-file', caFile, '--tls-auth-clients', 'no'];
  }

  /** Starts (again) on the same port; a server that cannot start is an error saying why. */
  async resume(): Promise<void> {
    if (this.child) return;
    const child = spawn('redis-server', [...this.portArgs, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-2_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let failure: string | undefined;
    child.once('error', (err: NodeJS.ErrnoException) => {
      failure = err.code === 'ENOENT' ? 'redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)' : `redis-server could not be started: ${err.message}`;
    });
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      failure ??= `redis-server exited (${signal ?? `code ${code}`}) before accepting connections on port ${this.port}`;
    });
    for (let i = 0; i < 200; i++) {
      if (await accepting(this.port)) {
        child.stdout.removeListener('data', keep).resume();
        child.stderr.removeListener('data', keep).resume();
        return;
      }
      if (failure) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (!failure) {
      child.kill('SIGKILL');
      failure = `redis-server did not accept connections on port ${this.port} within 5 s`;
    }
    throw new Error(`${failure}${output.trim() ? `; its output:\n${output.trim()}` : ''}`);
  }

  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered, as a hung Redis. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops the server (its data is gone: no persistence). */
  async pause(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.pause();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
