#!/usr/bin/env node
// Rebuilds dist/ when any TypeScript source or .proto file is newer than the last build, so that
// `npm start` works on a fresh clone and after edits without a separate build step.
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const sourceDirs = ['core', 'receivers', 'processors', 'exporters', 'extensions', 'bin', 'bench', 'test/support/kafka-broker', 'test/support/fake-llm-provider'];
const sourceFiles = ['components.ts', 'package.json', 'test/support/redis-server.ts'];

function newestMtime(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return newest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'generated') newest = Math.max(newest, newestMtime(full));
    } else if (/\.(ts|proto)$/.test(entry.name)) {
      newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  }
  return newest;
}

const sources = Math.max(
  ...sourceFiles.map((f) => fs.statSync(path.join(root, f)).mtimeMs),
  ...sourceDirs.map((d) => newestMtime(path.join(root, d))),
);
const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
if (built < sources) {
  process.stderr.write('tracehouse: building (sources changed since the last build)...\n');
  execSync('npm run --silent build', { cwd: root, stdio: 'inherit' });
  fs.writeFileSync(stamp, new Date().toISOString() + '\n');
}
