import { safeErrorMessage } from '../shared/sanitise';
import { OutboundError } from '../http/guarded-client';
import type { GuardedHttpClient, OutboundRequest } from '../types';
import type { FetchHandler } from './pool';
import type { SandboxFetchRequest } from './protocol';

const METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MAX_URL_CHARS = 8192;
const MAX_HEADERS = 50;
const MAX_HEADER_VALUE_CHARS = 8192;
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A script's `fetch` on the delivering thread: the request is checked (method, URL, header names and
 * values, body size), then sent through the guarded client, so SSRF rules, timeouts and the response
 * cap apply exactly as for every other provider. Never rejects: failures become replies.
 */
export function guardedFetchHandler(http: GuardedHttpClient, secrets: string[]): FetchHandler {
  return async (request, timeoutMs) => {
    const problem = checkRequest(request);
    if (problem) return { ok: false, code: 'invalid_request', permanent: true, message: `fetch: ${problem}` };
    const outbound: OutboundRequest = {
      method: request.method as OutboundRequest['method'],
      url: request.url,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      timeoutMs: Math.max(1, timeoutMs),
    };
    try {
      const res = await http.request(outbound);
      return { ok: true, response: { status: res.status, headers: res.headers, body: res.body } };
    } catch (err) {
      if (err instanceof OutboundError) return { ok: false, code: err.code, permanent: !err.retryable, message: err.message };
      return { ok: false, code: 'network_error', permanent: false, message: safeErrorMessage(err, secrets) };
    }
  };
}

/** Why a request cannot be sent, or undefined when it can. */
function checkRequest(request: SandboxFetchRequest): string | undefined {
  if (typeof request.method !== 'string' || !METHODS.has(request.method)) {
    return `method must be one of ${[...METHODS].join(', ')}`;
  }
  if (typeof request.url !== 'string' || request.url.length > MAX_URL_CHARS) return `url must be a string of at most ${MAX_URL_CHARS} characters`;
  const headers = request.headers ?? {};
  if (typeof headers !== 'object' || Array.isArray(headers)) return 'headers must be an object';
  const names = Object.keys(headers);
  if (names.length > MAX_HEADERS) return `at most ${MAX_HEADERS} headers`;
  for (const name of names) {
    const value = headers[name];
    if (!HEADER_NAME.test(name)) return `"${name.slice(0, 60)}" is not a valid header name`;
    if (typeof value !== 'string' || /[\r\n\0]/.test(value) || value.length > MAX_HEADER_VALUE_CHARS) {
      return `the value of header "${name}" must be one line of at most ${MAX_HEADER_VALUE_CHARS} characters`;
    }
  }
  if (request.body !== undefined && (typeof request.body !== 'string' || Buffer.byteLength(request.body) > MAX_BODY_BYTES)) {
    return `body must be a string of at most ${MAX_BODY_BYTES} bytes`;
  }
  return undefined;
}
