import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Receiver } from '../fakes/receiver';
import { ADMIN_TOKEN, INGEST_TOKEN, waitFor, type Hub } from '../support/hub';
import { pipelineSuite } from '../support/provider-suite';
import { getStack } from '../support/stack';
import { assertHoldsAttempts, closedHistory, historyText } from '../support/history';

const API_KEY = 'shell-api-key-8e41c07d2a';
const SERVER_ONLY = {
  ENCRYPTION_MASTER_KEY: 'process-env-master-key-never-in-commands',
  DATABASE_URL: 'postgres://hub:process-env-db-password@db:5432/hub',
};

/** Live (not zombie) processes of this machine whose command line holds `marker`, seen from the host's /proc. */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!cmdline.startsWith('sleep ') || !cmdline.includes(marker)) continue;
      if (/^State:\s+Z/m.test(fs.readFileSync(`/proc/${entry}/status`, 'utf8'))) continue;
      found.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return found;
}

describe('shell provider through the pipeline (real Temporal, PostgreSQL, /bin/sh)', function () {
  this.timeout(120_000);
  // commands run as nobody (the default) with small limits, so the limits are quick to reach; the receiver's
  // requests are cleared before each test
  const suite = pipelineSuite({
    database: 'provider_shell',
    fake: () => new Receiver().start(),
    env: { SHELL_PROVIDER_ENABLED: 'true', SHELL_MAX_PROCESSES: '24', SHELL_MAX_MEMORY_MB: '128' },
  });
  let hub: Hub;
  let receiver: Receiver;
  before(() => {
    ({ hub, fake: receiver } = suite);
    Object.assign(process.env, SERVER_ONLY); // as a deployment would have them
  });
  after(() => {
    for (const name of Object.keys(SERVER_ONLY)) delete process.env[name];
  });

  const subscribe = (command: string, config: Record<string, unknown> = {}, scheduleMs = [200, 200, 200], token = ADMIN_TOKEN) => suite.subscribe({
    name: 'shell sub',
    provider: 'shell',
    event: 'incident.created',
    config: { command, ...config },
    retryPolicy: { scheduleMs },
  }, token);
  const ingest = (id: string) => suite.ingest('incident.created', id, { incidentId: id, title: `Outage ${id}`, severity: 'major', systemIds: ['sys-a'] });
  const finished = (deliveryId: string, status: 'success' | 'failed') => suite.settled(deliveryId, status);

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
    const closed = await closedHistory((await getStack()).client, d.workflowId);
    assertHoldsAttempts(closed, d);
    const history = historyText(closed);
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

  it('kills every process of the attempt at the timeout (background child included) and retries', async () => {
    await subscribe('sleep 61.5 & echo "child $!"; sleep 60', { timeoutMs: 500 }, [200]);
    const d = await finished(await ingest('evt-shell-timeout'), 'failed');
    assert.deepEqual(d.attemptLog.map((a: { outcome: string; errorCode: string }) => [a.outcome, a.errorCode]), [['retryable', 'command_timeout'], ['retryable', 'command_timeout']]);
    for (const attempt of d.attemptLog) {
      assert.ok(attempt.durationMs >= 500, `attempt took ${attempt.durationMs} ms`);
      assert.match(attempt.log, /child \d+/);
    }
    await waitFor(async () => processesWith('61.5').length === 0, 'the background children to be killed');
  });

  describe('isolation (issue 19: a manager got root and every server secret)', () => {
    let manager: string;
    before(async () => {
      const res = await hub.call('POST', '/tokens', { name: 'shell manager', role: 'manager' });
      manager = res.body.token;
    });

    it('lets only an admin create, change or enable a shell subscription (a manager gets 403, may still disable it)', async () => {
      const body = { name: 'by a manager', provider: 'shell', event: 'incident.created', config: { command: 'id' } };
      const created = await hub.call('POST', '/subscriptions', body, manager);
      assert.equal(created.status, 403);
      assert.equal(created.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.match(created.body.detail, /Only an admin may create a shell subscription/);

      const sub = await subscribe('true', {}, [200], ADMIN_TOKEN);
      for (const patch of [{ config: { command: 'cat /etc/shadow' } }, { name: 'renamed' }, { enabled: true }, { event: 'incident.updated' }]) {
        const res = await hub.call('PATCH', `/subscriptions/${sub.id}`, patch, manager);
        assert.equal(res.status, 403, JSON.stringify(patch));
      }
      // a webhook subscription cannot be turned into a shell one by a manager either
      const hook = await hub.call('POST', '/subscriptions', { name: 'hook', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/x` } }, manager);
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      const turned = await hub.call('PATCH', `/subscriptions/${hook.body.id}`, { provider: 'shell', config: { command: 'id' } }, manager);
      assert.equal(turned.status, 403);

      const off = await hub.call('PATCH', `/subscriptions/${sub.id}`, { enabled: false }, manager);
      assert.equal(off.status, 200);
      const on = await hub.call('PATCH', `/subscriptions/${sub.id}`, { enabled: true }, manager);
      assert.equal(on.status, 403);
      assert.equal((await hub.call('PATCH', `/subscriptions/${sub.id}`, { enabled: true, name: 'admin may' })).status, 200);
      const providers = await hub.call('GET', '/providers', undefined, manager);
      assert.equal(providers.body.items.find((p: { id: string }) => p.id === 'shell').adminOnly, true);
    });

    it("runs as nobody: cannot read the hub's /proc/<pid>/environ, sees none of its processes, and server secrets are masked in the log", async () => {
      const dbPassword = decodeURIComponent(new URL(hub.config.databaseUrl!).password);
      assert.ok(dbPassword.length >= 8, 'the test database has a password to look for');
      await subscribe(
        [
          'id -u; id -g',
          `cat /proc/$PPID/environ /proc/${process.pid}/environ >/dev/null 2>&1 && echo "READ THE HUB ENVIRONMENT"`,
          `kill -0 ${process.pid} 2>/dev/null && echo "CAN SIGNAL THE HUB"`,
          'echo "processes: $(ls /proc | grep -c "^[0-9]")"',
          // what a command that found the secrets would print: every one of them is masked
          `echo "${ADMIN_TOKEN} ${INGEST_TOKEN} ${hub.config.encryption.masterKey} ${dbPassword}"`,
        ].join('\n'),
      );
      const d = await finished(await ingest('evt-shell-nobody'), 'success');
      const log: string = d.attemptLog[0].log;
      assert.match(log, /^\[stdout\]\n65534\n65534\n/);
      assert.ok(!log.includes('READ THE HUB ENVIRONMENT') && !log.includes('CAN SIGNAL THE HUB'), log);
      const seen = Number(/processes: (\d+)/.exec(log)?.[1]);
      assert.ok(seen > 0 && seen < 10, `the command saw ${seen} processes: only its own`);
      assert.match(log, /\n\*\*\* \*\*\* \*\*\* \*\*\*$/);
      const api = JSON.stringify((await hub.call('GET', `/deliveries/${d.id}`)).body);
      for (const secret of [ADMIN_TOKEN, INGEST_TOKEN, hub.config.encryption.masterKey, dbPassword]) assert.ok(!api.includes(secret), 'a server secret in the API');
    });

    it('limits processes and memory, and ends setsid children with the attempt', async function () {
      // RLIMIT_NPROC counts every process of the run-as user on the machine, and the script waits for killed
      // processes to be reaped: on a loaded machine one run in a fresh-clone suite stopped after "running: 22"
      // (seen 1 in 4 full runs, never alone). Retried with a new event each time; the assertions are unchanged.
      this.retries(2);
      await subscribe(
        [
          // a fork bomb in a subshell: it ends at the process limit (dash exits when a fork fails)
          '( n=0; while [ $n -lt 300 ]; do sleep 62.5 & n=$((n+1)); done ) 2>/dev/null',
          'set -- /proc/[0-9]*; echo "running: $#"',
          // end them with builtins only (no process can be started while at the limit)
          'for p in /proc/[0-9]*; do read -r c < $p/comm 2>/dev/null; [ "$c" = sleep ] && kill ${p#/proc/}; done',
          'while :; do set -- /proc/[0-9]*; [ $# -lt 6 ] && break; done',
          'dd bs=300M count=1 if=/dev/zero of=/dev/null 2>/dev/null && echo "allocated 300 MiB" || echo "allocation refused"',
          'setsid sleep 63.5 &',
          'echo started',
        ].join('\n'),
        { timeoutMs: 20_000 },
      );
      const d = await finished(await ingest(`evt-shell-limits-${Date.now()}`), 'success');
      const log: string = d.attemptLog[0].log;
      const running = Number(/running: (\d+)/.exec(log)?.[1]);
      assert.ok(running > 5 && running <= 24, `processes at once: ${running} (limit 24)\n${log}`);
      assert.match(log, /allocation refused/);
      await waitFor(async () => processesWith('62.5').length + processesWith('63.5').length === 0, 'every process of the attempt, setsid ones included, to be gone');
    });
  });
});
