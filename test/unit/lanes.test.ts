import assert from 'node:assert/strict';
import { laneKeyOf, MAX_SUBJECT_CHARS, recordSubject, subjectKeyOf, subjectLockId, subjectValueOf } from '../../src/deliveries/lanes';

describe('lane keys (ordered follow-ups)', () => {
  it('reads the subject from the payload field the event type names: strings and numbers only', () => {
    assert.equal(subjectValueOf('incidentId', { incidentId: 'inc-1' }), 'inc-1');
    assert.equal(subjectValueOf('incidentId', { incidentId: 42 }), '42');
    assert.equal(subjectValueOf('incidentId', { incidentId: { id: 1 } }), undefined);
    assert.equal(subjectValueOf(undefined, { incidentId: 'inc-1' }), undefined);
  });

  it('keys a subject by owner and value, at a fixed length whatever the value', () => {
    const a = subjectKeyOf('incident.created', 'inc-1');
    assert.equal(a, subjectKeyOf('incident.resolved', 'inc-1'), 'every event of the owner shares the subject');
    assert.notEqual(a, subjectKeyOf('maintenance.started', 'inc-1'), 'another owner is another subject');
    assert.match(subjectKeyOf('incident.created', 'x'.repeat(MAX_SUBJECT_CHARS)), /^[0-9a-f]{64}$/);
  });

  it('keeps short follow-up subjects readable and hashes long ones under the 500-character column', () => {
    assert.equal(recordSubject('incident.created', 'inc-1'), 'incident:inc-1');
    const long = recordSubject('incident.created', 'y'.repeat(600));
    assert.match(long, /^sha256:[0-9a-f]{64}$/);
    assert.equal(long, recordSubject('incident.updated', 'y'.repeat(600)), 'stable across the events of a subject');
  });

  it('separates lanes by provider and target, and gives each subject a signed 64-bit lock id', () => {
    const s = subjectKeyOf('incident.created', 'inc-1');
    assert.notEqual(laneKeyOf('slack', 'slack:C1', s), laneKeyOf('slack', 'slack:C2', s));
    assert.notEqual(laneKeyOf('slack', 'x', s), laneKeyOf('discord', 'x', s));
    const lock = BigInt(subjectLockId(s));
    assert.ok(lock >= -(2n ** 63n) && lock < 2n ** 63n);
    assert.equal(subjectLockId(s), subjectLockId(subjectKeyOf('incident.resolved', 'inc-1')));
  });
});
