import assert from 'node:assert/strict';
import { z } from 'zod';
import { envKey, flattenPayload, shellConfigSchema, shellEnvironment } from '../../providers/shell';
import { secretPathsFromJsonSchema } from '../../providers/shared/secret-field';

describe('shell environment', () => {
  describe('PAYLOAD_* flattening (Checkstack convention)', () => {
    it('upper-cases keys, turns . and - into _, drops other characters', () => {
      assert.equal(envKey('incidentId'), 'INCIDENTID');
      assert.equal(envKey('service.name'), 'SERVICE_NAME');
      assert.equal(envKey('x-request id!'), 'X_REQUESTID');
      assert.equal(envKey('ü'), '');
    });

    it('joins nested objects with _, writes arrays as JSON, null as "", scalars as text, skips empty names', () => {
      const { vars, skipped } = flattenPayload({
        incidentId: 'inc-1',
        count: 3,
        open: true,
        gone: null,
        tags: ['a', 'b'],
        'service.name': 'api',
        nested: { deeper: { value: 'x' }, list: [{ a: 1 }] },
        'ü': 'dropped',
      });
      assert.deepEqual(vars, {
        PAYLOAD_INCIDENTID: 'inc-1',
        PAYLOAD_COUNT: '3',
        PAYLOAD_OPEN: 'true',
        PAYLOAD_GONE: '',
        PAYLOAD_TAGS: '["a","b"]',
        PAYLOAD_SERVICE_NAME: 'api',
        PAYLOAD_NESTED_DEEPER_VALUE: 'x',
        PAYLOAD_NESTED_LIST: '[{"a":1}]',
      });
      assert.deepEqual(skipped, []);
    });

    it('leaves out values too large for the environment and says which', () => {
      const { vars, skipped } = flattenPayload({ small: 'ok', huge: 'x'.repeat(40_000) });
      assert.deepEqual(vars, { PAYLOAD_SMALL: 'ok' });
      assert.deepEqual(skipped, ['PAYLOAD_HUGE']);
    });
  });

  describe('the whole environment', () => {
    const ctx = {
      deliveryId: 'dlv_1',
      attempt: 2,
      event: {
        id: 'evt_1', type: 'incident.created', displayName: 'Incident created', occurredAt: '2025-03-01T10:00:00.000Z',
        systemIds: ['sys-a', 'sys-b'], payload: { incidentId: 'inc-1', note: 'a\u0000b' }, subject: 'inc-1', resolves: false,
      },
      subscription: { id: 'sub_1', name: 'Ops command' },
      test: true,
      redelivery: false,
    };

    it('is exactly the fixed list, the event, the payload and the configured env: nothing from process.env', () => {
      process.env.ENCRYPTION_MASTER_KEY = 'unit-master-key-never-inherited';
      try {
        const { env } = shellEnvironment(ctx, '/tmp/h', '/tmp/h/payload.json', { API_TOKEN: 'tok' });
        assert.deepEqual(env, {
          PATH: '/usr/local/bin:/usr/bin:/bin',
          HOME: '/tmp/h',
          TMPDIR: '/tmp/h',
          LANG: 'C.UTF-8',
          EVENT_ID: 'evt_1',
          EVENT_TYPE: 'incident.created',
          EVENT_TIMESTAMP: '2025-03-01T10:00:00.000Z',
          EVENT_SYSTEM_IDS: 'sys-a,sys-b',
          EVENT_RESOLVES: 'false',
          EVENT_SUBJECT: 'inc-1',
          EVENT_PAYLOAD_FILE: '/tmp/h/payload.json',
          EVENT_PAYLOAD: '{"incidentId":"inc-1","note":"a\\u0000b"}',
          DELIVERY_ID: 'dlv_1',
          DELIVERY_ATTEMPT: '2',
          DELIVERY_TEST: 'true',
          DELIVERY_REDELIVERY: 'false',
          SUBSCRIPTION_ID: 'sub_1',
          SUBSCRIPTION_NAME: 'Ops command',
          PAYLOAD_INCIDENTID: 'inc-1',
          PAYLOAD_NOTE: 'ab', // a NUL cannot be passed to a process
          API_TOKEN: 'tok',
        });
      } finally {
        delete process.env.ENCRYPTION_MASTER_KEY;
      }
    });

    it('leaves EVENT_PAYLOAD out when the payload is large (it is still in the file)', () => {
      const big = { ...ctx, event: { ...ctx.event, payload: { text: 'y'.repeat(70_000) } } };
      const { env, skipped } = shellEnvironment(big, '/tmp/h', '/tmp/h/payload.json');
      assert.equal(env.EVENT_PAYLOAD, undefined);
      assert.deepEqual(skipped.sort(), ['EVENT_PAYLOAD', 'PAYLOAD_TEXT']);
    });
  });

  describe('config', () => {
    it('marks every env value as secret (path env.*)', () => {
      assert.deepEqual(secretPathsFromJsonSchema(z.toJSONSchema(shellConfigSchema, { io: 'input', unrepresentable: 'any' })), ['env.*']);
    });

    it('defaults timeout and output cap; keeps the timeout under the 2-minute activity limit', () => {
      const c = shellConfigSchema.parse({ command: 'true' });
      assert.deepEqual(c, { command: 'true', timeoutMs: 30_000, maxOutputBytes: 65_536 });
      assert.equal(shellConfigSchema.safeParse({ command: 'true', timeoutMs: 110_001 }).success, false);
      assert.equal(shellConfigSchema.safeParse({ command: 'true', timeoutMs: 99 }).success, false);
    });

    it('refuses env names the hub sets, invalid names and a relative working directory', () => {
      for (const env of [{ PATH: '/x' }, { HOME: '/x' }, { EVENT_ID: 'x' }, { payload_x: 'x' }, { DELIVERY_ID: 'x' }, { '1BAD': 'x' }, { 'A-B': 'x' }]) {
        assert.equal(shellConfigSchema.safeParse({ command: 'true', env }).success, false, JSON.stringify(env));
      }
      assert.equal(shellConfigSchema.safeParse({ command: 'true', workingDirectory: 'relative/dir' }).success, false);
      assert.equal(shellConfigSchema.safeParse({ command: 'true', env: { API_TOKEN: 'x' }, workingDirectory: '/srv' }).success, true);
    });
  });
});
