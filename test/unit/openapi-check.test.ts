import assert from 'node:assert/strict';
import { OpenApiChecker } from '../support/openapi-check';

const doc = {
  openapi: '3.1.0',
  components: { schemas: { Thing: { type: 'object', properties: { id: { type: 'string' }, at: { type: 'string', format: 'date-time' } }, required: ['id'], additionalProperties: false } } },
  paths: {
    '/things/{id}': {
      get: {
        responses: {
          200: { description: 'one', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
          default: { description: 'Error', content: { 'application/problem+json': { schema: { type: 'object', required: ['status'] } } } },
        },
      },
      delete: { responses: { 204: { description: 'gone' } } },
    },
    '/things/stats': { get: { responses: { 200: { description: 'stats', content: { 'application/json': { schema: { type: 'object', required: ['total'] } } } } } } },
  },
};

describe('OpenApiChecker (the API tests check every answer against the served document)', () => {
  const checker = new OpenApiChecker(doc);
  const json = 'application/json; charset=utf-8';

  it('accepts answers that match, with $refs into components and a literal path before a parameter', () => {
    assert.deepEqual(checker.problems({ method: 'GET', path: '/things/t1?x=1', status: 200, contentType: json, body: { id: 't1', at: '2026-01-01T00:00:00Z' } }), []);
    assert.deepEqual(checker.problems({ method: 'GET', path: '/things/stats', status: 200, contentType: json, body: { total: 1 } }), []);
    assert.deepEqual(checker.problems({ method: 'GET', path: '/things/t1', status: 404, contentType: 'application/problem+json', body: { status: 404 } }), []);
    assert.deepEqual(checker.problems({ method: 'DELETE', path: '/things/t1', status: 204, contentType: null, body: undefined }), []);
  });

  it('fails a route, method or status the document does not have', () => {
    assert.match(checker.problems({ method: 'GET', path: '/nothing', status: 200, contentType: json, body: {} })[0], /no GET operation/);
    assert.match(checker.problems({ method: 'POST', path: '/things/t1', status: 200, contentType: json, body: {} })[0], /no POST operation/);
    assert.match(checker.problems({ method: 'GET', path: '/things/t1', status: 201, contentType: json, body: { id: 'x' } })[0], /status 201 is not documented/);
    assert.match(checker.problems({ method: 'DELETE', path: '/things/t1', status: 404, contentType: 'application/problem+json', body: { status: 404 } })[0], /status 404 is not documented/);
  });

  it('fails a wrong content type, an undocumented body and a body off its schema', () => {
    assert.match(checker.problems({ method: 'GET', path: '/things/t1', status: 400, contentType: json, body: { status: 400 } })[0], /content type "application\/json"/);
    assert.match(checker.problems({ method: 'DELETE', path: '/things/t1', status: 204, contentType: json, body: { id: 'x' } })[0], /documents no body/);
    const off = checker.problems({ method: 'GET', path: '/things/t1', status: 200, contentType: json, body: { id: 1, extra: true, at: 'yesterday' } });
    assert.ok(off.some((p) => /body\/id must be string/.test(p)), off.join('\n'));
    assert.ok(off.some((p) => /additional properties/.test(p)), off.join('\n'));
    assert.ok(off.some((p) => /body\/at must match format "date-time"/.test(p)), off.join('\n'));
  });
});
