import assert from 'node:assert/strict';
import { z } from 'zod';
import { zodProblems } from '../../src/http/validation';
import { jiraConnectionSchema } from '../../providers/jira/config';

describe('zodProblems wording (problem+json field messages)', () => {
  it("says zod's default messages in plain words, and keeps a schema's own message", () => {
    const s = z.object({
      name: z.string().min(1), code: z.string().max(3), kind: z.enum(['x', 'y']), n: z.number().int().min(5),
      key: z.string().regex(/^[A-Z]+$/), tags: z.array(z.string()).min(1), own: z.string().min(1, 'give it a name'),
    });
    const r = s.safeParse({ name: '', code: 'abcd', kind: 'z', n: 2, key: 'ops', tags: [], own: '' });
    assert.ok(!r.success);
    assert.deepEqual(zodProblems(r.error, 'config'), [
      { path: 'config.name', message: 'must not be empty' },
      { path: 'config.code', message: 'must be at most 3 characters long' },
      { path: 'config.kind', message: 'must be one of "x", "y"' },
      { path: 'config.n', message: 'must be at least 5' },
      { path: 'config.key', message: 'does not have the expected form (/^[A-Z]+$/)' },
      { path: 'config.tags', message: 'needs at least 1 item' },
      { path: 'config.own', message: 'give it a name' },
    ]);
  });

  it('names the kind field of a union (Jira flavor) and the values it takes', () => {
    const missing = jiraConnectionSchema.safeParse({ baseUrl: 'https://jira.example.com', email: 'a@b.c', apiToken: 't' });
    assert.ok(!missing.success);
    assert.deepEqual(zodProblems(missing.error, 'config'), [{ path: 'config.flavor', message: 'is missing or not one of the kinds this config takes' }]);
    const u = z.union([z.object({ k: z.literal('p') }), z.object({ k: z.literal('q') })]);
    const r = u.safeParse({ k: 'r' });
    assert.ok(!r.success);
    assert.deepEqual(zodProblems(r.error, 'config'), [{ path: 'config.k', message: 'must be one of "p", "q"' }]);
  });
});
