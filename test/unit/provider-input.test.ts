import assert from 'node:assert/strict';
import { z } from 'zod';
import { parseDeliveryInput } from '../../providers/input';
import { SECRET_META } from '../../providers/shared/secret-field';

// The attempt activity parses a subscription's config and connection once with the provider's schemas and
// hands the provider the result; these pin down what that parse gives and how it fails.
describe('parsing a delivery input once', () => {
  const def = {
    displayName: 'Example',
    configSchema: z.strictObject({
      url: z.string().url(),
      method: z.enum(['POST', 'PUT']).default('POST'),
      target: z.string().refine((v) => v !== 'retired', { message: 'is retired', params: { pauseReason: 'The target is retired' } }).optional(),
    }),
    connectionSchema: z.strictObject({ token: z.string().min(8).meta(SECRET_META), baseUrl: z.string().default('https://api.example.com') }),
  };

  it('hands over the schemas\' output, defaults applied', () => {
    const parsed = parseDeliveryInput(def, { url: 'https://example.com/hook' }, { token: 'secret-token-1' });
    assert.deepEqual(parsed, {
      ok: true,
      config: { url: 'https://example.com/hook', method: 'POST' },
      connection: { token: 'secret-token-1', baseUrl: 'https://api.example.com' },
    });
  });

  it('fails an invalid stored config as invalid_config, naming paths and never values', () => {
    const parsed = parseDeliveryInput(def, { url: 'not a url with s3cr3t', method: 'GET' }, undefined);
    assert.deepEqual(parsed, {
      ok: false,
      outcome: { kind: 'permanent', errorCode: 'invalid_config', error: 'Example config is invalid at config.url, config.method' },
    });
  });

  it('pauses the subscription for a config issue that carries a pause reason', () => {
    const parsed = parseDeliveryInput(def, { url: 'https://example.com', target: 'retired' }, undefined);
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.outcome, { kind: 'permanent', errorCode: 'invalid_config', error: 'Example config is invalid at config.target', pauseReason: 'The target is retired' });
  });

  it('fails an invalid connection as invalid_connection and pauses, without the token', () => {
    const parsed = parseDeliveryInput(def, { url: 'https://example.com' }, { token: 'short' });
    assert.ok(!parsed.ok);
    assert.equal(parsed.outcome.kind === 'permanent' && parsed.outcome.errorCode, 'invalid_connection');
    assert.match(parsed.outcome.kind === 'permanent' ? parsed.outcome.pauseReason ?? '' : '', /Example connection is invalid/);
    assert.ok(!JSON.stringify(parsed.outcome).includes('short'));
  });
});
