import assert from 'node:assert/strict';
import { SandboxPool, type FetchHandler } from '../../providers/script/pool';
import type { SandboxFetchRequest, SandboxJob, SandboxResult } from '../../providers/script/protocol';

const TIMEOUT_MS = 1000;
/** What a run may take beyond its limit on a busy test machine (the kill backstop fires at limit + 1 s). */
const MARGIN_MS = 3000;

function job(code: string, over: Partial<SandboxJob> = {}): Omit<SandboxJob, 'jobId'> {
  return {
    code,
    filename: 'script.js',
    input: JSON.stringify({ event: { id: 'evt-1', type: 'incident.created', payload: { incidentId: 'inc-1', title: 'Down' } }, secrets: { TOKEN: 'tok-secret-123' } }),
    timeoutMs: TIMEOUT_MS,
    memoryLimitBytes: 16 * 1024 * 1024,
    maxStackBytes: 256 * 1024,
    maxFetchCalls: 2,
    maxLogChars: 8000,
    ...over,
  };
}

describe('script sandbox (QuickJS in a worker thread)', function () {
  this.timeout(60_000);
  let pool: SandboxPool;
  const fetched: SandboxFetchRequest[] = [];
  const fetcher: FetchHandler = async (request) => {
    fetched.push(request);
    if (request.url.includes('10.0.0.1')) return { ok: false, code: 'ssrf_blocked', permanent: true, message: '10.0.0.1 is a private address and not allow-listed' };
    return { ok: true, response: { status: 201, headers: { 'x-request-id': 'r-1' }, body: JSON.stringify({ id: 'remote-7' }) } };
  };
  const run = (code: string, over: Partial<SandboxJob> = {}): Promise<SandboxResult> => pool.run(job(code, over), fetcher);

  before(() => {
    pool = new SandboxPool({ maxThreads: 2, queueTimeoutMs: 30_000, killGraceMs: 1000 });
  });
  after(() => pool.close());
  beforeEach(() => {
    fetched.length = 0;
  });

  describe('what a script can reach', () => {
    it('sees no process, require, module loading, timers or host functions; Function only reaches the sandbox global', async () => {
      const r = await run(`async function deliver() {
        const seen = {
          process: typeof process, require: typeof require, module: typeof module, setTimeout: typeof setTimeout,
          viaConstructor: globalThis.constructor.constructor('return typeof process')(),
          viaThis: typeof this.constructor.constructor('return this')().process,
          fnGlobal: Function('return this')() === globalThis,
          std: typeof std, os: typeof os, WebAssembly: typeof WebAssembly,
        };
        try { await import('fs'); seen.import = 'loaded'; } catch (e) { seen.import = e.name; }
        console.log(JSON.stringify(seen));
      }`);
      assert.equal(r.kind, 'returned', JSON.stringify(r));
      const seen = JSON.parse(r.log.replace('[log] ', ''));
      assert.deepEqual(seen, {
        process: 'undefined', require: 'undefined', module: 'undefined', setTimeout: 'undefined',
        viaConstructor: 'undefined', viaThis: 'undefined', fnGlobal: true,
        std: 'undefined', os: 'undefined', WebAssembly: 'undefined', import: 'ReferenceError',
      });
    });

    it('lists only the language built-ins and the documented globals on globalThis', async () => {
      const r = await run(`function deliver() { return Object.getOwnPropertyNames(globalThis).filter((n) => !BUILTINS.includes(n)).join(',') }
        const BUILTINS = ${JSON.stringify(LANGUAGE_BUILTINS)};`);
      assert.equal(r.kind, 'returned');
      assert.equal(r.kind === 'returned' && r.externalId, 'console,fetch,RetryableError,PermanentError,FetchError,deliver');
    });

    it('keeps prototype pollution inside the sandbox', async () => {
      const r = await run(`function deliver() { Object.prototype.polluted = 1; ({}).__proto__.viaProto = 1; Array.prototype.push = null; console.log('still logs', [1]); }`);
      assert.equal(r.kind, 'returned', JSON.stringify(r));
      assert.equal(r.log, '[log] still logs [1]');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(({} as Record<string, unknown>).viaProto, undefined);
      assert.equal(typeof [].push, 'function');
    });

    it('starts every run from a fresh sandbox: nothing a script left behind is seen by the next', async () => {
      await run(`globalThis.leftover = 'from run 1'; Object.prototype.sticky = 1; function deliver() {}`);
      const r = await run(`function deliver() { return String(typeof leftover) + '/' + String(({}).sticky) }`);
      assert.equal(r.kind === 'returned' && r.externalId, 'undefined/undefined');
    });
  });

  describe('limits', () => {
    it('stops a busy loop within its time limit, and the thread runs the next script', async () => {
      const started = Date.now();
      const r = await run('async function deliver() { while (true) {} }');
      const took = Date.now() - started;
      assert.deepEqual([r.kind, r.kind === 'timeout' && r.waiting], ['timeout', false]);
      assert.ok(took >= TIMEOUT_MS, `stopped after ${took} ms, before its limit`);
      assert.ok(took < TIMEOUT_MS + MARGIN_MS, `stopped after ${took} ms`);
      const next = await run('function deliver() { return "next" }');
      assert.equal(next.kind === 'returned' && next.externalId, 'next');
    });

    it('stops a loop that catches its own interruption, and one at the top level', async () => {
      const caught = await run('async function deliver() { for (;;) { try { while (true) {} } catch (e) {} } }');
      assert.equal(caught.kind, 'timeout');
      const top = await run('while (true) {}\nfunction deliver() {}');
      assert.equal(top.kind, 'timeout');
    });

    it('stops memory bombs (big strings, typed arrays) at the memory limit without harming the thread', async () => {
      for (const bomb of [
        'const a = []; for (;;) a.push("x".repeat(1 << 20) + Math.random());',
        'const a = []; for (;;) a.push(new Uint8Array(1 << 20));',
        'let s = "x"; for (;;) s += s;',
      ]) {
        const r = await run(`async function deliver() { ${bomb} }`, { timeoutMs: 20_000 });
        assert.equal(r.kind, 'memory', `${bomb} -> ${JSON.stringify(r)}`);
      }
      const next = await run('function deliver() { return "alive" }');
      assert.equal(next.kind === 'returned' && next.externalId, 'alive');
    });

    it('stops runaway recursion as a stack overflow', async () => {
      assert.equal((await run('function deliver() { const f = () => f() + 1; return f() }')).kind, 'stack');
      assert.equal((await run('async function deliver() { const f = async () => (await f()) + 1; return f() }')).kind, 'stack');
    });

    it('terminates a sandbox stuck in native code past its limit and replaces the thread', async () => {
      // QuickJS checks for interrupts between instructions; a huge nested JSON.stringify never reaches one
      const started = Date.now();
      const r = await run('function deliver() { let a = []; for (let i = 0; i < 1e5; i++) a = [a]; return JSON.stringify(a).length }');
      const took = Date.now() - started;
      assert.ok(r.kind === 'killed' || r.kind === 'stack', JSON.stringify(r));
      assert.ok(took < TIMEOUT_MS + MARGIN_MS, `answered after ${took} ms`);
      const next = await run('function deliver() { return "replaced" }');
      assert.equal(next.kind === 'returned' && next.externalId, 'replaced');
    });

    it('reports a promise that nothing can settle at once instead of waiting for the deadline', async () => {
      const started = Date.now();
      const r = await run('async function deliver() { await new Promise(() => {}) }');
      assert.equal(r.kind, 'never-settled');
      assert.ok(Date.now() - started < TIMEOUT_MS);
    });

    it('caps the console log and says how much was dropped', async () => {
      const r = await run('function deliver() { for (let i = 0; i < 2000; i++) console.log("line " + i + " " + "y".repeat(50)) }');
      assert.equal(r.kind, 'returned');
      assert.ok(r.log.length <= 8000 + 200, `log is ${r.log.length} characters`);
      assert.match(r.log, /^\[log\] line 0 /);
      assert.match(r.log, /more console message\(s\) dropped/);
    });

    it('disposes every runtime: 200 runs leave no live runtime and a bounded memory footprint', async function () {
      this.timeout(180_000);
      const before = process.memoryUsage().rss;
      for (let i = 0; i < 200; i++) {
        const r = await run(`async function deliver(e, ctx) { const r = await fetch('http://127.0.0.1/x'); console.log(r.status); return 'ok-${i}' }`);
        assert.equal(r.kind === 'returned' && r.externalId, `ok-${i}`);
      }
      const stats = pool.stats();
      assert.equal(stats.liveRuntimes, 0);
      assert.equal(stats.busy, 0);
      const grownMb = (process.memoryUsage().rss - before) / 1024 / 1024;
      assert.ok(grownMb < 300, `rss grew by ${grownMb.toFixed(0)} MiB over 200 runs`);
    });
  });

  describe('the script API', () => {
    it('hands deliver the event and ctx.secrets, and captures console output by level', async () => {
      const r = await run(`async function deliver(event, ctx) {
        console.log('event', event.id, event.payload.title); console.info({ n: 1 }); console.warn('w'); console.error(new Error('e'));
        ctx.log('secret length', ctx.secrets.TOKEN.length);
      }`);
      assert.equal(r.kind, 'returned');
      assert.equal(r.log, '[log] event evt-1 Down\n[info] {"n":1}\n[warn] w\n[error] Error: e\n[log] secret length 14');
    });

    it('records a returned string, number or {externalId} as the external id', async () => {
      assert.equal((await run('function deliver() { return "abc" }')).kind === 'returned', true);
      const ids = await Promise.all(['"abc"', '42', '{ externalId: "ext-9" }', 'undefined', '{ other: 1 }'].map((v) => run(`async function deliver() { return ${v} }`)));
      assert.deepEqual(ids.map((r) => (r.kind === 'returned' ? r.externalId : r.kind)), ['abc', '42', 'ext-9', undefined, undefined]);
    });

    it('accepts deliver as a const arrow function', async () => {
      const r = await run('const deliver = async () => "arrow"');
      assert.equal(r.kind === 'returned' && r.externalId, 'arrow');
    });

    it('classifies thrown errors: PermanentError, RetryableError with a hint, plain errors, top-level throws', async () => {
      const perm = await run('function deliver() { throw new PermanentError("no such team", { pauseSubscription: true }) }');
      assert.deepEqual(pick(perm), { kind: 'threw', name: 'PermanentError', message: 'no such team', permanent: true, pauseSubscription: true });
      const retry = await run('async function deliver() { throw new RetryableError("busy", { retryAfterMs: 1500 }) }');
      assert.deepEqual(pick(retry), { kind: 'threw', name: 'RetryableError', message: 'busy', permanent: false, retryAfterMs: 1500 });
      const plain = await run('function deliver() {\n  null.x;\n}');
      assert.deepEqual(pick(plain), { kind: 'threw', name: 'TypeError', message: "cannot read property 'x' of null", permanent: false, line: 2 });
      const top = await run('throw new Error("at load")\nfunction deliver() {}');
      assert.deepEqual(pick(top), { kind: 'threw', phase: 'load', name: 'Error', message: 'at load', permanent: true, line: 1 });
      assert.equal((await run('const notDeliver = 1')).kind, 'no-deliver');
    });

    it('fetches through the host: method, headers and body as given; status, headers and JSON back', async () => {
      const r = await run(`async function deliver(event, ctx) {
        const res = await fetch('http://127.0.0.1:9/hook', { method: 'post', headers: { Authorization: 'Bearer ' + ctx.secrets.TOKEN, 'Content-Type': 'application/json' }, body: JSON.stringify({ id: event.id }) });
        const body = await res.json();
        return res.status + ':' + res.ok + ':' + res.headers.get('X-Request-Id') + ':' + body.id;
      }`);
      assert.equal(r.kind === 'returned' && r.externalId, '201:true:r-1:remote-7');
      assert.deepEqual(fetched, [{ url: 'http://127.0.0.1:9/hook', method: 'POST', headers: { Authorization: 'Bearer tok-secret-123', 'Content-Type': 'application/json' }, body: '{"id":"evt-1"}' }]);
      assert.equal(r.fetchCalls, 1);
      assert.match(r.log, /\[hub\] fetch POST http:\/\/127\.0\.0\.1:9\/hook -> 201 in \d+ ms/);
    });

    it('rejects a refused fetch with a permanent FetchError, and stops at maxFetchCalls', async () => {
      const refused = await run(`async function deliver() { await fetch('http://10.0.0.1/') }`);
      assert.deepEqual(pick(refused), { kind: 'threw', name: 'FetchError', message: '10.0.0.1 is a private address and not allow-listed', permanent: true, code: 'ssrf_blocked' });
      fetched.length = 0;
      const limited = await run(`async function deliver() { for (let i = 0; i < 5; i++) await fetch('http://127.0.0.1/' + i) }`);
      assert.equal(limited.kind === 'threw' && limited.code, 'fetch_limit');
      assert.equal(fetched.length, 2, 'only maxFetchCalls requests left the sandbox');
      const none = await run(`async function deliver() { await fetch('http://127.0.0.1/') }`, { maxFetchCalls: 0 });
      assert.equal(none.kind === 'threw' && none.code, 'fetch_limit');
    });

    it('refuses a non-string fetch body inside the sandbox', async () => {
      const r = await run(`async function deliver() { await fetch('http://127.0.0.1/', { method: 'POST', body: { a: 1 } }) }`);
      assert.deepEqual(pick(r), { kind: 'threw', name: 'TypeError', message: 'fetch: body must be a string (use JSON.stringify)', permanent: false });
      assert.equal(fetched.length, 0);
    });
  });
});

/** The fields of a result that describe how it ended (not log, timing or line unless present). */
function pick(r: SandboxResult): Record<string, unknown> {
  const { log: _log, fetchCalls: _f, durationMs: _d, ...rest } = r;
  if ('phase' in rest && rest.phase === 'deliver') delete (rest as Record<string, unknown>).phase;
  return rest;
}

/** The globals a bare QuickJS context has (ES2023 built-ins). */
const LANGUAGE_BUILTINS = [
  'Object', 'Function', 'Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError',
  'InternalError', 'AggregateError', 'Array', 'parseInt', 'parseFloat', 'isNaN', 'isFinite', 'decodeURI',
  'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'unescape', 'Infinity', 'NaN', 'undefined',
  'Number', 'Boolean', 'String', 'Math', 'Reflect', 'Symbol', 'eval', 'globalThis', 'Date', 'RegExp', 'JSON', 'Proxy',
  'Map', 'Set', 'WeakMap', 'WeakSet', 'ArrayBuffer', 'SharedArrayBuffer', 'Uint8ClampedArray', 'Int8Array',
  'Uint8Array', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array',
  'Float32Array', 'Float64Array', 'DataView', 'Promise', 'BigInt',
];
