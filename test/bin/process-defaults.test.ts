import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyEnvDefaults, PROCESS_ENV_DEFAULTS } from '../../bin/process-defaults';
import { buildDist } from '../support/daemon-process';

const root = path.join(__dirname, '..', '..');

test('the daemon fills in the thread pool and allocator settings, keeping an operator\'s own', () => {
  const env: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: '32' };
  applyEnvDefaults(env);
  expect(env.UV_THREADPOOL_SIZE).toBe('32');
  expect(env.JE_MALLOC_CONF).toBe(PROCESS_ENV_DEFAULTS.JE_MALLOC_CONF);
  expect(PROCESS_ENV_DEFAULTS.JE_MALLOC_CONF).toMatch(/\bdirty_decay_ms:500\b/);
});

test('the binary sets them before the embedded engine is loaded', () => {
  buildDist();
  // Records the environment at the moment the binary first asks for chdb.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'process-defaults-'));
  const hook = path.join(dir, 'hook.js');
  fs.writeFileSync(
    hook,
    `const Module = require('module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'chdb' && !globalThis.__seen) {
    globalThis.__seen = true;
    process.stdout.write(JSON.stringify({ je: process.env.JE_MALLOC_CONF ?? null, uv: process.env.UV_THREADPOOL_SIZE ?? null }) + '\\n');
  }
  return load.call(this, request, ...rest);
};`,
  );
  try {
    const env = { ...process.env };
    delete env.JE_MALLOC_CONF;
    delete env.UV_THREADPOOL_SIZE;
    const out = execFileSync(process.execPath, ['--require', hook, path.join(root, 'dist', 'bin', 'tracehouse.js'), '--help'], { env, encoding: 'utf8' });
    const seen = JSON.parse(out.split('\n')[0]) as { je: string | null; uv: string | null };
    expect(seen).toEqual({ je: PROCESS_ENV_DEFAULTS.JE_MALLOC_CONF, uv: PROCESS_ENV_DEFAULTS.UV_THREADPOOL_SIZE });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
