import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../src/database/open';
import { startEmbeddedPostgres, type EmbeddedPg } from '../../src/dev/embedded-postgres';
import { createApp } from '../../src/http/app';
import { databaseCheck, temporalCheck } from '../../src/http/health';
import { createLogger } from '../../src/logger';
import { freePort } from '../support/ports';
import { getStack } from '../support/stack';

describe('health and readiness', function () {
  this.timeout(120_000);
  // a PostgreSQL of its own, so stopping it does not disturb other suites
  let pg: EmbeddedPg;
  let pgDir: string;
  let pgPort: number;
  let ds: DataSource;
  let server: Server;
  let base: string;

  before(async () => {
    const stack = await getStack();
    pgDir = path.join(stack.tmpDir, 'pg-health');
    pgPort = await freePort();
    pg = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort });
    ds = await openDatabase(pg.url, createLogger('silent', 'test'));
    const app = createApp({
      logger: createLogger('silent', 'test'),
      registry: new Registry(),
      readiness: { database: databaseCheck(ds), temporal: temporalCheck(stack.connection) },
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(async () => {
    server?.close();
    await ds?.destroy().catch(() => undefined);
    await pg?.stop().catch(() => undefined);
    fs.rmSync(pgDir, { recursive: true, force: true });
  });

  it('is ready when PostgreSQL and Temporal answer', async () => {
    const res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ready', checks: { database: { ok: true }, temporal: { ok: true } } });
  });

  it('answers /readyz 503 naming the database while PostgreSQL is down, and /healthz 200', async () => {
    await pg.stop();
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean; error?: string }> };
    assert.equal(body.checks.database.ok, false);
    assert.equal(body.checks.temporal.ok, true);
    assert.doesNotMatch(JSON.stringify(body), /postgres:\/\//);
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
  });

  it('is ready again once PostgreSQL is back', async () => {
    pg = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort });
    let status = 0;
    // the pool reconnects on the next query; poll the condition rather than sleeping
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await fetch(`${base}/readyz`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200);
  });

  it('serves Prometheus metrics', async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  });
});
