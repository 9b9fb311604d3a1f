import assert from 'node:assert/strict';
import fs from 'node:fs';
import { shellProvider } from '../../providers/shell';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { getStack } from '../support/stack';

const API_KEY = 'shell-api-key-8e41c07d2a';
const SERVER_ONLY = {
  ENCRYPTION_MASTER_KEY: 'process-env-master-key-never-in-commands',
  DATABASE_URL: 'postgres://hub:process-env-db-password@db:5432/hub',
};

/** True once `pid` is gone (or a zombie nobody has reaped yet). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

describe('shell provider through the pipeline (real Temporal, PostgreSQL, /bin/sh)', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;

  before(async () => {
    hub = await Hub.start('provider_shell', {}, [shellProvider]);
    receiver = await new Receiver().start();
    Object.assign(process.env, SERVER_ONLY); // as a deployment would have them
  });
  after(async () => {
    for (const name of Object.keys(SERVER_ONLY)) delete process.env[name];
    await hub?.close();
    await receiver?.stop();
  });
  beforeEach(() => {
    receiver.received.length = 0;
  });
  afterEach(() => hub.dataSource.query('DELETE FROM subscriptions'));

  async function subscribe(command: string, config: Record<string, unknown> = {}, scheduleMs = [200, 200, 200]) {
    const res = await hub.call('POST', '/subscriptions', {
      name: 'shell sub',
      provider: 'shell',
      event: 'incident.created',
      config: { command, ...config },
      retryPolicy: { scheduleMs },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string };
  }

  async function ingest(id: string): Promise<string> {
    const res = await hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: `Outage ${id}`, severity: 'major', systemIds: ['sys-a'] } }, INGEST_TOKEN);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.deliveries[0].id as string;
  }

  async function finished(deliveryId: string, status: 'success' | 'failed') {
    return waitFor(async () => {
      const d = await hub.call('GET', `/deliveries/${deliveryId}`);
      return d.body.status === status ? d.body : undefined;
    }, `delivery ${deliveryId} to be ${status}`, 30_000);
  }

  it('runs the command with only the event and its own env: curl with the secret, external id from stdout, no server secret, secret nowhere stored', async () => {
    const sub = await subscribe(
      [
        'echo "using key $API_KEY" >&2',
        `curl -fsS -X POST -H "x-api-key: $API_KEY" -H "content-type: application/json" --data "$EVENT_PAYLOAD" ${receiver.url}/shell >/dev/null || exit 75`,
        `env | sort | curl -fsS -X POST --data-binary @- ${receiver.url}/env >/dev/null`,
        'echo "shell-$PAYLOAD_INCIDENTID"',
      ].join('\n'),
      { env: { API_KEY } },
    );
    const d = await finished(await ingest('evt-shell-ok'), 'success');

    const [req] = receiver.at('/shell');
    assert.equal(req.headers['x-api-key'], API_KEY);
    assert.deepEqual(JSON.parse(req.body), { incidentId: 'evt-shell-ok', title: 'Outage evt-shell-ok', severity: 'major', systemIds: ['sys-a'] });
    assert.equal(d.externalId, 'shell-evt-shell-ok');
    assert.equal(d.attemptLog[0].log, '[stdout]\nshell-evt-shell-ok\n[stderr]\nusing key ***');

    // the environment the command saw: no server secret, only the allow-listed names
    const env = receiver.at('/env')[0].body;
    for (const value of [...Object.values(SERVER_ONLY), hub.config.encryption.masterKey, hub.config.databaseUrl ?? 'unset']) {
      assert.ok(!env.includes(value), `the command saw ${value}`);
    }
    const names = env.split('\n').map((l) => l.split('=')[0]).filter(Boolean);
    assert.deepEqual(names.filter((n) => !/^(EVENT|PAYLOAD|DELIVERY|SUBSCRIPTION)_/.test(n)), ['API_KEY', 'HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR']);
    assert.ok(env.includes(`DELIVERY_ID=${d.id}\n`) && env.includes(`SUBSCRIPTION_ID=${sub.id}\n`) && env.includes('EVENT_TYPE=incident.created\n'));

    const s = await hub.call('GET', `/subscriptions/${sub.id}`);
    assert.deepEqual(s.body.config.env, { API_KEY: { set: true } });
    const dump = JSON.stringify(await hub.dataSource.query('SELECT * FROM subscriptions')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM deliveries')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM delivery_attempts'));
    const api = JSON.stringify(s.body) + JSON.stringify(d) + JSON.stringify((await hub.call('GET', '/deliveries')).body);
    const history = JSON.stringify(await (await getStack()).client.workflow.getHandle(d.workflowId).fetchHistory());
    assert.ok(!dump.includes(API_KEY), 'database');
    assert.ok(!api.includes(API_KEY), 'API');
    assert.ok(!hub.logs.join('\n').includes(API_KEY), 'logs');
    assert.ok(!history.includes(API_KEY) && !history.includes(Buffer.from(API_KEY).toString('base64')), 'history');
    assert.ok(history.length > 1000 && hub.logs.length > 0, 'history and logs were read');
  });

  it('retries exit 75 and records the later success', async () => {
    await subscribe('if [ "$DELIVERY_ATTEMPT" = 1 ]; then echo "busy, later" >&2; exit 75; fi; echo "done-$DELIVERY_ATTEMPT"');
    const d = await finished(await ingest('evt-shell-75'), 'success');
    assert.deepEqual(d.attemptLog.map((a: { outcome: string; errorCode?: string }) => [a.outcome, a.errorCode]), [['retryable', 'exit_75'], ['success', undefined]]);
    assert.equal(d.attemptLog[0].error, 'The command exited with code 75: busy, later');
    assert.equal(d.externalId, 'done-2');
  });

  it('fails any other non-zero exit after one attempt, with the code and the end of stderr', async () => {
    await subscribe('echo "step 1 ok"; echo "curl: (22) The requested URL returned error: 404" >&2; exit 22');
    const d = await finished(await ingest('evt-shell-22'), 'failed');
    assert.equal(d.attempts, 1);
    assert.equal(d.error, 'The command exited with code 22: curl: (22) The requested URL returned error: 404');
    assert.equal(d.attemptLog[0].errorCode, 'exit_22');
  });

  it('kills the whole process group at the timeout (background child included) and retries', async () => {
    await subscribe('sleep 60 & echo "child $!"; sleep 60', { timeoutMs: 500 }, [200]);
    const d = await finished(await ingest('evt-shell-timeout'), 'failed');
    assert.deepEqual(d.attemptLog.map((a: { outcome: string; errorCode: string }) => [a.outcome, a.errorCode]), [['retryable', 'command_timeout'], ['retryable', 'command_timeout']]);
    for (const attempt of d.attemptLog) {
      assert.ok(attempt.durationMs >= 500, `attempt took ${attempt.durationMs} ms`);
      const child = Number(/child (\d+)/.exec(attempt.log)?.[1]);
      assert.ok(child > 0, attempt.log);
      await waitFor(async () => gone(child), `background child ${child} to be killed`);
    }
  });
});
