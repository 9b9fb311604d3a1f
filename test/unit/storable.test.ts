import assert from 'node:assert/strict';
import { storableRecord } from '../../src/deliveries/log';
import { storableJson, storableText, unstorableReason } from '../../providers/shared/storable';
import { MAX_JSON_DEPTH, unstorableProblems } from '../../src/http/validation';

describe('storable text (what PostgreSQL accepts)', () => {
  it('escapes NUL as \\u0000 and replaces lone surrogates with U+FFFD, keeping well-formed pairs', () => {
    assert.equal(storableText('a\u0000b'), 'a\\u0000b');
    assert.equal(storableText('x\ud800y\udc00z'), 'x\ufffdy\ufffdz');
    assert.equal(storableText('ok \ud83d\ude00'), 'ok \ud83d\ude00');
  });

  it('cuts to the bound with an ellipsis and never leaves half a surrogate pair', () => {
    assert.equal(storableText('abcdef', 4), 'abc…');
    const cut = storableText(`ab${'\ud83d\ude00'.repeat(3)}`, 4);
    assert.ok(cut.length <= 4);
    assert.equal(unstorableReason(cut), undefined, JSON.stringify(cut));
    // escaping happens before the bound: the escaped text fits the column
    assert.equal(storableText('\u0000'.repeat(50), 100).length, 100);
  });

  it('tells why a text cannot be stored', () => {
    assert.equal(unstorableReason('a\u0000'), 'nul');
    assert.equal(unstorableReason('\udfff'), 'lone_surrogate');
    assert.equal(unstorableReason('fine'), undefined);
  });

  it('makes JSON values storable without recursion, keeping a __proto__ key as an own property', () => {
    const value = JSON.parse('{"__proto__":{"a":"x\\u0000"},"k\\ud800":[1,"\\udc00"]}');
    const out = storableJson(value) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ['__proto__', 'k\ufffd']);
    assert.equal(JSON.stringify(out), '{"__proto__":{"a":"x\\\\u0000"},"k�":[1,"�"]}');
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.ok(Array.isArray(storableJson(deep)));
  });

  it('bounds every text of an attempt record to its column and keeps numbers in range', () => {
    const r = storableRecord({
      deliveryId: 'dlv_1', attempt: 1, trigger: 'scheduled', status: 'failed', outcome: 'permanent',
      startedAtMs: Number.NaN, durationMs: 1e12, httpStatus: 70_000,
      errorCode: `c${'\u0000'.repeat(200)}`, error: 'e'.repeat(5_000), externalId: 'x\u0000', log: '\ud800',
    });
    assert.ok(r.errorCode!.length <= 100);
    assert.ok(r.error!.length <= 2_000);
    assert.equal(r.externalId, 'x\\u0000');
    assert.equal(r.log, '\ufffd');
    assert.equal(r.httpStatus, undefined);
    assert.equal(r.durationMs, 2_147_483_647);
    assert.ok(Number.isFinite(r.startedAtMs));
  });
});

describe('request values the hub refuses (unstorableProblems)', () => {
  it('names NUL, lone surrogates, out-of-range numbers and __proto__ keys by path', () => {
    const body = JSON.parse('{"a":"x\\u0000","b":[1,1e400],"c":{"__proto__":1},"d\\ud800":true,"e":"\\ud800"}');
    const paths = unstorableProblems(body, 'body').map((p) => p.path);
    assert.deepEqual([...paths].sort(), ['body.a', 'body.b.1', 'body.c.__proto__', 'body.d\ufffd', 'body.e'].sort());
  });

  it(`refuses nesting past ${MAX_JSON_DEPTH} levels without overflowing the stack on 100 000`, () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const problems = unstorableProblems(deep, 'body');
    assert.equal(problems.length, 1);
    assert.equal(problems[0].path.split('.').length, MAX_JSON_DEPTH + 1);
    let ok: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH; i++) ok = { a: ok };
    assert.deepEqual(unstorableProblems(ok, 'body'), []);
  });
});
