import assert from 'node:assert/strict';
import { BUILTIN_EVENT_TYPES } from '../../src/catalogue/builtin';
import {
  checkEventId,
  checkEventTypeInput,
  checkJsonSchema,
  eventTypeInputSchema,
  schemaHash,
  validatePayload,
} from '../../src/catalogue/validate';

const byId = (id: string) => {
  const found = BUILTIN_EVENT_TYPES.find((e) => e.id === id);
  assert.ok(found, `built-in ${id} missing`);
  return found;
};

describe('built-in event catalogue', () => {
  it('ships every event type the API contract requires', () => {
    const ids = BUILTIN_EVENT_TYPES.map((e) => e.id);
    for (const id of [
      'incident.created',
      'incident.updated',
      'incident.resolved',
      'maintenance.created',
      'maintenance.updated',
      'maintenance.started',
      'maintenance.completed',
      'healthcheck.system.degraded',
      'healthcheck.system.healthy',
      'healthcheck.state-changed',
    ]) {
      assert.ok(ids.includes(id), `${id} missing`);
    }
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  });

  it('names the owner as the part of the id before the first dot', () => {
    for (const e of BUILTIN_EVENT_TYPES) assert.equal(e.owner, e.id.split('.')[0], e.id);
    assert.equal(byId('healthcheck.system.degraded').owner, 'healthcheck');
  });

  it('uses incidentId, maintenanceId and systemId as subject keys, each a required schema property', () => {
    const expected: Record<string, string> = { incident: 'incidentId', maintenance: 'maintenanceId', healthcheck: 'systemId' };
    for (const e of BUILTIN_EVENT_TYPES) {
      if (e.owner === 'hub') continue;
      assert.equal(e.subjectKey, expected[e.owner], e.id);
      const schema = e.payloadSchema as { properties: Record<string, unknown>; required: string[] };
      assert.ok(e.subjectKey! in schema.properties, e.id);
      assert.ok(schema.required.includes(e.subjectKey!), e.id);
    }
  });

  it('validates every example against its own schema', () => {
    for (const e of BUILTIN_EVENT_TYPES) {
      assert.ok(e.example, `${e.id} has an example`);
      assert.deepEqual(validatePayload(e, e.example), [], e.id);
    }
  });

  it('gives the hub\'s own events their thing as the subject: delivery, subscription or target', () => {
    const expected: Record<string, string> = {
      'hub.delivery.exhausted': 'deliveryId',
      'hub.subscription.paused': 'subscriptionId',
      'hub.subscription.resumed': 'subscriptionId',
      'hub.target.unhealthy': 'target',
      'hub.target.recovered': 'target',
      'hub.plugin.failing': 'pluginId',
    };
    const hub = BUILTIN_EVENT_TYPES.filter((e) => e.owner === 'hub');
    assert.deepEqual(hub.map((e) => e.id).sort(), Object.keys(expected).sort());
    for (const e of hub) {
      assert.equal(e.subjectKey, expected[e.id], e.id);
      assert.ok((e.payloadSchema as { required: string[] }).required.includes(e.subjectKey!), e.id);
    }
    assert.equal(byId('hub.target.recovered').resolves, true);
    assert.equal(byId('hub.subscription.resumed').resolves, true);
  });

  it('gives every example of a system event systemIds or a systemId', () => {
    for (const e of BUILTIN_EVENT_TYPES) {
      if (e.owner === 'hub') continue; // about the hub, not about a system
      const ex = e.example!;
      const ok = (Array.isArray(ex.systemIds) && ex.systemIds.length > 0) || typeof ex.systemId === 'string';
      assert.ok(ok, e.id);
    }
  });

  it('passes the same checks a domain service PUT /events/{id} goes through', () => {
    for (const { id, owner: _owner, ...body } of BUILTIN_EVENT_TYPES) {
      assert.deepEqual(checkEventId(id), [], id);
      const parsed = eventTypeInputSchema.parse(body);
      assert.deepEqual(checkEventTypeInput(parsed), [], id);
    }
  });

  it('keeps payloads open to fields a domain service adds later', () => {
    const e = byId('incident.created');
    assert.deepEqual(validatePayload(e, { ...e.example, escalationPolicy: 'p1', tags: ['db'] }), []);
  });

  it('does not share example objects between entries', () => {
    const created = byId('incident.created').example as { systemIds: string[] };
    const updated = byId('incident.updated').example as { systemIds: string[] };
    assert.notEqual(created.systemIds, updated.systemIds);
  });
});

describe('validatePayload', () => {
  const incident = byId('incident.created');

  it('reports a wrong type at the field path with "must be <type>"', () => {
    const problems = validatePayload(incident, { ...incident.example, title: 42 });
    assert.deepEqual(problems, [{ path: 'payload.title', message: 'must be string' }]);
  });

  it('names a missing required property in the path', () => {
    const { title: _t, ...rest } = incident.example!;
    assert.deepEqual(validatePayload(incident, rest), [{ path: 'payload.title', message: 'is required' }]);
  });

  it('lists the allowed values for a bad enum value', () => {
    const problems = validatePayload(incident, { ...incident.example, severity: 'catastrophic' });
    assert.deepEqual(problems, [{ path: 'payload.severity', message: 'must be one of: critical, major, minor, info' }]);
  });

  it('points into arrays by index', () => {
    const problems = validatePayload(incident, { ...incident.example, systemIds: ['sys-a', 7] });
    assert.deepEqual(problems, [{ path: 'payload.systemIds.1', message: 'must be string' }]);
  });

  it('checks formats: uri and date-time', () => {
    const problems = validatePayload(incident, { ...incident.example, url: 'not a url', createdAt: 'yesterday' });
    assert.deepEqual(problems, [
      { path: 'payload.url', message: 'must be a valid uri' },
      { path: 'payload.createdAt', message: 'must be a valid date-time' },
    ]);
  });

  it('reports every problem at once, not just the first', () => {
    const problems = validatePayload(incident, { severity: 'huge' });
    assert.deepEqual(
      problems.map((p) => p.path).sort(),
      ['payload.incidentId', 'payload.severity', 'payload.title'],
    );
  });

  it('rejects a payload that is not an object at the path "payload"', () => {
    assert.deepEqual(validatePayload(incident, 'hello'), [{ path: 'payload', message: 'must be object' }]);
  });

  it('accepts anything when the event type has no schema', () => {
    assert.deepEqual(validatePayload({ id: 'custom.free' }, { anything: 1 }), []);
  });

  it('unescapes JSON Pointer segments in paths', () => {
    const eventType = { id: 'test.pointer', payloadSchema: { properties: { 'a/b': { type: 'number' } } } };
    assert.deepEqual(validatePayload(eventType, { 'a/b': 'x' }), [{ path: 'payload.a/b', message: 'must be number' }]);
  });

  it('uses the new schema after an event type is updated under the same id', () => {
    const v1 = { id: 'test.replaced', payloadSchema: { type: 'object' } };
    assert.deepEqual(validatePayload(v1, {}), []);
    const v2 = { id: 'test.replaced', payloadSchema: { type: 'object', required: ['ticket'] } };
    assert.deepEqual(validatePayload(v2, {}), [{ path: 'payload.ticket', message: 'is required' }]);
    assert.deepEqual(validatePayload(v1, {}), [], 'and back again');
  });

  it('hashes equal schemas equally regardless of key order', () => {
    assert.equal(
      schemaHash({ type: 'object', properties: { a: { type: 'string', minLength: 1 } } }),
      schemaHash({ properties: { a: { minLength: 1, type: 'string' } }, type: 'object' }),
    );
    assert.notEqual(schemaHash({ type: 'object' }), schemaHash({ type: 'array' }));
  });
});

describe('checkJsonSchema', () => {
  it('accepts a valid draft 2020-12 schema', () => {
    assert.deepEqual(checkJsonSchema(byId('maintenance.created').payloadSchema), []);
  });

  it('points at a keyword with an invalid value', () => {
    const problems = checkJsonSchema({ type: 'object', properties: { severity: { type: 'strin' } } });
    assert.equal(problems.length, 1);
    assert.equal(problems[0].path, 'payloadSchema.properties.severity.type');
    assert.match(problems[0].message, /must be one of: array, boolean, integer, null, number, object, string/);
  });

  it('reports a $ref that does not resolve', () => {
    const problems = checkJsonSchema({ properties: { a: { $ref: '#/$defs/missing' } } });
    assert.equal(problems.length, 1);
    assert.equal(problems[0].path, 'payloadSchema');
    assert.match(problems[0].message, /can't resolve reference #\/\$defs\/missing/);
  });

  it('reports an unknown format instead of silently ignoring it', () => {
    assert.deepEqual(checkJsonSchema({ properties: { at: { type: 'string', format: 'date_time' } } }), [
      { path: 'payloadSchema.properties.at.format', message: 'unknown format "date_time"' },
    ]);
  });

  it('refuses other drafts than 2020-12', () => {
    const problems = checkJsonSchema({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' });
    assert.equal(problems[0].path, 'payloadSchema.$schema');
    assert.match(problems[0].message, /draft 2020-12/);
  });

  it('refuses something that is not a schema object', () => {
    assert.deepEqual(checkJsonSchema([1, 2]), [{ path: 'payloadSchema', message: 'must be a JSON Schema object' }]);
  });

  it('allows extension keywords such as x-secret and descriptions', () => {
    assert.deepEqual(checkJsonSchema({ type: 'object', 'x-owner-note': 'ok', properties: { a: { 'x-secret': true } } }), []);
  });
});

describe('PUT /events/{id} body', () => {
  const schema = {
    type: 'object',
    properties: { ticketId: { type: 'string' }, priority: { enum: ['p1', 'p2'] } },
    required: ['ticketId'],
  };

  it('rejects unknown fields (typos)', () => {
    const result = eventTypeInputSchema.safeParse({ displayName: 'X', description: '', payloadschema: {} });
    assert.equal(result.success, false);
    assert.deepEqual(result.error!.issues[0].code, 'unrecognized_keys');
  });

  it('accepts a minimal body with only displayName and description', () => {
    const parsed = eventTypeInputSchema.parse({ displayName: 'Ticket opened', description: '' });
    assert.deepEqual(checkEventTypeInput(parsed), []);
  });

  it('reports an example that does not match the schema under "example"', () => {
    const problems = checkEventTypeInput({
      displayName: 'Ticket opened',
      description: '',
      payloadSchema: schema,
      example: { ticketId: 't-1', priority: 'urgent' },
    });
    assert.deepEqual(problems, [{ path: 'example.priority', message: 'must be one of: p1, p2' }]);
  });

  it('reports a subjectKey that is not a property of the schema', () => {
    const problems = checkEventTypeInput({ displayName: 'T', description: '', payloadSchema: schema, subjectKey: 'ticket' });
    assert.deepEqual(problems, [{ path: 'subjectKey', message: 'must name a property of payloadSchema' }]);
  });

  it('does not take an inherited name such as "constructor" for a schema property', () => {
    const problems = checkEventTypeInput({ displayName: 'T', description: '', payloadSchema: schema, subjectKey: 'constructor' });
    assert.deepEqual(problems, [{ path: 'subjectKey', message: 'must name a property of payloadSchema' }]);
  });

  it('reports an example without the subject value', () => {
    const problems = checkEventTypeInput({ displayName: 'T', description: '', subjectKey: 'ticketId', example: { a: 1 } });
    assert.deepEqual(problems, [{ path: 'example.ticketId', message: 'is required (it is the subjectKey)' }]);
  });

  it('reports an invalid payloadSchema before looking at the example', () => {
    const problems = checkEventTypeInput({
      displayName: 'T',
      description: '',
      payloadSchema: { type: 7 },
      example: { a: 1 },
    });
    assert.deepEqual(problems.map((p) => p.path), ['payloadSchema.type']);
  });

  it('accepts owner.name ids and refuses others', () => {
    assert.deepEqual(checkEventId('tickets.opened'), []);
    assert.deepEqual(checkEventId('healthcheck.system.degraded'), []);
    for (const bad of ['tickets', 'Tickets.Opened', '.opened', 'tickets..opened', 'tickets.opened!']) {
      assert.equal(checkEventId(bad).length, 1, bad);
    }
  });
});
