/**
 * Wherever the project starts the daemon, it starts it with the node options of bin/node-flags.ts
 * (V8 reads them before the daemon's code runs, so the daemon cannot set them itself).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DAEMON_NODE_FLAGS } from '../../bin/node-flags';

const root = path.join(__dirname, '..', '..');
const expected = `node ${DAEMON_NODE_FLAGS.join(' ')} dist/bin/tracehouse.js`;

/** Every `node … dist/bin/tracehouse.js` in a command line, with what stands between. */
function daemonCommands(line: string): string[] {
  return [...line.matchAll(/node(?: [^ &;|]+)*? dist\/bin\/tracehouse\.js/g)].map((m) => m[0]);
}

test('npm scripts start the daemon with the node flags', () => {
  const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const commands = Object.values(scripts).flatMap(daemonCommands);
  expect(commands.length).toBeGreaterThanOrEqual(2);
  for (const command of commands) expect(command).toBe(expected);
  expect(scripts.start).toContain(expected);
});

test('docker-compose.yml starts every Tracehouse service with the node flags', () => {
  const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { command?: string[] }> };
  const commands = Object.values(compose.services).flatMap((s) => daemonCommands((s.command ?? []).join(' ')));
  expect(commands.length).toBeGreaterThanOrEqual(3);
  for (const command of commands) expect(command).toBe(expected);
});
