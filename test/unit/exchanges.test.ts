import assert from 'node:assert/strict';
import { maskedUrl, recordingClient, storableExchanges, type RawExchange } from '../../activities/exchanges';
import type { GuardedHttpClient } from '../../providers/types';

describe('attempt exchanges (what the log keeps of each request and response)', () => {
  const token = 'tok-Secret-0123456789';
  const raw = (over: Partial<RawExchange> = {}): RawExchange => ({
    request: { method: 'POST', url: 'https://api.example.com/in', headers: { Authorization: `Bearer ${token}`, 'X-Api-Key': 'k-123456', 'X-Team': 'ops' }, body: `{"token":"${token}","n":1}` },
    response: { status: 200, headers: { 'set-cookie': 'sid=abc', 'x-trace': 't1' }, body: `echo ${token}`, durationMs: 5 },
    durationMs: 5,
    ...over,
  });

  it('masks credential headers by name (keeping the scheme), known secrets everywhere, and keeps the rest', () => {
    const [x] = storableExchanges([raw()], [token], 65_536);
    assert.deepEqual(x.request.headers, { Authorization: 'Bearer ***', 'X-Api-Key': '***', 'X-Team': 'ops' });
    assert.equal(x.request.body, '{"token":"***","n":1}');
    assert.deepEqual(x.response!.headers, { 'set-cookie': '***', 'x-trace': 't1' });
    assert.equal(x.response!.body, 'echo ***');
    assert.ok(!JSON.stringify(x).includes(token));
  });

  it('keeps the origin of a URL that is itself a secret, and masks token paths', () => {
    const hook = 'https://hooks.example.net/T0/B0/abcdefghijklmnopqrstu';
    assert.equal(maskedUrl(hook, [hook]), 'https://hooks.example.net/***');
    assert.equal(maskedUrl('https://hooks.slack.com/services/T0/B0/XYZ', []), 'https://hooks.slack.com/services/***');
    assert.equal(maskedUrl('https://api.telegram.org/bot123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789/sendMessage', []), 'https://api.telegram.org/bot***/sendMessage');
  });

  it('cuts a body to the byte limit after escaping NULs, never inside a character, and says how big it was', () => {
    const body = `${'é'.repeat(40)}\u0000${'x'.repeat(100)}`;
    const [x] = storableExchanges([raw({ response: { status: 500, headers: {}, body, durationMs: 1 } })], [], 64);
    assert.equal(x.response!.bodyTruncated, true);
    assert.equal(x.response!.bodyBytes, Buffer.byteLength(body));
    assert.ok(Buffer.byteLength(x.response!.body) <= 64);
    assert.equal(x.response!.body, 'é'.repeat(32));
    const [nul] = storableExchanges([raw({ response: { status: 200, headers: {}, body: 'a\u0000b', durationMs: 1 } })], [], 64);
    assert.equal(nul.response!.body, 'a\\u0000b');
    assert.equal(nul.response!.bodyTruncated, false);
  });

  it('records every request through the client, a transport failure too, at most ten', async () => {
    let n = 0;
    const http: GuardedHttpClient = {
      async request(req) {
        n += 1;
        if (req.url.endsWith('/fail')) throw new Error('api.example.com: connection refused');
        return { status: 204, headers: {}, body: '', durationMs: 2 };
      },
    };
    const sink: RawExchange[] = [];
    const client = recordingClient(http, sink);
    await client.request({ method: 'GET', url: 'https://api.example.com/ok' });
    await assert.rejects(client.request({ method: 'GET', url: 'https://api.example.com/fail' }));
    for (let i = 0; i < 12; i++) await client.request({ method: 'GET', url: `https://api.example.com/${i}` });
    assert.equal(n, 14, 'every request went through');
    assert.equal(sink.length, 10);
    const [ok, failed] = storableExchanges(sink, [], 1024);
    assert.equal(ok.response!.status, 204);
    assert.equal(failed.response, undefined);
    assert.equal(failed.error, 'api.example.com: connection refused');
  });
});
