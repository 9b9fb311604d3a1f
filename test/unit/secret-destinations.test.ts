import assert from 'node:assert/strict';
import { z } from 'zod';
import { PLUGIN_SDK } from '../../providers/plugins';
import { ProviderRegistry } from '../../providers/registry';
import { createBuiltinRegistry } from '../../providers';
import { destinationOf, secretsLeftBehind } from '../../src/secrets/destinations';
import { keptSecrets } from '../../src/secrets/fields';

describe('secret destinations', () => {
  it('compares URLs by origin, templated hosts as written, anything else as a whole', () => {
    assert.equal(destinationOf('https://Example.com:443/a?b=1'), destinationOf('https://example.com/other'));
    assert.notEqual(destinationOf('https://example.com/a'), destinationOf('http://example.com/a'));
    assert.notEqual(destinationOf('https://example.com/a'), destinationOf('https://example.com:8443/a'));
    assert.equal(destinationOf('https://hooks.example.com/{{payload.id}}'), 'https://hooks.example.com');
    assert.notEqual(destinationOf('https://{{payload.a}}.example.com/x'), destinationOf('https://{{payload.b}}.example.com/x'));
    assert.equal(destinationOf('https://{{payload.a}}.example.com/x'), destinationOf('https://{{payload.a}}.example.com/y'));
    assert.notEqual(destinationOf('async function deliver() {}'), destinationOf('async function deliver() { fetch(x) }'));
    assert.notEqual(destinationOf(undefined), destinationOf('https://example.com'));
  });

  it('finds the secrets a merge keeps, by concrete path', () => {
    const stored = { auth: { token: 't' }, signing: { secrets: ['a', 'b'] }, secrets: { A: '1', B: '2' } };
    const patch = { auth: {}, signing: { secrets: [{ set: true }, 'new'] }, secrets: { A: { set: true }, B: 'fresh' } };
    assert.deepEqual(
      keptSecrets(stored, patch, ['auth.token', 'signing.secrets', 'secrets.*']).map((k) => k.path).sort(),
      ['auth.token', 'secrets.A', 'signing.secrets.0'],
    );
  });

  it('names each kept secret bound to a moved field, and nothing when only the path moved or the secret was given', () => {
    const bindings = { 'auth.token': ['url'], 'secrets.*': ['source'] };
    const stored = { url: 'https://a.example/x', auth: { token: 't' }, source: 's', secrets: { K: 'v' } };
    const patch = (over: Record<string, unknown>) => ({ url: 'https://a.example/x', auth: {}, source: 's', secrets: { K: { set: true } }, ...over });
    const run = (p: Record<string, unknown>) => secretsLeftBehind(stored, p, { ...stored, ...p }, bindings).map((e) => e.path);
    assert.deepEqual(run(patch({ url: 'https://a.example/y?z=1' })), []);
    assert.deepEqual(run(patch({ url: 'https://b.example/x' })), ['config.auth.token']);
    assert.deepEqual(run(patch({ url: 'https://b.example/x', auth: { token: 'new' } })), []);
    assert.deepEqual(run(patch({ source: 'changed' })), ['config.secrets.K']);
    assert.deepEqual(run(patch({ url: 'https://b.example/x', source: 'changed' })).sort(), ['config.auth.token', 'config.secrets.K']);
  });

  it('reads bindings from the schema (x-bound-to) of built-ins and of plugins using sdk.secretMeta', () => {
    const builtins = createBuiltinRegistry({ shellEnabled: true });
    assert.deepEqual(builtins.get('webhook')!.secretBindings, { 'auth.password': ['url'], 'auth.token': ['url'], 'auth.value': ['url'] });
    for (const id of ['telegram', 'webex', 'slack']) assert.deepEqual(builtins.get(id)!.connectionSecretBindings, { botToken: ['apiBaseUrl'] }, id);
    assert.deepEqual(builtins.get('jira')!.connectionSecretBindings, { apiToken: ['baseUrl'], personalAccessToken: ['baseUrl'] });
    assert.deepEqual(builtins.get('teams')!.connectionSecretBindings, { clientSecret: ['authorityBaseUrl', 'graphBaseUrl'] });
    assert.deepEqual(builtins.get('script')!.secretBindings, { 'secrets.*': ['source'] });
    assert.deepEqual(builtins.get('shell')!.secretBindings, { 'env.*': ['command'] });

    const registry = new ProviderRegistry();
    const { z: sdkZ, secretMeta } = PLUGIN_SDK;
    assert.equal(sdkZ, z);
    const entry = registry.register({
      id: 'pager',
      displayName: 'Pager',
      description: '',
      followUps: false,
      configSchema: z.strictObject({ endpoint: z.string(), key: z.string().meta(secretMeta({ boundTo: ['endpoint'] })), unbound: z.string().meta(secretMeta()) }),
      deliver: async () => ({ kind: 'success' }),
    });
    assert.deepEqual(entry.secretPaths, ['key', 'unbound']);
    assert.deepEqual(entry.secretBindings, { key: ['endpoint'] });
  });
});
