import assert from 'node:assert/strict';
import { healthOutcomeOf } from '../../src/targets/circuits';
import { isHubEvent } from '../../src/catalogue/hub-events';
import { hubEmissionId } from '../../src/targets/health';
import { BUILTIN_PROVIDERS } from '../../providers';
import { boundedTargetKey, TARGET_KEY_MAX, targetKeyOf } from '../../src/targets/key';
import type { ProviderDefinition } from '../../providers/types';

const provider = (id: string): ProviderDefinition => {
  const p = (BUILTIN_PROVIDERS as ProviderDefinition[]).find((d) => d.id === id);
  assert.ok(p, id);
  return p;
};

describe('target keys (circuits, rate limits and GET /targets share one)', () => {
  it('uses the URL origin of a webhook: no path, query or credentials', () => {
    const def = provider('webhook');
    assert.equal(targetKeyOf(def, { url: 'https://user:pw@hooks.example.com:8443/in/abc?sig=secret' }), 'https://hooks.example.com:8443');
  });

  it('tracks no target when the host itself is a template', () => {
    assert.equal(targetKeyOf(provider('webhook'), { url: 'https://{{payload.host}}/in' }), undefined);
  });

  it('prefers a provider\'s own target, then its follow-up target (a Jira project), over the origin', () => {
    const def: ProviderDefinition = { ...provider('webhook'), healthTarget: () => 'custom:target' };
    assert.equal(targetKeyOf(def, { url: 'https://hooks.example.com/x' }), 'custom:target');
    const jira = targetKeyOf(provider('jira'), { projectKey: 'OPS' }, { baseUrl: 'https://acme.atlassian.net', email: 'a@b.c', apiToken: 'tok-secret' });
    assert.ok(jira?.startsWith('jira:') && jira.endsWith(':OPS'), jira);
    assert.ok(!jira!.includes('tok-secret'));
  });

  it('keys an incoming webhook (Slack, Teams workflow, Google Chat) by the origin of its webhookUrl, never its secret path', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['slack', { webhookUrl: 'https://hooks.slack.com/services/T000/B000/hookSecretPart' }, 'https://hooks.slack.com'],
      ['teams', { mode: 'workflow', webhookUrl: 'https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=sigSecret' }, 'https://prod-01.westeurope.logic.azure.com'],
    ];
    for (const [id, config, want] of cases) assert.equal(targetKeyOf(provider(id), config), want, id);
    const chat = targetKeyOf(provider('google-chat'), { webhookUrl: 'https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k&token=chatSecret' });
    assert.ok(chat && !chat.includes('chatSecret') && !chat.includes('key=k'), chat);
  });

  it('bounds a long key to the stored width, keeping long keys that share a prefix apart', () => {
    const short = 'x'.repeat(TARGET_KEY_MAX);
    assert.equal(boundedTargetKey(short), short);
    const a = boundedTargetKey(`${'x'.repeat(600)}a`);
    const b = boundedTargetKey(`${'x'.repeat(600)}b`);
    assert.equal(Array.from(a).length, TARGET_KEY_MAX);
    assert.notEqual(a, b);
    assert.match(a, /^x{483}#[0-9a-f]{16}$/);
    // counted in code points, as PostgreSQL counts varchar characters
    assert.equal(Array.from(boundedTargetKey('😀'.repeat(TARGET_KEY_MAX))).length, TARGET_KEY_MAX);
    const long = targetKeyOf({ followUpTarget: () => `slack:${'C'.repeat(700)}` }, {});
    assert.equal(long?.length, TARGET_KEY_MAX);
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
