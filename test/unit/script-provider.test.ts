import assert from 'node:assert/strict';
import { z } from 'zod';
import { createGuardedHttpClient } from '../../providers/http/guarded-client';
import { createScriptProvider, scriptConfigSchema, validateScriptConfig, type ScriptConfig } from '../../providers/script';
import { preloadCompileChecker } from '../../providers/script/compile-check';
import { outcomeFromRun } from '../../providers/script/outcome';
import { SandboxPool } from '../../providers/script/pool';
import type { SandboxEnd } from '../../providers/script/protocol';
import type { DeliveryContext } from '../../providers/types';
import { createSecretBox } from '../../src/secrets/crypto';
import { secretPathsFromJsonSchema } from '../../providers/shared/secret-field';
import { encryptFields, maskFields, secretValues } from '../../src/secrets/fields';
import { Receiver } from '../fakes/receiver';

const SECRET = 'script-secret-value-9c1e55';
const config = (source: string, over: Record<string, unknown> = {}): ScriptConfig => scriptConfigSchema.parse({ source, ...over });
const problems = (source: string, language: 'javascript' | 'typescript' = 'javascript') => validateScriptConfig(config(source, { language }));

describe('script provider', function () {
  this.timeout(60_000);
  before(() => preloadCompileChecker());

  describe('config', () => {
    it('defaults language, timeout, memory and fetch limits; refuses values out of range', () => {
      const c = config('function deliver() {}');
      assert.deepEqual({ ...c, source: undefined }, { language: 'javascript', source: undefined, timeoutMs: 5000, memoryLimitMb: 32, maxFetchCalls: 5 });
      for (const bad of [{ timeoutMs: 99 }, { timeoutMs: 30_001 }, { memoryLimitMb: 7 }, { memoryLimitMb: 129 }, { maxFetchCalls: 21 }, { secrets: { 'not-a-name': 'x' } }, { extra: 1 }]) {
        assert.equal(scriptConfigSchema.safeParse({ source: 'x', ...bad }).success, false, JSON.stringify(bad));
      }
    });

    it('marks every secrets value as secret: path secrets.*, encrypted at rest, masked on read', () => {
      const paths = secretPathsFromJsonSchema(z.toJSONSchema(scriptConfigSchema, { io: 'input', unrepresentable: 'any' }));
      assert.deepEqual(paths, ['secrets.*']);
      const stored = config('function deliver() {}', { secrets: { API_TOKEN: SECRET, OTHER: 'second-secret' } });
      const box = createSecretBox(['unit-test-master-key-0123456789']);
      const encrypted = encryptFields(stored, paths, box);
      assert.ok(!JSON.stringify(encrypted).includes(SECRET));
      assert.deepEqual(maskFields(stored, paths).secrets, { API_TOKEN: { set: true }, OTHER: { set: true } });
      assert.deepEqual(secretValues(stored, paths).sort(), [SECRET, 'second-secret']);
    });
  });

  describe('save-time checks (validateConfig)', () => {
    it('accepts a JavaScript and a TypeScript script that define deliver', () => {
      assert.deepEqual(problems('async function deliver(event, ctx) { return event.id }'), []);
      assert.deepEqual(problems('const deliver = async (event: { id: string }): Promise<string> => event.id;\ninterface X { a: number }', 'typescript'), []);
    });

    it('refuses a syntax error with its line and column at config.source', () => {
      assert.deepEqual(problems('async function deliver(event) {\n  const x = ;\n}'), [
        { path: 'config.source', message: 'line 2, column 13: Expression expected.' },
      ]);
      assert.deepEqual(problems('function deliver(e: string) {}'), [
        { path: 'config.source', message: 'line 1, column 21: Type annotations can only be used in TypeScript files.' },
      ]);
      assert.deepEqual(problems('async function deliver(event: {id: string) {}', 'typescript'), [
        { path: 'config.source', message: "line 1, column 42: ';' expected." },
      ]);
    });

    it('refuses what only QuickJS knows is wrong, with its line', () => {
      assert.deepEqual(problems('function deliver() {}\nlet a = 1;\nlet a = 2;'), [
        { path: 'config.source', message: 'line 3: SyntaxError: invalid redefinition of lexical identifier' },
      ]);
    });

    it('refuses import/export and a script without a top-level deliver', () => {
      assert.deepEqual(problems('import fs from "fs";\nexport default async function (event) {}'), [
        { path: 'config.source', message: 'line 1, column 1: import and export are not available in scripts: define `async function deliver(event, ctx)` at the top level' },
        { path: 'config.source', message: 'line 2, column 1: import and export are not available in scripts: define `async function deliver(event, ctx)` at the top level' },
        { path: 'config.source', message: 'the script must define `async function deliver(event, ctx)` at its top level' },
      ]);
      assert.equal(problems('function outer() { function deliver() {} }').length, 1);
    });

    it('never runs the script while checking it', () => {
      assert.deepEqual(problems('while (true) {}\nfunction deliver() {}'), []);
    });
  });

  describe('outcomes', () => {
    const limits = { timeoutMs: 5000, memoryLimitMb: 32 };
    const of = (end: SandboxEnd, log = '') => outcomeFromRun({ ...end, log, fetchCalls: 0, durationMs: 1 }, limits, [SECRET]);

    it('maps each way a run ends to success, retryable or permanent', () => {
      const table: Array<[SandboxEnd, string, string | undefined]> = [
        [{ kind: 'returned', externalId: 'x-1' }, 'success', undefined],
        [{ kind: 'threw', phase: 'deliver', name: 'Error', message: 'm', permanent: false }, 'retryable', 'script_error'],
        [{ kind: 'threw', phase: 'deliver', name: 'PermanentError', message: 'm', permanent: true }, 'permanent', 'script_error'],
        [{ kind: 'threw', phase: 'deliver', name: 'FetchError', message: 'm', permanent: true, code: 'ssrf_blocked' }, 'permanent', 'ssrf_blocked'],
        [{ kind: 'threw', phase: 'load', name: 'Error', message: 'm', permanent: true }, 'permanent', 'script_load_error'],
        [{ kind: 'no-deliver' }, 'permanent', 'invalid_script'],
        [{ kind: 'timeout', waiting: false }, 'permanent', 'script_timeout'],
        [{ kind: 'timeout', waiting: true }, 'retryable', 'script_timeout'],
        [{ kind: 'killed' }, 'permanent', 'script_timeout'],
        [{ kind: 'memory' }, 'permanent', 'script_memory'],
        [{ kind: 'stack' }, 'permanent', 'script_stack_overflow'],
        [{ kind: 'never-settled' }, 'permanent', 'script_never_settled'],
        [{ kind: 'crashed', message: 'm' }, 'retryable', 'sandbox_error'],
      ];
      for (const [end, kind, code] of table) {
        const o = of(end);
        assert.deepEqual([o.kind, 'errorCode' in o ? o.errorCode : undefined], [kind, code], JSON.stringify(end));
      }
    });

    it('honours retryAfterMs (clamped to a day), pauses only on request, and keeps secrets out of errors', () => {
      const retry = of({ kind: 'threw', phase: 'deliver', name: 'RetryableError', message: `rate limited for ${SECRET}`, permanent: false, retryAfterMs: 9e12 });
      assert.deepEqual(retry, { kind: 'retryable', errorCode: 'script_error', error: 'RetryableError: rate limited for ***', retryAfterMs: 86_400_000 });
      const paused = of({ kind: 'threw', phase: 'deliver', name: 'PermanentError', message: 'team deleted', permanent: true, pauseSubscription: true, line: 4 });
      assert.deepEqual(paused, { kind: 'permanent', errorCode: 'script_error', error: 'PermanentError: team deleted (line 4)', pauseReason: 'The script asked to pause: team deleted' });
      assert.equal(of({ kind: 'memory' }).kind === 'permanent' && 'pauseReason' in of({ kind: 'memory' }), false);
    });

    it('keeps the console log with the outcome', () => {
      assert.deepEqual(of({ kind: 'returned' }, '[log] hi'), { kind: 'success', log: '[log] hi' });
    });
  });

  describe('deliver (real sandbox, real guarded client)', () => {
    let receiver: Receiver;
    let pool: SandboxPool;
    const provider = createScriptProvider(() => pool);
    const allowLocal = createGuardedHttpClient({ timeoutMs: 5000, maxResponseBytes: 64 * 1024, allowedNetworks: ['127.0.0.0/8'] });
    const noAllowList = createGuardedHttpClient({ timeoutMs: 5000, maxResponseBytes: 64 * 1024, allowedNetworks: [] });

    function context(cfg: ScriptConfig, http = allowLocal): DeliveryContext<ScriptConfig> {
      return {
        deliveryId: 'dlv_1',
        attempt: 2,
        event: {
          id: 'evt_1', type: 'incident.created', displayName: 'Incident created', occurredAt: '2025-03-01T10:00:00.000Z',
          systemIds: ['sys-a'], payload: { incidentId: 'inc-1', title: 'Down' }, subject: 'inc-1', resolves: false,
        },
        subscription: { id: 'sub_1', name: 'Ops script' },
        config: cfg,
        test: false,
        redelivery: false,
        http,
      };
    }

    before(async () => {
      receiver = await new Receiver().start();
      pool = new SandboxPool({ maxThreads: 1, queueTimeoutMs: 30_000, killGraceMs: 1000 });
    });
    after(async () => {
      await receiver.stop();
      await pool.close();
    });
    beforeEach(() => {
      receiver.received.length = 0;
    });

    it('hands the script the whole event and posts through the guarded client', async () => {
      const source = `async function deliver(event, ctx) {
        const res = await fetch(RECEIVER + '/in', { method: 'POST', headers: { 'x-api-key': ctx.secrets.KEY, 'content-type': 'application/json' }, body: JSON.stringify(event) });
        if (!res.ok) throw new RetryableError('receiver said ' + res.status);
        return (await res.json()).ok ? 'posted' : 'odd';
      }
      const RECEIVER = ${JSON.stringify(receiver.url)};`;
      const outcome = await provider.deliver(context(config(source, { secrets: { KEY: SECRET } })));
      assert.equal(outcome.kind, 'success', JSON.stringify(outcome));
      assert.equal(outcome.kind === 'success' && outcome.externalId, 'posted');
      const [req] = receiver.at('/in');
      assert.equal(req.headers['x-api-key'], SECRET);
      assert.deepEqual(JSON.parse(req.body), {
        id: 'evt_1', type: 'incident.created', displayName: 'Incident created', occurredAt: '2025-03-01T10:00:00.000Z',
        systemIds: ['sys-a'], payload: { incidentId: 'inc-1', title: 'Down' }, subject: 'inc-1', resolves: false,
        deliveryId: 'dlv_1', attempt: 2, subscription: { id: 'sub_1', name: 'Ops script' }, test: false, redelivery: false,
      });
    });

    it('runs TypeScript', async () => {
      const outcome = await provider.deliver(context(config('interface E { id: string }\nasync function deliver(event: E): Promise<string> { return `ts-${event.id}` }', { language: 'typescript' })));
      assert.deepEqual(outcome, { kind: 'success', externalId: 'ts-evt_1' });
    });

    it('refuses fetch to metadata and private addresses (never allow-listed), and to loopback without the allow-list', async () => {
      for (const [url, http] of [['http://169.254.169.254/latest/meta-data/', allowLocal], ['http://10.0.0.1/', allowLocal], [`${receiver.url}/x`, noAllowList]] as const) {
        const outcome = await provider.deliver(context(config(`async function deliver() { await fetch(${JSON.stringify(url)}) }`), http));
        assert.equal(outcome.kind, 'permanent', `${url}: ${JSON.stringify(outcome)}`);
        assert.equal(outcome.kind === 'permanent' && outcome.errorCode, 'ssrf_blocked');
      }
      assert.equal(receiver.received.length, 0);
    });

    it('stops a busy loop at its limit as a permanent failure and delivers the next event', async () => {
      const started = Date.now();
      const outcome = await provider.deliver(context(config('async function deliver() { for (;;) {} }', { timeoutMs: 300 })));
      assert.equal(outcome.kind === 'permanent' && outcome.errorCode, 'script_timeout');
      assert.ok(Date.now() - started >= 300);
      assert.deepEqual(await provider.deliver(context(config('function deliver() { return "after" }'))), { kind: 'success', externalId: 'after' });
    });
  });
});
