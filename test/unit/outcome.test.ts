import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGuardedHttpClient, OutboundError } from '../../providers/http/guarded-client';
import { outcomeFromError, outcomeFromResponse, parseRetryAfter } from '../../providers/http/outcome';
import type { OutboundResponse } from '../../providers/types';

const NOW = Date.parse('2025-01-01T12:00:00Z');
const response = (status: number, body = '', headers: Record<string, string> = {}): OutboundResponse => ({
  status,
  body,
  headers,
  durationMs: 5,
});

describe('delivery outcome mapping', () => {
  describe('outcomeFromResponse', () => {
    it('treats 2xx as success and keeps the status', () => {
      assert.deepEqual(outcomeFromResponse(response(204)), { kind: 'success', httpStatus: 204 });
    });

    for (const status of [408, 425, 429, 500, 502, 503, 504]) {
      it(`retries a ${status}`, () => {
        const outcome = outcomeFromResponse(response(status, 'busy'));
        assert.equal(outcome.kind, 'retryable');
        assert.equal(outcome.httpStatus, status);
      });
    }

    it('retries a 503 and names the status and a body excerpt in the error', () => {
      const outcome = outcomeFromResponse(response(503, '{"error":"maintenance"}'));
      assert.equal(outcome.kind, 'retryable');
      assert.equal(outcome.kind === 'retryable' && outcome.error, 'HTTP 503: {"error":"maintenance"}');
    });

    it('treats 400 as permanent without pausing the subscription', () => {
      const outcome = outcomeFromResponse(response(400, 'bad payload'));
      assert.equal(outcome.kind, 'permanent');
      assert.equal(outcome.kind === 'permanent' && outcome.pauseReason, undefined);
      assert.match(outcome.kind === 'permanent' ? outcome.error : '', /^HTTP 400: bad payload$/);
    });

    it('treats 410 as permanent and pauses the subscription with a readable reason', () => {
      const outcome = outcomeFromResponse(response(410, ''));
      assert.deepEqual(outcome, {
        kind: 'permanent',
        error: 'HTTP 410: Gone',
        httpStatus: 410,
        pauseReason: 'The receiver answered 410 Gone: the endpoint was removed',
      });
    });

    it('treats a 3xx as permanent because redirects are not followed, naming only the target origin', () => {
      const outcome = outcomeFromResponse(response(301, '', { location: 'https://new.example.com/hook?token=s3cr3t' }));
      assert.equal(outcome.kind, 'permanent');
      const error = outcome.kind === 'permanent' ? outcome.error : '';
      assert.equal(error, 'HTTP 301: redirects are not followed (Location: https://new.example.com)');
    });

    it('retries provider-specific extra statuses such as 409', () => {
      assert.equal(outcomeFromResponse(response(409)).kind, 'permanent');
      assert.equal(outcomeFromResponse(response(409), { extraRetryableStatuses: [409] }).kind, 'retryable');
    });

    it('takes retryAfterMs from Retry-After in seconds', () => {
      const outcome = outcomeFromResponse(response(429, '', { 'retry-after': '120' }), { nowMs: NOW });
      assert.equal(outcome.kind === 'retryable' && outcome.retryAfterMs, 120_000);
    });

    it('takes retryAfterMs from Retry-After as an HTTP-date', () => {
      const outcome = outcomeFromResponse(response(503, '', { 'retry-after': 'Wed, 01 Jan 2025 12:01:30 GMT' }), {
        nowMs: NOW,
      });
      assert.equal(outcome.kind === 'retryable' && outcome.retryAfterMs, 90_000);
    });

    it('ignores Retry-After on permanent outcomes', () => {
      const outcome = outcomeFromResponse(response(400, '', { 'retry-after': '10' }), { nowMs: NOW });
      assert.ok(!('retryAfterMs' in outcome));
    });

    it('keeps the error single-line and the body excerpt to about 200 characters', () => {
      const body = `line one\n\tline two ${'z'.repeat(5000)}`;
      const outcome = outcomeFromResponse(response(500, body));
      const error = outcome.kind === 'retryable' ? outcome.error : '';
      assert.ok(!/[\n\t]/.test(error));
      assert.ok(error.startsWith('HTTP 500: line one line two zzz'));
      assert.ok(error.length <= 'HTTP 500: '.length + 200, `error is ${error.length} characters`);
      assert.ok(error.endsWith('…'));
    });

    it('masks this delivery\'s secret values echoed in the body', () => {
      const outcome = outcomeFromResponse(response(401, 'bad key k-9f8e7d6c5b'), { secrets: ['k-9f8e7d6c5b'] });
      assert.equal(outcome.kind === 'permanent' && outcome.error, 'HTTP 401: bad key ***');
    });

    it('maps a real 429 with Retry-After read through the guarded client', async () => {
      const server = http.createServer((_req, res) => {
        res.writeHead(429, { 'Retry-After': '7' });
        res.end('slow down');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as AddressInfo;
        const client = createGuardedHttpClient({ timeoutMs: 2000, maxResponseBytes: 1024, allowedNetworks: ['127.0.0.0/8'] });
        const outcome = outcomeFromResponse(await client.request({ method: 'POST', url: `http://127.0.0.1:${port}/` }));
        assert.deepEqual(outcome, { kind: 'retryable', error: 'HTTP 429: slow down', httpStatus: 429, retryAfterMs: 7000 });
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });
  });

  describe('parseRetryAfter', () => {
    it('reads delta-seconds', () => assert.equal(parseRetryAfter(' 3 ', NOW), 3000));
    it('reads zero seconds as retry now', () => assert.equal(parseRetryAfter('0', NOW), 0));
    it('reads an IMF-fixdate relative to now', () => {
      assert.equal(parseRetryAfter('Wed, 01 Jan 2025 12:00:10 GMT', NOW), 10_000);
    });
    for (const junk of [undefined, '', '-5', '1.5', 'soon', '10 seconds', 'Wed, 01 Jan 2025 11:59:00 GMT', '2025-01-01']) {
      it(`ignores ${JSON.stringify(junk)}`, () => assert.equal(parseRetryAfter(junk, NOW), undefined));
    }
  });

  describe('outcomeFromError', () => {
    it('treats ssrf_blocked as permanent and keeps the code', () => {
      const outcome = outcomeFromError(new OutboundError('ssrf_blocked', '10.0.0.1 is a private address and not allow-listed'));
      assert.deepEqual(outcome, {
        kind: 'permanent',
        error: '10.0.0.1 is a private address and not allow-listed',
        errorCode: 'ssrf_blocked',
      });
    });

    it('treats invalid_url as permanent', () => {
      assert.equal(outcomeFromError(new OutboundError('invalid_url', 'bad')).kind, 'permanent');
    });

    for (const code of ['timeout', 'dns_failure', 'connection_refused', 'connection_reset', 'tls_error', 'network_error'] as const) {
      it(`retries ${code} and keeps the code`, () => {
        const outcome = outcomeFromError(new OutboundError(code, 'example.com: failed'));
        assert.equal(outcome.kind, 'retryable');
        assert.equal(outcome.kind === 'retryable' && outcome.errorCode, code);
      });
    }

    it('retries an unknown error with an allowlisted, sanitised message', () => {
      const err = Object.assign(new Error('boom at https://u:p4ss@h.example.com/?token=abc'), {
        config: { headers: { Authorization: 'Bearer top-secret-token' } },
      });
      const outcome = outcomeFromError(err);
      assert.deepEqual(outcome, { kind: 'retryable', error: 'Error: boom at https://***@h.example.com/?token=***' });
    });
  });
});
