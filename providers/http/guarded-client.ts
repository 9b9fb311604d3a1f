import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { context, propagation } from '@opentelemetry/api';
import axios from 'axios';
import type { GuardedHttpClient, OutboundRequest, OutboundResponse, ResolvedHost } from '../types';
import { createAddressPolicy, type AddressPolicy } from './address-policy';

/** Transport failure kinds. `response_too_large` is reserved: oversize bodies are truncated instead. */
export type OutboundErrorCode =
  | 'ssrf_blocked'
  | 'timeout'
  | 'dns_failure'
  | 'connection_refused'
  | 'connection_reset'
  | 'tls_error'
  | 'response_too_large'
  | 'invalid_url'
  | 'invalid_request'
  | 'network_error';

// Retrying cannot change a refused address, a malformed URL or header, or an oversize answer.
const PERMANENT: ReadonlySet<OutboundErrorCode> = new Set(['ssrf_blocked', 'invalid_url', 'invalid_request', 'response_too_large']);

/**
 * A request that got no HTTP response. The message names at most the host: never headers, bodies,
 * paths, query strings or credentials. It holds no reference to the underlying (axios) error.
 */
export class OutboundError extends Error {
  override readonly name = 'OutboundError';
  readonly retryable: boolean;

  constructor(
    readonly code: OutboundErrorCode,
    message: string,
  ) {
    super(message);
    this.retryable = !PERMANENT.has(code);
  }
}

/** Options of the guarded client. Sizes in bytes, times in milliseconds. */
export interface GuardedHttpClientOptions {
  /** Default overall timeout per request (connect, send, headers and body). */
  timeoutMs: number;
  /** Response bodies longer than this (after decompression) are truncated to it. */
  maxResponseBytes: number;
  /** CIDRs, single addresses or exact hostnames that may be reached although not public. */
  allowedNetworks: string[];
  userAgent?: string;
}

const DEFAULT_USER_AGENT = 'integrations-hub';

/**
 * Builds the one outbound HTTP client (docs/DESIGN.md decision 8). Resolves with any HTTP status, body
 * truncated at `maxResponseBytes`; rejects with an OutboundError. Throws on a malformed allow-list.
 */
export function createGuardedHttpClient(options: GuardedHttpClientOptions): GuardedHttpClient {
  if (!(options.timeoutMs > 0) || !(options.maxResponseBytes > 0)) {
    throw new Error('createGuardedHttpClient: timeoutMs and maxResponseBytes must be positive');
  }
  const policy = createAddressPolicy(options.allowedNetworks);
  // The check runs inside the socket's own DNS lookup, so the address checked is the one connected to.
  const lookup = guardedLookup(policy);
  const instance = axios.create({
    adapter: 'http', // the fetch adapter would bypass our agents
    httpAgent: new http.Agent({ keepAlive: true, lookup }),
    httpsAgent: new https.Agent({ keepAlive: true, lookup }),
    proxy: false, // an env proxy would connect to an address we never checked
    maxRedirects: 0,
    validateStatus: () => true,
    transformRequest: [(d: unknown) => d],
    transformResponse: [(d: unknown) => d],
    // A stream, so the body can be truncated at the cap; axios' maxContentLength can only reject.
    responseType: 'stream',
  });

  return {
    async request(req: OutboundRequest): Promise<OutboundResponse> {
      const host = checkUrl(req.url, policy);
      const timeoutMs = Math.max(1, Math.round(req.timeoutMs ?? options.timeoutMs));
      const signal = AbortSignal.timeout(timeoutMs); // the whole exchange, body included
      const started = performance.now();
      try {
        const res = await instance.request<Readable>({
          url: req.url,
          method: req.method,
          headers: requestHeaders(req.headers, options.userAgent ?? DEFAULT_USER_AGENT),
          data: req.body,
          timeout: timeoutMs, // axios' own timer covers connect and waiting for headers
          signal,
        });
        const body = await readCapped(res.data, options.maxResponseBytes, signal);
        return {
          status: res.status,
          headers: plainHeaders(res.headers),
          body,
          durationMs: Math.round(performance.now() - started),
        };
      } catch (err) {
        throw toOutboundError(err, host, signal.aborted, timeoutMs);
      }
    },
    resolveHost: (hostname) => resolveAllowed(hostname, policy),
  };
}

/** The first address of `hostname` the policy allows (an IP literal is checked as is); rejects with an OutboundError. */
function resolveAllowed(hostname: string, policy: AddressPolicy): Promise<ResolvedHost> {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  const version = isIP(host);
  if (version) {
    const reason = policy.blockedReason(host, host);
    return reason ? Promise.reject(blocked(host, host, reason)) : Promise.resolve({ address: host, family: version === 4 ? 4 : 6 });
  }
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return reject(toOutboundError(err, host, false, 0));
      const usable = addresses.find((a) => !policy.blockedReason(a.address, host));
      if (usable) return resolve({ address: usable.address, family: usable.family === 6 ? 6 : 4 });
      const first = addresses[0];
      reject(first ? blocked(host, first.address, policy.blockedReason(first.address, host) ?? '') : new OutboundError('dns_failure', `${host} has no addresses`));
    });
  });
}

/** The caller's headers, plus a User-Agent and the active trace context (`traceparent`) unless given. */
function requestHeaders(given: Record<string, string> = {}, userAgent: string): Record<string, string | false> {
  const names = new Set(Object.keys(given).map((n) => n.toLowerCase()));
  const trace: Record<string, string> = {};
  if (!names.has('traceparent')) propagation.inject(context.active(), trace);
  return {
    ...(names.has('user-agent') ? {} : { 'User-Agent': userAgent }),
    ...trace,
    // false keeps axios from inventing one (x-www-form-urlencoded for string bodies)
    ...(names.has('content-type') ? {} : { 'Content-Type': false }),
    ...given,
  };
}

/** Checks scheme and IP-literal hosts before any I/O (sockets skip the lookup for IP literals). */
function checkUrl(url: string, policy: AddressPolicy): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OutboundError('invalid_url', 'The URL could not be parsed');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new OutboundError('invalid_url', `The URL scheme "${parsed.protocol}" is not allowed; use http: or https:`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host)) {
    const reason = policy.blockedReason(host, host);
    if (reason) throw blocked(host, host, reason);
  }
  return host;
}

function blocked(host: string, address: string, reason: string): OutboundError {
  const target = host === address ? address : `${host} resolves to ${address}, which`;
  return new OutboundError('ssrf_blocked', `${target} is a ${reason} address and not allow-listed`);
}

/** A dns.lookup that drops refused addresses and fails with ssrf_blocked when none are left. */
/** A socket `lookup` that connects only to addresses the policy allows (also for the hub's own fetches: plugin registries). */
export function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, opts, callback) => {
    dnsLookup(hostname, { all: true, family: opts.family, hints: opts.hints }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '');
      const usable = addresses.filter((a) => !policy.blockedReason(a.address, hostname));
      if (usable.length === 0) {
        const first = addresses[0];
        const reason = first ? policy.blockedReason(first.address, hostname) ?? '' : '';
        const error = first
          ? blocked(hostname, first.address, reason)
          : new OutboundError('dns_failure', `${hostname} has no addresses`);
        return callback(error as NodeJS.ErrnoException, '');
      }
      if (opts.all) return callback(null, usable);
      callback(null, usable[0].address, usable[0].family);
    });
  };
}

/** Reads at most `cap` bytes as UTF-8, then drops the connection instead of reading the rest. */
function readCapped(stream: Readable, cap: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error) return reject(error);
      resolve(Buffer.concat(chunks, size).toString('utf8').replace(/^\uFEFF/, ''));
    };
    const onAbort = () => {
      settle(signal.reason);
      stream.destroy();
    };
    signal.addEventListener('abort', onAbort);
    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (size + chunk.length > cap) {
        chunks.push(chunk.subarray(0, cap - size));
        size = cap;
        settle();
        stream.destroy();
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    stream.on('end', () => settle());
    stream.on('error', (e) => settle(e));
    // A socket closed mid-body emits close without end (or an 'aborted' error, depending on Node).
    stream.on('close', () => settle(Object.assign(new Error('response closed early'), { code: 'ECONNRESET' })));
  });
}

function plainHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries((headers ?? {}) as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_BAD_RESPONSE']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ECONNABORTED', 'ESOCKETTIMEDOUT', 'ERR_CANCELED']);
const REQUEST_CODES = new Set(['ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN', 'ERR_HTTP_INVALID_HEADER_VALUE', 'ERR_UNESCAPED_CHARACTERS', 'ERR_INVALID_ARG_TYPE']);

/** Maps whatever the transport threw to an OutboundError, copying only the host and a code. */
function toOutboundError(err: unknown, host: string, timedOut: boolean, timeoutMs: number): OutboundError {
  if (err instanceof OutboundError) return err;
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause instanceof OutboundError) return cause; // thrown by guardedLookup, wrapped by net/axios
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  if (timedOut || TIMEOUT_CODES.has(code)) {
    return new OutboundError('timeout', `${host}: no complete response within ${timeoutMs} ms`);
  }
  if (DNS_CODES.has(code)) return new OutboundError('dns_failure', `${host}: the name could not be resolved (${code})`);
  if (code === 'ECONNREFUSED') return new OutboundError('connection_refused', `${host}: connection refused`);
  if (RESET_CODES.has(code)) return new OutboundError('connection_reset', `${host}: the connection was closed early`);
  if (/CERT|SSL|TLS|EPROTO/.test(code)) return new OutboundError('tls_error', `${host}: TLS failed (${code})`);
  if (REQUEST_CODES.has(code)) {
    return new OutboundError('invalid_request', `${host}: the request could not be sent (${code}: invalid header or body)`);
  }
  const safeCode = /^[A-Z0-9_]{1,40}$/.test(code) ? ` (${code})` : '';
  return new OutboundError('network_error', `${host}: network error${safeCode}`);
}
