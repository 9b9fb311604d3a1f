import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createSecretBox } from '../../src/secrets/crypto';
import { reencryptAll } from '../../src/secrets/rotate';
import { Receiver } from '../fakes/receiver';
import { Hub, waitFor } from '../support/hub';

describe('encryption key rotation', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;
  before(async () => {
    hub = await Hub.start('rotation');
    receiver = await new Receiver().start();
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });

  it('re-encrypts every stored secret under the new key, which alone then decrypts them', async () => {
    const token = 'rotation-bearer-token-31c9';
    const sub = await hub.call('POST', '/subscriptions', {
      name: 'r', provider: 'webhook', event: 'incident.created',
      config: { url: `${receiver.url}/rot`, auth: { type: 'bearer', token } },
    });
    assert.equal(sub.status, 201);
    const oldKey = hub.config.encryption.masterKey;
    const before = (await hub.dataSource.query('SELECT config FROM subscriptions WHERE id = $1', [sub.body.id]))[0].config;
    const newKey = crypto.randomBytes(32).toString('base64url');
    const rotating = createSecretBox([newKey, oldKey]);
    assert.notEqual(before.auth.token.kid, rotating.currentKeyId);

    const counts = await reencryptAll(hub.dataSource, hub.providers, rotating);
    assert.equal(counts.subscriptions, 1);
    const after = (await hub.dataSource.query('SELECT config FROM subscriptions WHERE id = $1', [sub.body.id]))[0].config;
    assert.equal(after.auth.token.kid, rotating.currentKeyId);
    assert.equal(createSecretBox([newKey]).decrypt(after.auth.token), token, 'the new key alone decrypts it');
    assert.ok(!JSON.stringify(after).includes(token));
    assert.deepEqual(await reencryptAll(hub.dataSource, hub.providers, rotating), { subscriptions: 0, connections: 0, skipped: 0 }, 'a second run changes nothing');
    // the running service (old key, no previous keys) cannot read it any more: a clear, sanitised error
    const r = await hub.call('POST', `/subscriptions/${sub.body.id}/test`);
    const d = await waitFor(async () => {
      const x = await hub.call('GET', `/deliveries/${r.body.deliveryId}`);
      return x.body.status === 'failed' ? x.body : undefined;
    }, 'the delivery to fail');
    assert.match(d.error, /kid|key/i);
    assert.ok(!d.error.includes(token));
  });
});
