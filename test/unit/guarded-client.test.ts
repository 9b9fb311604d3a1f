import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createAddressPolicy } from '../../providers/http/address-policy';
import { createGuardedHttpClient, OutboundError, type OutboundErrorCode } from '../../providers/http/guarded-client';

interface LocalServer {
  url: string;
  port: number;
  requests: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }>;
  connections: number;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 with a random port that records every request it gets. */
async function startServer(handler: http.RequestListener = (_req, res) => res.end('ok')): Promise<LocalServer> {
  const server = http.createServer();
  const state: LocalServer = {
    url: '',
    port: 0,
    requests: [],
    connections: 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => state.connections++);
  server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  return state;
}

const LOOPBACK = ['127.0.0.0/8'];
const client = (allowedNetworks: string[] = LOOPBACK, extra: { timeoutMs?: number; maxResponseBytes?: number } = {}) =>
  createGuardedHttpClient({ timeoutMs: 2000, maxResponseBytes: 64 * 1024, allowedNetworks, ...extra });

async function rejection(promise: Promise<unknown>): Promise<OutboundError> {
  const err = await promise.then(
    () => assert.fail('expected the request to be rejected'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof OutboundError, `expected an OutboundError, got ${String(err)}`);
  return err;
}

async function assertCode(promise: Promise<unknown>, code: OutboundErrorCode, retryable: boolean): Promise<OutboundError> {
  const err = await rejection(promise);
  assert.equal(err.code, code, err.message);
  assert.equal(err.retryable, retryable);
  return err;
}

describe('guarded HTTP client', () => {
  const servers: LocalServer[] = [];
  const serve = async (handler?: http.RequestListener) => {
    const s = await startServer(handler);
    servers.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  describe('SSRF protection', () => {
    it('reaches a loopback server when 127.0.0.0/8 is allow-listed', async () => {
      const server = await serve();
      const res = await client().request({ method: 'GET', url: `${server.url}/ping` });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'ok');
      assert.equal(server.requests[0]?.url, '/ping');
    });

    it('refuses a loopback server that is not allow-listed, without sending anything', async () => {
      const server = await serve();
      const err = await assertCode(client([]).request({ method: 'GET', url: server.url }), 'ssrf_blocked', false);
      assert.match(err.message, /loopback/);
      assert.equal(server.connections, 0);
    });

    const literals = [
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[64:ff9b::7f00:1]/',
      'http://0.0.0.0/',
      'http://10.1.2.3/',
      'http://100.64.0.1/',
      'http://0x7f000001/',
      'http://127.1/',
      'http://[fd00::1]/',
      'http://[fe80::1]/',
      'http://224.0.0.1/',
      'http://255.255.255.255/',
    ];
    for (const url of literals) {
      it(`refuses ${url} as ssrf_blocked before connecting`, async () => {
        await assertCode(client([], { timeoutMs: 500 }).request({ method: 'GET', url }), 'ssrf_blocked', false);
      });
    }

    it('refuses a hostname that resolves to loopback (localhost), checked in the connect-time lookup', async () => {
      const server = await serve();
      const err = await assertCode(
        client([]).request({ method: 'GET', url: `http://localhost:${server.port}/` }),
        'ssrf_blocked',
        false,
      );
      assert.match(err.message, /^localhost resolves to /);
      assert.equal(server.connections, 0);
    });

    it('checks https hosts in the same connect-time lookup', async () => {
      const server = await serve();
      await assertCode(client([]).request({ method: 'GET', url: `https://localhost:${server.port}/` }), 'ssrf_blocked', false);
      assert.equal(server.connections, 0);
    });

    it('reaches localhost when the hostname itself is allow-listed', async () => {
      const server = await serve();
      const res = await client(['localhost']).request({ method: 'GET', url: `http://localhost:${server.port}/` });
      assert.equal(res.status, 200);
      assert.equal(server.requests.length, 1);
    });

    it('rejects a malformed allow-list entry when the client is built', () => {
      assert.throws(() => client(['10.0.0.0/33']), /not a valid CIDR/);
      assert.throws(() => client(['10.0.0.0/8/1']), /not a valid CIDR/);
      assert.throws(() => client(['http://x/']), /neither a CIDR/);
    });
  });

  describe('address policy', () => {
    const policy = createAddressPolicy([]);
    const refused = [
      '127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '100.64.0.1', '169.254.169.254', '0.0.0.0',
      '192.0.2.1', '198.18.0.1', '224.0.0.251', '240.0.0.1', '255.255.255.255', '::', '::1', '::ffff:7f00:1',
      '::ffff:10.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b:1::1', 'fc00::1', 'fd12:3456::1', 'fe80::1%eth0',
      'fec0::1', 'ff02::1', '100::1', '2001:db8::1', '2001::1', '2002:7f00:1::1', '::127.0.0.1',
    ];
    for (const address of refused) {
      it(`refuses ${address}`, () => assert.ok(policy.blockedReason(address), `${address} was allowed`));
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
      it(`allows public ${address}`, () => assert.equal(policy.blockedReason(address), undefined));
    }
    it('lets allow-listed networks through, in IPv4, IPv6 and mapped form', () => {
      const p = createAddressPolicy(['10.0.0.0/8', 'fd00::/8', '169.254.169.254']);
      assert.equal(p.blockedReason('10.9.8.7'), undefined);
      assert.equal(p.blockedReason('::ffff:10.9.8.7'), undefined);
      assert.equal(p.blockedReason('fd00::5'), undefined);
      assert.equal(p.blockedReason('169.254.169.254'), undefined);
      assert.ok(p.blockedReason('169.254.169.253'));
      assert.ok(p.blockedReason('192.168.0.1'));
    });
  });

  describe('URLs', () => {
    for (const url of ['ftp://example.com/x', 'file:///etc/passwd', 'not a url', 'gopher://127.0.0.1/']) {
      it(`refuses ${url} as a permanent invalid_url`, async () => {
        await assertCode(client().request({ method: 'GET', url }), 'invalid_url', false);
      });
    }
  });

  describe('redirects', () => {
    it('returns a 302 as a response and never requests its target', async () => {
      const target = await serve();
      const origin = await serve((_req, res) => {
        res.writeHead(302, { Location: `${target.url}/moved` });
        res.end();
      });
      const res = await client().request({ method: 'POST', url: origin.url, body: '{}' });
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, `${target.url}/moved`);
      assert.equal(origin.requests.length, 1);
      assert.equal(target.connections, 0);
    });
  });

  describe('timeouts', () => {
    it('rejects with a retryable timeout when the server never answers', async () => {
      const server = await serve(() => undefined);
      const started = Date.now();
      await assertCode(client(LOOPBACK, { timeoutMs: 200 }).request({ method: 'GET', url: server.url }), 'timeout', true);
      assert.ok(Date.now() - started < 2000, 'took far longer than the timeout');
    });

    it('rejects with a timeout when the body stalls after the headers (the deadline covers the whole exchange)', async () => {
      const server = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('partial');
      });
      await assertCode(
        client(LOOPBACK, { timeoutMs: 5000 }).request({ method: 'GET', url: server.url, timeoutMs: 300 }),
        'timeout',
        true,
      );
    });
  });

  describe('response size cap', () => {
    it('truncates a body larger than maxResponseBytes and keeps the status', async () => {
      const server = await serve((_req, res) => res.end('x'.repeat(50_000)));
      const res = await client(LOOPBACK, { maxResponseBytes: 1000 }).request({ method: 'GET', url: server.url });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'x'.repeat(1000));
    });

    it('applies the cap after decompression, so a gzip bomb stays small', async () => {
      const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 'a'));
      const server = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Encoding': 'gzip' });
        res.end(bomb);
      });
      const res = await client(LOOPBACK, { maxResponseBytes: 2048 }).request({ method: 'GET', url: server.url });
      assert.equal(res.body.length, 2048);
    });

    it('returns a body exactly at the cap whole', async () => {
      const server = await serve((_req, res) => res.end('y'.repeat(1000)));
      const res = await client(LOOPBACK, { maxResponseBytes: 1000 }).request({ method: 'GET', url: server.url });
      assert.equal(res.body, 'y'.repeat(1000));
    });
  });

  describe('transport failures', () => {
    it('maps a closed port to a retryable connection_refused naming only the host', async () => {
      const server = await serve();
      const url = `http://admin:hunter2secret@127.0.0.1:${server.port}/hook?token=abc123secret`;
      await server.close();
      const err = await assertCode(
        client().request({ method: 'POST', url, headers: { Authorization: 'Bearer tok_live_999' }, body: 'payload-xyz' }),
        'connection_refused',
        true,
      );
      assert.equal(err.message, '127.0.0.1: connection refused');
      // No reference to the axios error, its config or the request survives on the error.
      assert.deepEqual(Object.keys(err).sort(), ['code', 'name', 'retryable']);
      assert.equal((err as { cause?: unknown }).cause, undefined);
      for (const leak of ['hunter2secret', 'abc123secret', 'tok_live_999', 'payload-xyz']) {
        assert.ok(!String(err.stack).includes(leak), `stack leaks ${leak}`);
      }
    });

    it('maps a connection dropped mid-response to a retryable connection_reset', async () => {
      const server = await serve((req) => req.socket.destroy());
      await assertCode(client().request({ method: 'GET', url: server.url }), 'connection_reset', true);
    });

    it('maps a failed TLS handshake (https to a plain-HTTP port) to a retryable tls_error', async () => {
      const server = await serve();
      await assertCode(client().request({ method: 'GET', url: `https://127.0.0.1:${server.port}/` }), 'tls_error', true);
    });

    it('maps an unresolvable hostname to a retryable dns_failure', async () => {
      await assertCode(
        client([]).request({ method: 'GET', url: 'http://no-such-host.invalid/' }),
        'dns_failure',
        true,
      );
    });
  });

  describe('wire behaviour', () => {
    it('sends method, headers and body as given, with a default User-Agent and no invented content-type', async () => {
      const server = await serve((_req, res) => res.end());
      await client().request({ method: 'PUT', url: `${server.url}/x?a=1`, headers: { 'webhook-id': 'd-1' }, body: 'raw body' });
      const seen = server.requests[0];
      assert.equal(seen.method, 'PUT');
      assert.equal(seen.url, '/x?a=1');
      assert.equal(seen.body, 'raw body');
      assert.equal(seen.headers['webhook-id'], 'd-1');
      assert.equal(seen.headers['user-agent'], 'integrations-hub');
      assert.equal(seen.headers['content-type'], undefined);
    });

    it("sends the caller's content-type and user-agent instead of the defaults", async () => {
      const server = await serve((_req, res) => res.end());
      const headers = { 'content-type': 'application/json', 'User-Agent': 'custom/1' };
      await client().request({ method: 'POST', url: server.url, headers, body: Buffer.from('{}') });
      assert.equal(server.requests[0].headers['content-type'], 'application/json');
      assert.equal(server.requests[0].headers['user-agent'], 'custom/1');
      assert.equal(server.requests[0].body, '{}');
    });

    it('returns response headers lower-cased as plain strings', async () => {
      const server = await serve((_req, res) => {
        res.setHeader('X-Custom-Thing', 'Value');
        res.setHeader('Set-Cookie', ['a=1', 'b=2']);
        res.end('{}');
      });
      const res = await client().request({ method: 'GET', url: server.url });
      assert.equal(res.headers['x-custom-thing'], 'Value');
      assert.equal(res.headers['set-cookie'], 'a=1, b=2');
      assert.equal(typeof res.durationMs, 'number');
    });

    it('reuses one keep-alive connection for consecutive requests to the same host', async () => {
      const server = await serve();
      const c = client();
      await c.request({ method: 'GET', url: server.url });
      await c.request({ method: 'GET', url: server.url });
      assert.equal(server.requests.length, 2);
      assert.equal(server.connections, 1);
    });

    it('resolves with error statuses instead of rejecting', async () => {
      const server = await serve((_req, res) => {
        res.statusCode = 503;
        res.end('down');
      });
      const res = await client().request({ method: 'GET', url: server.url });
      assert.deepEqual([res.status, res.body], [503, 'down']);
    });
  });
});
