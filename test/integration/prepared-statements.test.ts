import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../src/database/open';
import { createDataSource } from '../../entities/data-source';
import { createLogger } from '../../src/logger';
import { preparedQuery, setPreparedStatements } from '../../src/database/prepared';
import { DeliveryLog } from '../../src/deliveries/log';
import { getStack } from '../support/stack';
import { isDatabaseUnavailable } from '../../src/http/problem';

// The delivery path's hot statements run as named prepared statements (src/prepared.ts, issue 22), on one
// pooled connection here so that pg_prepared_statements (per session) shows what that connection holds.
describe('prepared statements (src/prepared.ts)', function () {
  this.timeout(60_000);
  const quiet = createLogger('error', 'prepared');
  let prepared: DataSource;
  let unnamed: DataSource;

  before(async () => {
    const stack = await getStack();
    const url = await stack.createDatabase('prepared_statements');
    // migrated by openDatabase (which needs more than one connection), then one connection per data source
    await (await openDatabase(url, quiet)).destroy();
    const single = async (on: boolean) => {
      const ds = await createDataSource(url, { poolSize: 1 }).initialize();
      setPreparedStatements(ds, on);
      return ds;
    };
    prepared = await single(true);
    unnamed = await single(false);
    await prepared.query('CREATE TABLE prepared_probe (id int PRIMARY KEY, v int)');
  });
  after(async () => {
    await prepared?.destroy();
    await unnamed?.destroy();
  });

  const held = async (ds: DataSource) =>
    ((await ds.query(`SELECT statement FROM pg_prepared_statements WHERE name LIKE 'ih\\_%'`)) as { statement: string }[]).map((r) => r.statement);

  it('prepares a statement once on its connection and runs it again by name with new parameters', async () => {
    const text = 'SELECT $1::int + 1 AS n';
    assert.deepEqual(await preparedQuery(prepared, text, [1]), [{ n: 2 }]);
    assert.deepEqual(await preparedQuery(prepared, text, [41]), [{ n: 42 }]);
    assert.deepEqual((await held(prepared)).filter((s) => s === text), [text], 'the connection holds it once');
  });

  it('sends it unnamed when DB_PREPARED_STATEMENTS is off', async () => {
    const text = 'SELECT $1::int * 2 AS n';
    assert.deepEqual(await preparedQuery(unnamed, text, [21]), [{ n: 42 }]);
    assert.deepEqual(await held(unnamed), []);
  });

  it("runs inside a transaction on the transaction's own connection (it sees the transaction's rows)", async () => {
    await prepared.transaction(async (tx) => {
      await tx.query('INSERT INTO prepared_probe (id, v) VALUES (1, 10)');
      assert.deepEqual(await preparedQuery(tx, 'SELECT v FROM prepared_probe WHERE id = $1', [1]), [{ v: 10 }]);
      throw new Error('roll back');
    }).catch((err: Error) => assert.equal(err.message, 'roll back'));
    assert.deepEqual(await prepared.query('SELECT * FROM prepared_probe'), [], 'rolled back');
  });

  it('keeps working after a migration changes the type of a column it returns', async () => {
    const text = 'SELECT v FROM prepared_probe WHERE id = $1';
    await prepared.query('INSERT INTO prepared_probe (id, v) VALUES (2, 7)');
    assert.deepEqual(await preparedQuery(prepared, text, [2]), [{ v: 7 }]);
    // what a later release's migration may do: the prepared plan's result type no longer holds (SQLSTATE 0A000)
    await prepared.query('ALTER TABLE prepared_probe ALTER COLUMN v TYPE text');
    assert.deepEqual(await preparedQuery(prepared, text, [2]), [{ v: '7' }]);
    // prepared again under a new name: the next call does not fail first
    assert.deepEqual(await preparedQuery(prepared, text, [2]), [{ v: '7' }]);
    assert.equal((await held(prepared)).filter((s) => s === text).length, 2, 'the old statement and the new one, on the same connection');
  });

  it("passes PostgreSQL's errors on with their SQLSTATE (what the log's deterministic-failure handling reads)", async () => {
    const before = await held(prepared);
    await assert.rejects(preparedQuery(prepared, 'INSERT INTO prepared_probe (id, v) VALUES ($1, $2)', [2, 'x']), (err: { code?: string }) => err.code === '23505');
    // an error PostgreSQL answered keeps the connection, and what it has prepared (node-postgres's pool.query drops it)
    const after = await held(prepared);
    assert.ok(before.length > 0 && before.every((s) => after.includes(s)), 'the same connection, its statements kept');
    // the delivery log's write: an attempt of a delivery that does not exist is the DeliveryNotFound failure
    const log = new DeliveryLog(prepared, { get: async () => undefined });
    await assert.rejects(
      log.write({ deliveryId: '00000000-0000-4000-8000-000000000000', attempt: 1, startedAtMs: Date.now(), durationMs: 1, outcome: 'success', trigger: 'scheduled', status: 'success' }),
      /does not exist/,
    );
    assert.equal(await log.load('00000000-0000-4000-8000-000000000000'), undefined);
    assert.ok((await held(prepared)).some((s) => s.includes('FROM deliveries d')), "the attempt's load ran prepared");
  });
  it('survives an error event on its checked-out connection right after the answer (PostgreSQL shutting down): the answer stands, the connection goes', async () => {
    // a pooled client has no error listener while checked out; PostgreSQL's shutdown FATAL arriving just after a
    // statement's answer came out as an unhandled 'error' event and ended the API and the worker (fault suite, scenario 4)
    const pool = (prepared.driver as unknown as { master: import('node:events').EventEmitter }).master;
    let victim: (import('node:events').EventEmitter & { query: (...a: unknown[]) => Promise<unknown>; _ending?: boolean }) | undefined;
    pool.once('acquire', (client) => {
      victim = client;
      const query = client.query.bind(client);
      client.query = (...args: unknown[]) =>
        query(...args).then((r: unknown) => {
          client.emit('error', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }));
          return r;
        });
    });
    const text = 'SELECT pg_backend_pid() AS pid';
    const [{ pid }] = await preparedQuery<{ pid: number }>(prepared, text, []);
    assert.ok(victim, 'the hook saw the checkout');
    assert.equal(victim._ending, true, 'the connection that failed is closed, not put back');
    const [{ pid: next }] = await preparedQuery<{ pid: number }>(prepared, text, []);
    assert.notEqual(next, pid, 'the next call runs on a new connection');
  });

  it('recovers when its connection is killed: at most one call fails as the database unavailable, the next runs on a new connection, prepared again', async () => {
    const text = 'SELECT pg_backend_pid() AS pid';
    const [{ pid }] = await preparedQuery<{ pid: number }>(prepared, text, []);
    await unnamed.query('SELECT pg_terminate_backend($1)', [pid]);
    let failed: unknown;
    try {
      await preparedQuery(prepared, text, []);
    } catch (err) {
      failed = err;
    }
    // the pool may notice the end first (no failure) or hand out the dead client once: then a 503, never a 500
    if (failed !== undefined) assert.equal(isDatabaseUnavailable(failed), true, String(failed));
    const [{ pid: again }] = await preparedQuery<{ pid: number }>(prepared, text, []);
    assert.notEqual(again, pid, 'another connection');
    assert.ok((await held(prepared)).includes(text), 'prepared on it again');
  });
});
