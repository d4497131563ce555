import type { ServerResponse } from 'node:http';

/**
 * A signal that aborts when the client goes away before its answer was sent in full, so work done
 * for it (a downstream delivery) can stop. A response that finished closes too; that is not a
 * hang-up, and aborting then would only build an AbortError per request for nothing.
 */
export function hangUpSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
