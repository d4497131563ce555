import type { Socket } from 'node:net';

/** HTTP/2's client connection preface. */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Hands a new connection to grpc-js only once it has sent the HTTP/2 client preface, and closes it
 * if the preface does not arrive within `timeoutMs` or is something else (an HTTP/1 request, noise).
 *
 * grpc-js closes an idle connection with GOAWAY, but a socket that never spoke HTTP/2 stays open
 * until its peer closes it, and once grpc-js owns a socket, destroying it from outside does not
 * release the descriptor: sockets that connect and say nothing would pile up. Real clients send the
 * preface at once. The bytes read here are put back for the HTTP/2 session to read.
 */
export function gateOnPreface(socket: Socket, timeoutMs: number, ready: (socket: Socket) => void): void {
  const chunks: Buffer[] = [];
  let received = 0;
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
    const head = Buffer.concat(chunks, received);
    const compared = Math.min(received, PREFACE.length);
    if (!head.subarray(0, compared).equals(PREFACE.subarray(0, compared))) {
      cleanup();
      socket.destroy();
      return;
    }
    if (received < PREFACE.length) return;
    cleanup();
    socket.pause();
    socket.unshift(head);
    ready(socket);
  };
  const cleanup = () => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', cleanup);
  };
  socket.on('data', onData);
  socket.on('close', cleanup);
  // Until grpc-js takes the socket, its errors (a reset) are ours to swallow.
  socket.on('error', () => undefined);
}
