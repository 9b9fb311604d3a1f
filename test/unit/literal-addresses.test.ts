import assert from 'node:assert/strict';
import { createAddressPolicy } from '../../providers/http/address-policy';
import { refusedLiteralAddresses } from '../../providers/http/literal-addresses';

describe('refusedLiteralAddresses (save-time check of the outbound policy)', () => {
  const strict = createAddressPolicy([]);

  it('names each field whose URL is a literal address the policy refuses, and says why', () => {
    const problems = refusedLiteralAddresses(
      {
        url: 'http://169.254.169.254/latest/meta-data/',
        auth: { type: 'bearer', token: 'x' },
        list: ['https://example.com', 'http://10.1.2.3:8080/hook'],
        nested: { apiBaseUrl: 'http://[::1]:9000' },
        decimal: 'http://2852039166/', // 169.254.169.254 written as one number
        local: 'http://localhost:3000/x',
      },
      'config',
      strict,
    );
    assert.deepEqual(problems.map((p) => p.path), ['config.url', 'config.list.1', 'config.nested.apiBaseUrl', 'config.decimal', 'config.local']);
    assert.match(problems[0].message, /^points at 169\.254\.169\.254, a link-local \/ cloud metadata address the outbound policy refuses/);
    assert.match(problems[1].message, /10\.1\.2\.3, a private address/);
    assert.match(problems[2].message, /::1, a loopback address/);
  });

  it('leaves hostnames, templates, non-URLs and allow-listed networks alone', () => {
    const config = {
      url: 'https://hooks.example.com/x',
      templated: 'https://{{payload.host}}/x',
      script: "fetch('http://169.254.169.254/')",
      host: '10.0.0.1',
      public: 'http://93.184.215.14/',
    };
    assert.deepEqual(refusedLiteralAddresses(config, 'config', strict), []);
    const tests = createAddressPolicy(['127.0.0.0/8', 'localhost']);
    assert.deepEqual(refusedLiteralAddresses({ a: 'http://127.0.0.1:4000/hook', b: 'http://localhost:1/' }, 'config', tests), []);
    assert.equal(refusedLiteralAddresses({ a: 'http://169.254.169.254/' }, 'config', tests).length, 1);
  });

  it('never repeats the rest of the value (a secret URL stays secret)', () => {
    const [p] = refusedLiteralAddresses({ webhookUrl: 'http://10.0.0.9/services/T0/B0/very-secret' }, 'config', strict);
    assert.ok(!p.message.includes('very-secret'), p.message);
  });
});
