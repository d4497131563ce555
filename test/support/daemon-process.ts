/**
 * The daemon as a process of its own (from dist/, as `npm start` runs it), for tests of several
 * instances: it can be SIGKILLed like a crashed instance. Its ingest listener and admin listener
 * are read from its start-up log lines (ports are ephemeral).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { processDataDir } from './daemon';
import { waitFor } from './wait';

const root = path.join(__dirname, '..', '..');

export interface DaemonProcess {
  child: ChildProcess;
  /** http://host:port of the (first) ingest listener. */
  url: string;
  adminUrl: string;
  /** Waits for a log line with this message. */
  logged(msg: string): Promise<Record<string, unknown>>;
  /** The log lines with this message so far. */
  linesOf(msg: string): Record<string, unknown>[];
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
}

/** Builds dist/ when sources changed (call once, in beforeAll, with a generous timeout). */
export function buildDist(): void {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build-if-needed.js')], { cwd: root, stdio: 'inherit' });
}

export async function spawnDaemon(configText: string): Promise<DaemonProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-process-'));
  const file = path.join(dir, 'pipelines.yaml');
  writeFileSync(file, configText);
  // ${env:TEST_DATA_DIR} means what it means for daemons in the test process.
  const child = spawn(process.execPath, [path.join(root, 'dist', 'bin', 'tracehouse.js'), 'run', '-c', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TEST_DATA_DIR: processDataDir },
  });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  });
  const find = (msg: string) => lines.find((l) => l.msg === msg);
  await waitFor('the daemon process started', () => find('tracehouse started') !== undefined || child.exitCode !== null);
  if (child.exitCode !== null) throw new Error(`the daemon process exited with ${child.exitCode}`);
  // 'close': the process exited and its output was read to the end.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    child,
    url: `http://${String(find('http listener started')?.listen)}`,
    adminUrl: `http://${String(find('admin listener started')?.listen)}`,
    logged: (msg) => waitFor(`log line "${msg}"`, () => find(msg)),
    linesOf: (msg) => lines.filter((l) => l.msg === msg),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
