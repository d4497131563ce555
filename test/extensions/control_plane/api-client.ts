/** One HTTP call to a control-plane route, as every control-plane test makes it. */
export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

/**
 * `body` goes as JSON (a string is sent as it is, to test broken JSON); every answer's text and
 * headers are kept in `seen` when given (tests look there for leaked secrets).
 */
export async function apiCall(base: string, method: string, route: string, key: string, body?: unknown, headers: Record<string, string> = {}, seen?: string[]): Promise<ApiAnswer> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  seen?.push(text, JSON.stringify([...res.headers]));
  return { status: res.status, headers: res.headers, text, body: text === '' ? undefined : JSON.parse(text) };
}
