#!/usr/bin/env node
// First: environment the engine and the thread pool read when they start.
import './process-defaults';
import { registry } from '../components';
import { runCli } from '../core/cli';

runCli(process.argv.slice(2), registry).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tracehouse: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
