import assert from 'node:assert/strict';
import { healthOutcomeOf } from '../../src/targets/circuits';
import { isHubEvent } from '../../src/catalogue/hub-events';
import { hubEmissionId } from '../../src/targets/health';
import { BUILTIN_PROVIDERS } from '../../providers';
import { healthTargetOf } from '../../src/targets/key';
import type { ProviderDefinition } from '../../providers/types';

const provider = (id: string): ProviderDefinition => {
  const p = (BUILTIN_PROVIDERS as ProviderDefinition[]).find((d) => d.id === id);
  assert.ok(p, id);
  return p;
};

describe('health targets', () => {
  it('uses the URL origin of a webhook: no path, query or credentials', () => {
    const def = provider('webhook');
    assert.equal(healthTargetOf(def, { url: 'https://user:pw@hooks.example.com:8443/in/abc?sig=secret' }), 'https://hooks.example.com:8443');
  });

  it('tracks no target when the host itself is a template', () => {
    assert.equal(healthTargetOf(provider('webhook'), { url: 'https://{{payload.host}}/in' }), undefined);
  });

  it('prefers a provider\'s own target, then its follow-up target (a Jira project), over the origin', () => {
    const def: ProviderDefinition = { ...provider('webhook'), healthTarget: () => 'custom:target' };
    assert.equal(healthTargetOf(def, { url: 'https://hooks.example.com/x' }), 'custom:target');
    const jira = healthTargetOf(provider('jira'), { projectKey: 'OPS' }, { baseUrl: 'https://acme.atlassian.net', email: 'a@b.c', apiToken: 'tok-secret' });
    assert.ok(jira?.startsWith('jira:') && jira.endsWith(':OPS'), jira);
    assert.ok(!jira!.includes('tok-secret'));
  });

  it('counts only retryable failures the target caused; rate limits and permanent answers are neutral', () => {
    assert.equal(healthOutcomeOf({ outcome: 'success' }), 'ok');
    assert.equal(healthOutcomeOf({ outcome: 'retryable', httpStatus: 503 }), 'failed');
    assert.equal(healthOutcomeOf({ outcome: 'retryable', errorCode: 'timeout' }), 'failed');
    assert.equal(healthOutcomeOf({ outcome: 'retryable', httpStatus: 429 }), 'neutral');
    assert.equal(healthOutcomeOf({ outcome: 'permanent', httpStatus: 400 }), 'neutral');
  });

  it('names hub events and derives stable emission ids from what happened', () => {
    assert.ok(isHubEvent('hub.delivery.exhausted'));
    assert.ok(!isHubEvent('incident.created'));
    assert.equal(hubEmissionId('hub.delivery.exhausted', 'dlv_1:3'), hubEmissionId('hub.delivery.exhausted', 'dlv_1:3'));
    assert.notEqual(hubEmissionId('hub.delivery.exhausted', 'dlv_1:3'), hubEmissionId('hub.delivery.exhausted', 'dlv_1:4'));
    assert.match(hubEmissionId('hub.target.recovered', 'x'), /^hub_[0-9a-f]{40}$/);
  });
});
