import assert from 'node:assert/strict';
import { z } from 'zod';
import type { OutboundResponse } from '../../providers/types';
import { webexConfigSchema, webexConnectionSchema, webexProvider } from '../../providers/webex';
import { nextLink } from '../../providers/webex/api';
import { classifyWebexResponse } from '../../providers/webex/classify';
import { encodeRecord, parseRecord } from '../../providers/webex/record';
import { secretPathsFromJsonSchema } from '../../providers/shared/secret-field';

const TOKEN = 'NjM5ZjFhYmMtZmFrZS10b2tlbi0wMTIzNDU2Nzg5_PF84_1eb65fdf';
const ROOM = 'Y2lzY29zcGFyazovL3VzL1JPT00vYmJjZWIxYWQ';

function response(status: number, body: unknown = '', headers: Record<string, string> = {}): OutboundResponse {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body), durationMs: 1 };
}

const webexError = (message: string) => ({ message, errors: [{ description: message }], trackingId: 'ROUTER_123' });

describe('webex classification', () => {
  const classify = (res: OutboundResponse) => classifyWebexResponse(res, ROOM, [TOKEN]);

  it('takes the message id of a 200 as the external id', () => {
    assert.deepEqual(classify(response(200, { id: 'MSG1', roomId: ROOM })), { kind: 'success', httpStatus: 200, externalId: 'MSG1' });
  });

  it('treats 401 as permanent and pausing: the token is invalid or expired, with Webex message and trackingId', () => {
    const o = classify(response(401, webexError('The request requires a valid access token set in the Authorization request header.')));
    assert.equal(o.kind, 'permanent');
    assert.ok(o.kind === 'permanent' && o.pauseReason);
    assert.match(o.pauseReason!, /bot token/);
    assert.equal(o.errorCode, 'webex_unauthorized');
    assert.equal(o.error, 'HTTP 401 from Webex: The request requires a valid access token set in the Authorization request header. (trackingId ROUTER_123)');
  });

  for (const [status, code, reason] of [
    [403, 'webex_forbidden', /not a member of the room/],
    [404, 'webex_not_found', /was not found/],
  ] as const) {
    it(`treats ${status} as permanent and pauses, naming the room`, () => {
      const o = classify(response(status, webexError('Could not find a room with provided ID.')));
      assert.ok(o.kind === 'permanent');
      assert.equal(o.errorCode, code);
      assert.match(o.pauseReason ?? '', reason);
      assert.ok(o.pauseReason?.includes(ROOM));
    });
  }

  it('retries 429 after its Retry-After', () => {
    const o = classify(response(429, webexError('Too Many Requests'), { 'retry-after': '7' }));
    assert.deepEqual([o.kind, o.kind === 'retryable' && o.retryAfterMs], ['retryable', 7000]);
  });

  it('retries 423 Locked after its Retry-After', () => {
    const o = classify(response(423, webexError('Locked'), { 'retry-after': '3' }));
    assert.deepEqual([o.kind, o.kind === 'retryable' && o.retryAfterMs], ['retryable', 3000]);
  });

  for (const status of [500, 502, 503, 504]) {
    it(`retries ${status}`, () => assert.equal(classify(response(status, webexError('Service Unavailable'))).kind, 'retryable'));
  }

  it('fails 400 permanently without pausing the subscription', () => {
    const o = classify(response(400, webexError('The markdown exceeds the maximum length.')));
    assert.ok(o.kind === 'permanent');
    assert.equal(o.pauseReason, undefined);
    assert.match(o.error, /^HTTP 400 from Webex: The markdown exceeds/);
  });

  it('pauses on 410 Gone (shared mapping)', () => {
    const o = classify(response(410, ''));
    assert.ok(o.kind === 'permanent' && o.pauseReason);
  });

  it('keeps the token out of an error that echoes it', () => {
    const o = classify(response(400, webexError(`unknown access token ${TOKEN}`)));
    assert.ok(o.kind === 'permanent');
    assert.ok(!o.error.includes(TOKEN), o.error);
  });
});

describe('webex record and Link header helpers', () => {
  it('keeps the edit count in the external id and reads a bare message id as unedited', () => {
    assert.equal(encodeRecord({ messageId: 'M1', edits: 0 }), 'M1');
    assert.equal(encodeRecord({ messageId: 'M1', edits: 3 }), 'M1#edits=3');
    assert.deepEqual(parseRecord('M1#edits=3'), { messageId: 'M1', edits: 3 });
    assert.deepEqual(parseRecord('M1'), { messageId: 'M1', edits: 0 });
    assert.deepEqual(parseRecord('M1#edits=99'), { messageId: 'M1', edits: 10 });
  });

  it('follows rel="next" only on the configured API', () => {
    const base = 'https://webexapis.com/v1';
    assert.equal(nextLink('<https://webexapis.com/v1/rooms?max=100&cursor=abc>; rel="next"', base), 'https://webexapis.com/v1/rooms?max=100&cursor=abc');
    assert.equal(nextLink('<https://webexapis.com/v1/rooms?a=1>; rel="prev", <https://webexapis.com/v1/rooms?b=2>; rel="next"', base), 'https://webexapis.com/v1/rooms?b=2');
    assert.equal(nextLink('<https://evil.example/v1/rooms>; rel="next"', base), undefined);
    assert.equal(nextLink('<https://webexapis.com/v2/rooms>; rel="next"', base), undefined);
    assert.equal(nextLink(undefined, base), undefined);
  });
});

describe('webex schemas', () => {
  it('marks botToken as a secret and defaults apiBaseUrl and followUpMode', () => {
    const schema = z.toJSONSchema(webexConnectionSchema, { io: 'input' }) as Record<string, unknown>;
    assert.deepEqual(secretPathsFromJsonSchema(schema), ['botToken']);
    assert.deepEqual(webexConnectionSchema.parse({ botToken: 'abc' }), { botToken: 'abc', apiBaseUrl: 'https://webexapis.com/v1' });
    assert.equal(webexConfigSchema.parse({ roomId: ROOM }).followUpMode, 'thread');
    assert.equal(webexConnectionSchema.safeParse({ botToken: 'abc', apiBaseUrl: 'https://user:pw@webexapis.com/v1' }).success, false);
    assert.equal(webexConfigSchema.safeParse({ roomId: ROOM, extra: 1 }).success, false);
  });

  it('names the follow-up target by API and room', () => {
    const target = webexProvider.followUpTarget!(webexConfigSchema.parse({ roomId: ROOM }), webexConnectionSchema.parse({ botToken: TOKEN }));
    assert.equal(target, `webex:https://webexapis.com/v1:${ROOM}`);
    assert.ok(!target!.includes(TOKEN));
  });
});
