import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { hangUpSignal } from '../../core/hang-up';

/** A loopback server whose handler hands its signal to the test and answers when told. */
async function serverWithSignals() {
  const signals: AbortSignal[] = [];
  const answers: Array<() => void> = [];
  const closed: Array<Promise<unknown>> = [];
  const server = http.createServer((req, res) => {
    signals.push(hangUpSignal(res));
    closed.push(once(res, 'close'));
    answers.push(() => res.end('ok'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return { server, port, signals, answers, closed };
}

async function waitFor(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}

test('a client that hangs up before its answer aborts the signal', async () => {
  const { server, port, signals, closed } = await serverWithSignals();
  try {
    const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/' });
    request.on('error', () => undefined);
    request.write('x');
    await waitFor(() => signals.length === 1);
    expect(signals[0].aborted).toBe(false);
    request.destroy();
    await closed[0];
    expect(signals[0].aborted).toBe(true);
  } finally {
    server.close();
  }
});

test('an answered request does not abort its signal when the response closes', async () => {
  const { server, port, signals, answers, closed } = await serverWithSignals();
  try {
    const response = new Promise<string>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(body));
      });
      request.on('error', reject);
      request.end('x');
    });
    await waitFor(() => answers.length === 1);
    answers[0]();
    expect(await response).toBe('ok');
    await closed[0];
    expect(signals[0].aborted).toBe(false);
  } finally {
    server.close();
  }
});
