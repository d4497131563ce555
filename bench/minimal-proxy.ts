/**
 * The floor bench:proxy compares the gateway with: a forwarding proxy with no logic at all (read
 * the request, send it upstream through an undici pool, answer with the upstream's body), in its
 * own process like the daemon. What it adds is what any Node.js hop costs on the machine.
 *
 * Usage: node dist/bench/minimal-proxy.js <upstream origin> <port>
 */
import http from 'node:http';
import { Pool } from 'undici';

const [upstream, port] = process.argv.slice(2);
const pool = new Pool(upstream, { connections: 256 });

const server = http.createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const answer = await pool.request({
    method: 'POST',
    path: req.url ?? '/',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    body: Buffer.concat(chunks),
  });
  res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? 'application/json') });
  for await (const chunk of answer.body) res.write(chunk);
  res.end();
});
server.listen(Number(port), '127.0.0.1', () => process.send?.('listening'));
