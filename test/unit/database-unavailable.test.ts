import assert from 'node:assert/strict';
import { QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { isDatabaseUnavailable } from '../../src/http/problem';

describe('isDatabaseUnavailable (503 with Retry-After instead of 500)', () => {
  it('takes connection failures, shutdown and too many connections, also inside a TypeORM driverError or a cause', () => {
    assert.equal(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isDatabaseUnavailable({ message: 'terminating connection due to administrator command', driverError: { code: '57P01' } }), true);
    assert.equal(isDatabaseUnavailable(Object.assign(new Error('sorry, too many clients already'), { code: '53300' })), true);
    assert.equal(isDatabaseUnavailable(new Error('Connection terminated unexpectedly')), true);
    assert.equal(isDatabaseUnavailable(new Error('could not admit the ingest', { cause: Object.assign(new Error('the database system is starting up'), { code: '57P03' }) })), true);
  });

  it("takes TypeORM's released query runner: a transaction whose connection failed between two statements (a fresh-clone fault run's one 500)", () => {
    assert.equal(isDatabaseUnavailable(new QueryRunnerProviderAlreadyReleasedError()), true);
  });

  it('leaves every other error a 500, and a cycle of causes ends', () => {
    assert.equal(isDatabaseUnavailable(Object.assign(new Error('duplicate key value'), { code: '23505' })), false);
    assert.equal(isDatabaseUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')")), false);
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    assert.equal(isDatabaseUnavailable(a), false);
  });
});
