import assert from 'node:assert/strict';
import { PLUGIN_SDK } from '../../providers/plugins';
import { ProviderRegistry } from '../../providers/registry';
import type { DeliveryContext, EventTypeInfo, ProviderDefinition } from '../../providers/types';

const eventType: EventTypeInfo = {
  id: 'incident.created',
  payloadSchema: { type: 'object', properties: { title: { type: 'string' } }, additionalProperties: false },
  example: { title: 'Checkout down' },
};

describe('plugin SDK: templates and sanitising for plugin authors', () => {
  it('renders templates as the built-ins do, and checks their paths against the event type', () => {
    const { buildTemplateView, renderTemplate, renderJsonTemplate, checkTemplatePaths, exampleView, TemplateError } = PLUGIN_SDK;
    const ctx = {
      deliveryId: 'dlv_1',
      subscription: { id: 'sub_1', name: 'ops' },
      event: { id: 'evt_1', type: 'incident.created', displayName: 'Incident created', occurredAt: '2026-12-06T00:00:00.000Z', systemIds: [], payload: { title: 'Checkout down' }, resolves: false },
    } as unknown as Pick<DeliveryContext, 'deliveryId' | 'event' | 'subscription'>;
    const view = buildTemplateView(ctx);
    assert.equal(renderTemplate('/alerts/{{payload.title}}', view, 'url'), '/alerts/Checkout%20down');
    assert.deepEqual(JSON.parse(renderJsonTemplate('{"t": "{{payload.title}}", "p": {{{payload}}}}', view)), { t: 'Checkout down', p: { title: 'Checkout down' } });
    assert.deepEqual(checkTemplatePaths('{{payload.title}}', eventType, 'config.template'), []);
    const problems = checkTemplatePaths('{{payload.nope}}', eventType, 'config.template');
    assert.equal(problems[0]?.path, 'config.template');
    assert.ok(exampleView(eventType));
    assert.ok(new TemplateError('x') instanceof Error);
  });

  it('sanitises with the delivery secrets, and a plugin masks its own secret shapes through `redact`', () => {
    const { sanitise, safeErrorMessage, sanitiseCode } = PLUGIN_SDK;
    assert.equal(sanitise('token pager-secret-value rejected', ['pager-secret-value']), 'token *** rejected');
    assert.equal(safeErrorMessage(new Error('bad pager-secret-value'), ['pager-secret-value']), 'Error: bad ***');
    assert.ok(sanitiseCode('x'.repeat(500)).length <= 100);
    const shape = 'posted to https://pager.example/hooks/AbCdEf0123456789 failed';
    assert.equal(sanitise(shape), shape);
    const plugin: ProviderDefinition = {
      id: 'pager-sdk-test', displayName: 'Pager', description: 'test', followUps: false,
      configSchema: PLUGIN_SDK.z.object({ url: PLUGIN_SDK.z.string() }),
      redact: [{ pattern: /(\/hooks\/)[\w-]+/g, replacement: '$1***' }],
      deliver: async () => ({ kind: 'success' }),
    } as unknown as ProviderDefinition;
    new ProviderRegistry().register(plugin, 'pager@1.0.0');
    assert.equal(sanitise(shape), 'posted to https://pager.example/hooks/*** failed');
  });
});
