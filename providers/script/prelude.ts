/**
 * JavaScript evaluated in each fresh sandbox before the admin's script. It evaluates to a factory that
 * receives the three host functions (never put on globalThis), installs the globals a script may use
 * (`console`, `fetch`, `RetryableError`, `PermanentError`, `FetchError`) and returns `start`, which
 * calls `deliver(event, ctx)` and reports how it ended through `settle` as one JSON string.
 * Everything it relies on is captured before the script runs, so a script that replaces JSON or
 * String only confuses itself.
 */
export const PRELUDE = String.raw`
(function (hostLog, hostFetch, settle) {
  'use strict';
  const stringify = JSON.stringify, parse = JSON.parse, toStr = String, isArray = Array.isArray;
  const keys = Object.keys, entries = Object.entries, freeze = Object.freeze, ErrorClass = Error;
  const MAX_ID = 200;

  function text(v) {
    try {
      if (typeof v === 'string') return v;
      if (v instanceof ErrorClass) return v.name + ': ' + v.message;
      if (typeof v === 'object' && v !== null) { const s = stringify(v); if (s !== undefined) return s; }
      return toStr(v);
    } catch (e) { return '[unprintable value]'; }
  }
  // no prototype methods at call time: a script that breaks Array.prototype still gets its console
  function logger(level) {
    return function () {
      let line = '';
      for (let i = 0; i < arguments.length; i++) line += (i > 0 ? ' ' : '') + text(arguments[i]);
      hostLog(level, line);
    };
  }
  const console = freeze({ log: logger('log'), info: logger('info'), warn: logger('warn'), error: logger('error'), debug: logger('debug') });

  class RetryableError extends Error {
    constructor(message, options) {
      super(message);
      this.name = 'RetryableError';
      if (options && options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    }
  }
  class PermanentError extends Error {
    constructor(message, options) {
      super(message);
      this.name = 'PermanentError';
      this.permanent = true;
      if (options && options.pauseSubscription === true) this.pauseSubscription = true;
    }
  }
  class FetchError extends Error {
    constructor(message, code, permanent) {
      super(message);
      this.name = 'FetchError';
      this.code = code;
      if (permanent) this.permanent = true;
    }
  }

  function headersOf(map) {
    const lower = (name) => toStr(name).toLowerCase();
    return freeze({
      get: (name) => (Object.prototype.hasOwnProperty.call(map, lower(name)) ? map[lower(name)] : null),
      has: (name) => Object.prototype.hasOwnProperty.call(map, lower(name)),
      entries: () => entries(map)[Symbol.iterator](),
      toJSON: () => map,
    });
  }

  async function fetch(url, init) {
    init = init || {};
    const request = { url: toStr(url), method: init.method === undefined ? 'GET' : toStr(init.method).toUpperCase(), headers: {} };
    const given = init.headers || {};
    const pairs = typeof given.entries === 'function' && !isArray(given) ? [...given.entries()] : isArray(given) ? given : entries(given);
    for (const [name, value] of pairs) request.headers[toStr(name)] = toStr(value);
    if (init.body !== undefined && init.body !== null) {
      if (typeof init.body !== 'string') throw new TypeError('fetch: body must be a string (use JSON.stringify)');
      request.body = init.body;
    }
    const reply = parse(await hostFetch(stringify(request)));
    if (!reply.ok) throw new FetchError(reply.message, reply.code, reply.permanent);
    const r = reply.response;
    return freeze({
      status: r.status,
      ok: r.status >= 200 && r.status < 300,
      url: request.url,
      headers: headersOf(r.headers),
      text: async () => r.body,
      json: async () => parse(r.body),
    });
  }

  const globals = { console, fetch, RetryableError, PermanentError, FetchError };
  for (const name of keys(globals)) {
    Object.defineProperty(globalThis, name, { value: globals[name], writable: true, configurable: true, enumerable: false });
  }

  function field(obj, name) {
    try { return obj[name]; } catch (e) { return undefined; }
  }
  function describeError(e) {
    const isObject = typeof e === 'object' && e !== null;
    const out = {
      kind: 'threw',
      name: isObject ? text(field(e, 'name') || 'Error') : 'Thrown value',
      message: isObject ? text(field(e, 'message') === undefined ? '' : field(e, 'message')) : text(e),
      permanent: isObject && field(e, 'permanent') === true,
    };
    const code = isObject ? field(e, 'code') : undefined;
    if (typeof code === 'string') out.code = code;
    const retryAfterMs = isObject ? field(e, 'retryAfterMs') : undefined;
    if (typeof retryAfterMs === 'number' && retryAfterMs === retryAfterMs) out.retryAfterMs = retryAfterMs;
    if (isObject && field(e, 'pauseSubscription') === true) out.pauseSubscription = true;
    const stack = isObject ? field(e, 'stack') : undefined;
    const at = typeof stack === 'string' ? /:(\d+)\)?\s*$/m.exec(stack.split('\n').find((l) => l.indexOf('script.') >= 0) || '') : null;
    if (at) out.line = Number(at[1]);
    return stringify(out);
  }
  function describeReturn(v) {
    let id = v;
    if (typeof v === 'object' && v !== null) id = field(v, 'externalId');
    if (typeof id === 'number' && id === id) id = toStr(id);
    if (typeof id !== 'string' || id.length === 0) return stringify({ kind: 'returned' });
    return stringify({ kind: 'returned', externalId: id.slice(0, MAX_ID), externalIdTruncated: id.length > MAX_ID });
  }

  return function start(deliver, inputJson) {
    const input = parse(inputJson);
    const ctx = freeze({ secrets: freeze(input.secrets), log: console.log });
    Promise.resolve()
      .then(() => deliver(input.event, ctx))
      .then((v) => settle(describeReturn(v)), (e) => settle(describeError(e)));
  };
})
`;
