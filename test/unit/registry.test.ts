import assert from 'node:assert/strict';
import { createBuiltinRegistry } from '../../providers';

describe('provider registry', () => {
  it('holds every built-in provider, each once', () => {
    const ids = createBuiltinRegistry().list().map((p) => p.definition.id);
    assert.deepEqual([...ids].sort(), ['discord', 'email', 'google-chat', 'jira', 'opsgenie', 'pagerduty', 'script', 'slack', 'teams', 'telegram', 'webex', 'webhook']);
  });

  it('registers the shell provider only when an admin enabled it', () => {
    assert.equal(createBuiltinRegistry().get('shell'), undefined);
    assert.ok(createBuiltinRegistry({ shellEnabled: true }).get('shell'));
  });

  it('refuses a second provider with the same id', () => {
    const r = createBuiltinRegistry();
    assert.throws(() => r.register(r.get('webhook')!.definition), /already registered/);
  });
});
