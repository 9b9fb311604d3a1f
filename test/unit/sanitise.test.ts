import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { createGuardedHttpClient } from '../../providers/http/guarded-client';
import { outcomeFromResponse } from '../../providers/http/outcome';
import { BUILTIN_PROVIDERS } from '../../providers';
import { ProviderRegistry } from '../../providers/registry';
import type { ProviderDefinition } from '../../providers/types';
import { registerRedactions, safeErrorMessage, sanitise } from '../../providers/shared/sanitise';

function assertClean(text: string, leaks: string[]): void {
  for (const leak of leaks) assert.ok(!text.includes(leak), `"${text}" still contains "${leak}"`);
}

/** A local receiver that answers every request with `status` and whatever `body(req)` returns. */
async function receiver(status: number, body: (req: http.IncomingMessage) => string) {
  const server = http.createServer((req, res) => {
    res.statusCode = status;
    res.end(body(req));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('sanitise', () => {
  // the built-in providers' secret shapes (their `redact` hooks), as every process that builds a registry has them
  before(() => {
    const registry = new ProviderRegistry();
    for (const p of BUILTIN_PROVIDERS as ProviderDefinition[]) registry.register(p);
  });

  describe('provider redact hooks', () => {
    it('masks a shape only once a provider declaring it is registered, in every text', () => {
      const text = 'upstream said: acme-tok-0123456789abcdef is not valid';
      assert.equal(sanitise(text), text, 'no provider declares the shape yet');
      const registry = new ProviderRegistry();
      const def = { ...(BUILTIN_PROVIDERS[0] as ProviderDefinition), id: 'acme-redact', redact: [{ pattern: /\b(acme-tok-)[0-9a-f]{16}/, replacement: '$1***' }] };
      registry.register(def);
      // applied globally even though the pattern was not declared with the g flag
      assert.equal(sanitise(`${text}; again acme-tok-fedcba9876543210`), 'upstream said: acme-tok-*** is not valid; again acme-tok-***');
      registerRedactions('acme-redact', []);
      assert.equal(sanitise(text), text, 'a second registration replaces the shapes');
    });

    it('refuses a redact hook that is not a list of { pattern: RegExp, replacement: string }', () => {
      const registry = new ProviderRegistry();
      const base = BUILTIN_PROVIDERS[0] as ProviderDefinition;
      assert.throws(() => registry.register({ ...base, id: 'bad-redact-1', redact: [{ pattern: 'tok-.*' as never, replacement: '***' }] }), /redact\[0\] of bad-redact-1/);
      assert.throws(() => registry.register({ ...base, id: 'bad-redact-2', redact: {} as never }), /redact of bad-redact-2 must be an array/);
      assert.equal(registry.get('bad-redact-1'), undefined, 'a refused provider is not registered');
    });

    it('each built-in shape comes from the provider that owns it', () => {
      const owners = Object.fromEntries((BUILTIN_PROVIDERS as ProviderDefinition[]).filter((p) => p.redact?.length).map((p) => [p.id, p.redact!.length]));
      assert.deepEqual(Object.keys(owners).sort(), ['discord', 'google-chat', 'slack', 'teams', 'telegram', 'webhook']);
    });
  });

  describe('known secret values', () => {
    it('masks a secret as is, URL-encoded, JSON-escaped and base64-encoded', () => {
      const secret = 'p@ss w/"rd+42';
      const text = [
        `raw ${secret}`,
        `url ${encodeURIComponent(secret)}`,
        `form ${encodeURIComponent(secret).replace(/%20/g, '+')}`,
        `json ${JSON.stringify(secret)}`,
        `b64 ${Buffer.from(secret).toString('base64')}`,
      ].join(' | ');
      const out = sanitise(text, [secret]);
      assertClean(out, [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64').replace(/=+$/, '')]);
      assert.equal(out.split('***').length - 1, 5);
    });

    it('ignores secrets shorter than 4 characters so common words survive', () => {
      assert.equal(sanitise('the abc of it', ['abc']), 'the abc of it');
    });
  });

  describe('URLs', () => {
    it('masks credentials in URLs but keeps scheme and host', () => {
      assert.equal(sanitise('GET https://deploy:Sup3rS3cret@hooks.example.com/x failed'), 'GET https://***@hooks.example.com/x failed');
    });

    it('masks the signature and credential of an S3 presigned URL, keeping harmless parameters', () => {
      const url =
        'https://bucket.s3.amazonaws.com/report.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
        '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z' +
        '&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=9f2c0d1e5b7a4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d';
      const out = sanitise(`upload to ${url} failed`);
      assertClean(out, ['AKIAIOSFODNN7EXAMPLE', '9f2c0d1e5b7a4c3d']);
      assert.match(out, /X-Amz-Algorithm=AWS4-HMAC-SHA256/);
      assert.match(out, /X-Amz-Credential=\*\*\*&/);
      assert.match(out, /X-Amz-Signature=\*\*\*/);
    });

    it('masks sig= of a Teams / Power Automate workflow URL', () => {
      const url =
        'https://prod-27.westeurope.logic.azure.com:443/workflows/0a1b2c/triggers/manual/paths/invoke' +
        '?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Xk3vQ9mZ_pL2rT8wY5nB1cD4eF6gH7jK0aS';
      const out = sanitise(url);
      assertClean(out, ['Xk3vQ9mZ_pL2rT8wY5nB1cD4eF6gH7jK0aS']);
      assert.match(out, /api-version=2016-06-01&.*&sig=\*\*\*$/);
    });

    it('masks token-like query parameters case-insensitively', () => {
      assert.equal(
        sanitise('/cb?Access_Token=aaa111&state=ok&API_KEY=bbb222&code=ccc333'),
        '/cb?Access_Token=***&state=ok&API_KEY=***&code=***',
      );
    });

    it('masks the secret path of a Slack incoming webhook', () => {
      const out = sanitise('POST https://hooks.slack.com/services/T0ABCDEF1/B0GHIJKL2/aBcDeFgHiJkLmNoPqRsTuVwX: 404 no_service');
      assert.equal(out, 'POST https://hooks.slack.com/services/***: 404 no_service');
      const gov = sanitise('POST https://hooks.slack-gov.com/services/T0ABCDEF1/B0GHIJKL2/aBcDeFgHiJkLmNoPqRsTuVwX failed');
      assert.equal(gov, 'POST https://hooks.slack-gov.com/services/*** failed');
    });

    it('masks the bot token in a Telegram Bot API URL', () => {
      const out = sanitise('https://api.telegram.org/bot123456789:AAHk-3dZ_xY9wVq8rT7sU6pO5nM4lK3jI2h/sendMessage');
      assert.equal(out, 'https://api.telegram.org/bot***/sendMessage');
    });

    it('masks the token of a Discord webhook but keeps its id', () => {
      const out = sanitise('https://discord.com/api/webhooks/112233445566778899/Zx-9_yWvU8tSr7QpO6nMlK5jIhG4fEdC3bA2');
      assert.equal(out, 'https://discord.com/api/webhooks/112233445566778899/***');
    });

    it('masks the token-bearing parts of a known secret URL sent to another base (a proxy, a changed apiBaseUrl)', () => {
      const secret = 'https://discord.com/api/webhooks/112233445566778899/Zx-9_yWvU8tSr7QpO6nMlK5jIhG4fEdC3bA2';
      const out = sanitise('POST https://proxy.example/x/webhooks/112233445566778899/Zx-9_yWvU8tSr7QpO6nMlK5jIhG4fEdC3bA2 failed', [secret]);
      assert.equal(out, 'POST https://proxy.example/x/webhooks/***/*** failed');
      // short segments of the secret URL ("api", "webhooks") stay readable
      assert.equal(sanitise('the api webhooks path', [secret]), 'the api webhooks path');
    });

    it('masks the path of a Teams incoming webhook', () => {
      const out = sanitise('https://contoso.webhook.office.com/webhookb2/abc-123@def-456/IncomingWebhook/9a8b7c/0f1e2d');
      assert.equal(out, 'https://contoso.webhook.office.com/webhookb2/***');
    });
  });

  describe('tokens in text', () => {
    it('masks Authorization header values of any scheme', () => {
      assert.equal(sanitise('Authorization: Bearer abc.def-ghi_123'), 'Authorization: Bearer ***');
      assert.equal(sanitise('{"authorization":"Bot MTk4NjIyNDgzNDcx.Cl2FMQ"}'), '{"authorization":"Bot ***"}');
      // Opsgenie's scheme: the key after it is masked, not the word "GenieKey"
      assert.equal(sanitise('Authorization: GenieKey eb243592-faa2-4ba2-a551q-1afdf565c889'), 'Authorization: GenieKey ***');
      assert.equal(sanitise('sent Basic dXNlcjpwYXNzd29yZA== to host'), 'sent Basic *** to host');
    });

    it('keeps ordinary prose that mentions basic or bearer', () => {
      assert.equal(sanitise('Basic authentication failed'), 'Basic authentication failed');
      assert.equal(sanitise('bearer token required'), 'bearer token required');
    });

    it('masks Slack tokens, whsec_ secrets and JWTs', () => {
      const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
      const out = sanitise(`xoxb-1234-5678-AbCdEf and xoxp-99-88 and whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw and ${jwt}`);
      assert.equal(out, 'xoxb-*** and xoxp-*** and whsec_*** and ***');
    });

    it('masks secret-named string fields in echoed JSON but keeps error codes', () => {
      const out = sanitise('{"error":{"code":"BadRequest","access_token":"ya29.a0Af-xyz","password":"hunter2!"}}');
      assert.equal(out, '{"error":{"code":"BadRequest","access_token":"***","password":"***"}}');
    });
  });

  describe('shape', () => {
    it('collapses whitespace to single spaces', () => {
      assert.equal(sanitise('  a\n\n b\t\tc \r\n'), 'a b c');
    });

    it('truncates to maxLength characters ending with an ellipsis', () => {
      const out = sanitise('x'.repeat(50), [], 10);
      assert.equal(out, `${'x'.repeat(9)}…`);
      assert.equal(sanitise('short', [], 10), 'short');
    });

    it('masks before truncating, so a cut never leaves half a secret', () => {
      const secret = 'SECRETVALUE123456';
      const out = sanitise(`abc ${secret}`, [secret], 10);
      assert.equal(out, 'abc ***');
    });
  });

  describe('real leaks', () => {
    it('masks a bearer token that a receiver echoes in its error body', async () => {
      const token = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
      const server = await receiver(401, (req) => `{"message":"invalid credentials","received":"${req.headers.authorization}"}`);
      try {
        const client = createGuardedHttpClient({ timeoutMs: 2000, maxResponseBytes: 4096, allowedNetworks: ['127.0.0.0/8'] });
        const res = await client.request({ method: 'POST', url: server.url, headers: { Authorization: `Bearer ${token}` } });
        assert.ok(res.body.includes(token), 'the receiver should have echoed the token');
        // Caught by the Bearer pattern even when the caller forgets to pass the secret...
        const unknownSecret = outcomeFromResponse(res);
        assertClean(unknownSecret.kind === 'permanent' ? unknownSecret.error : '', [token]);
        // ...and by value when it does.
        assertClean(sanitise(res.body.replace('Bearer ', ''), [token]), [token]);
      } finally {
        server.close();
      }
    });

    it('reduces a real axios error to name, code, status and message, with no header value or token', async () => {
      const headers = { Authorization: 'Bearer tok-AAAA-1111-secret', 'X-Api-Key': 'key-BBBB-2222-secret' };
      const server = await receiver(403, (req) => `denied for ${req.headers['x-api-key']}`);
      try {
        const err = await axios.post(`${server.url}/hook?token=qs-CCCC-3333`, { password: 'body-DDDD-4444' }, { headers }).then(
          () => assert.fail('expected axios to reject a 403'),
          (e: unknown) => e,
        );
        const message = safeErrorMessage(err);
        assert.equal(message, 'AxiosError [ERR_BAD_REQUEST] (HTTP 403): Request failed with status code 403');
        assertClean(message, ['tok-AAAA', 'key-BBBB', 'qs-CCCC', 'body-DDDD']);
      } finally {
        server.close();
      }
    });

    it('reduces a real axios connection error with URL credentials to a safe message', async () => {
      const server = await receiver(200, () => '');
      server.close();
      const err = await axios
        .get(server.url.replace('http://', 'http://ops:pw-EEEE-5555@') + '/?sig=sig-FFFF-6666', {
          headers: { Authorization: 'Basic b3BzOnB3LUVFRUUtNTU1NQ==' },
        })
        .then(
          () => assert.fail('expected a connection error'),
          (e: unknown) => e,
        );
      const message = safeErrorMessage(err, ['pw-EEEE-5555']);
      assert.match(message, /^AxiosError \[ECONNREFUSED\]/);
      assertClean(message, ['pw-EEEE', 'sig-FFFF', 'b3BzOnB3']);
    });
  });

  describe('safeErrorMessage', () => {
    it('reads only name, code, status and message from an error-like object', () => {
      const thing = {
        name: 'ProviderError',
        code: 'channel_not_found',
        status: 404,
        message: 'no such channel',
        config: { headers: { Authorization: 'Bearer leak-1' } },
        toJSON: () => ({ secret: 'leak-2' }),
      };
      assert.equal(safeErrorMessage(thing), 'ProviderError [channel_not_found] (HTTP 404): no such channel');
    });

    it('masks the given secrets inside the message', () => {
      assert.equal(safeErrorMessage(new Error('rejected key abcd-1234'), ['abcd-1234']), 'Error: rejected key ***');
    });

    it('describes strings, primitives and nothing without throwing', () => {
      assert.equal(safeErrorMessage('plain text'), 'plain text');
      assert.equal(safeErrorMessage(42), 'Thrown value: 42');
      assert.equal(safeErrorMessage(undefined), 'Unknown error');
    });

    it('survives an error whose getters throw', () => {
      const hostile = Object.defineProperty({}, 'message', {
        get() {
          throw new Error('nope');
        },
      });
      assert.equal(safeErrorMessage(hostile), 'Unreadable error');
    });
  });
});
