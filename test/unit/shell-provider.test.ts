import assert from 'node:assert/strict';
import fs from 'node:fs';
import { shellConfigSchema, shellProvider, type ShellConfig } from '../../providers/shell';
import { CappedOutput } from '../../providers/shell/run';
import { planSandbox, SandboxUnavailable } from '../../providers/shell/sandbox';
import type { DeliveryContext, DeliveryOutcome, GuardedHttpClient } from '../../providers/types';

const SECRET = 'shell-env-secret-4f1a9b77';
const noHttp: GuardedHttpClient = { request: () => Promise.reject(new Error('the shell provider makes no HTTP calls')) };

function context(config: Record<string, unknown>, payload: Record<string, unknown> = { incidentId: 'inc-1', title: 'Down' }): DeliveryContext<ShellConfig> {
  return {
    deliveryId: 'dlv_1',
    attempt: 1,
    event: {
      id: 'evt_1', type: 'incident.created', displayName: 'Incident created', occurredAt: '2025-03-01T10:00:00.000Z',
      systemIds: ['sys-a'], payload, subject: 'inc-1', resolves: false,
    },
    subscription: { id: 'sub_1', name: 'Ops command' },
    config: shellConfigSchema.parse(config),
    test: false,
    redelivery: false,
    http: noHttp,
  };
}

const run = (config: Record<string, unknown>, payload?: Record<string, unknown>) => shellProvider.deliver(context(config, payload));
const logOf = (o: DeliveryOutcome) => o.log ?? '';

/** True once no live `sleep <marker>` is left on this machine (seen from the host's /proc: commands run in a PID namespace). */
function noSleep(marker: string): boolean {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8') !== `sleep\0${marker}\0`) continue;
      if (!/^State:\s+Z/m.test(fs.readFileSync(`/proc/${entry}/status`, 'utf8'))) return false;
    } catch {
      // gone while we looked
    }
  }
  return true;
}

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('shell provider (real /bin/sh)', function () {
  this.timeout(60_000);

  it('gives the command none of the server environment: no DATABASE_URL, no ENCRYPTION_MASTER_KEY', async () => {
    process.env.ENCRYPTION_MASTER_KEY = 'server-master-key-must-not-leak-0123';
    process.env.DATABASE_URL = 'postgres://hub:db-password-must-not-leak@db/hub';
    try {
      const o = await run({ command: 'env', env: { API_TOKEN: SECRET } });
      assert.equal(o.kind, 'success');
      const names = logOf(o).split('\n').slice(1).map((l) => l.split('=')[0]).filter(Boolean).sort();
      assert.ok(!logOf(o).includes('must-not-leak'), logOf(o));
      assert.deepEqual(names.filter((n) => !n.startsWith('PAYLOAD_') && !n.startsWith('EVENT_') && !n.startsWith('DELIVERY_') && !n.startsWith('SUBSCRIPTION_')),
        ['API_TOKEN', 'HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR']); // PWD is set by sh itself
    } finally {
      delete process.env.ENCRYPTION_MASTER_KEY;
      delete process.env.DATABASE_URL;
    }
  });

  it('sets PAYLOAD_* and the event variables, and writes the payload to $EVENT_PAYLOAD_FILE', async () => {
    const o = await run(
      { command: 'env | grep -E "^(PAYLOAD_|EVENT_ID|DELIVERY_ID|SUBSCRIPTION_NAME)" | sort; cat "$EVENT_PAYLOAD_FILE"' },
      { incidentId: 'inc-1', 'service.name': 'api', nested: { level: { deep: 'yes' } }, tags: ['a', 'b'], closedAt: null },
    );
    assert.equal(o.kind, 'success');
    assert.equal(logOf(o), [
      '[stdout]',
      'DELIVERY_ID=dlv_1',
      'EVENT_ID=evt_1',
      'PAYLOAD_CLOSEDAT=',
      'PAYLOAD_INCIDENTID=inc-1',
      'PAYLOAD_NESTED_LEVEL_DEEP=yes',
      'PAYLOAD_SERVICE_NAME=api',
      'PAYLOAD_TAGS=["a","b"]',
      'SUBSCRIPTION_NAME=Ops command',
      '{"incidentId":"inc-1","service.name":"api","nested":{"level":{"deep":"yes"}},"tags":["a","b"],"closedAt":null}',
    ].join('\n'));
  });

  it('exit 0: success with the first line of stdout (trimmed) as the external id, none when stdout is empty', async () => {
    // the log is masked line by line, as the worker stores it (each line trimmed)
    assert.deepEqual(await run({ command: 'printf "  TICKET-42  \\nmore output\\n"' }), { kind: 'success', externalId: 'TICKET-42', log: '[stdout]\nTICKET-42\nmore output' });
    assert.deepEqual(await run({ command: 'true' }), { kind: 'success' });
    const long = await run({ command: `printf '${'x'.repeat(300)}'` });
    assert.equal(long.kind === 'success' && long.externalId?.length, 200);
  });

  it('exit 75 is retryable; any other non-zero exit is permanent, with the code and the end of stderr', async () => {
    const temp = await run({ command: 'echo "try later" >&2; exit 75' });
    assert.deepEqual([temp.kind, 'errorCode' in temp && temp.errorCode, 'error' in temp && temp.error], ['retryable', 'exit_75', 'The command exited with code 75: try later']);
    const failed = await run({ command: 'echo "to stdout"; echo "first" >&2; echo "last words" >&2; exit 3' });
    assert.deepEqual([failed.kind, 'errorCode' in failed && failed.errorCode, 'error' in failed && failed.error], ['permanent', 'exit_3', 'The command exited with code 3: first last words']);
    const notFound = await run({ command: 'no-such-command-xyz' });
    assert.equal('errorCode' in notFound && notFound.errorCode, 'exit_127');
  });

  it('keeps secrets from env out of the error text', async () => {
    const o = await run({ command: 'echo "auth failed for $API_TOKEN" >&2; exit 1', env: { API_TOKEN: SECRET } });
    assert.equal('error' in o && o.error, 'The command exited with code 1: auth failed for ***');
  });

  it('kills the whole process group on timeout, background children included', async () => {
    const started = Date.now();
    const o = await run({ command: 'sleep 100.25 & echo $!; sleep 100', timeoutMs: 500 });
    assert.deepEqual([o.kind, 'errorCode' in o && o.errorCode], ['retryable', 'command_timeout']);
    assert.ok(Date.now() - started >= 500);
    const child = Number(/\[stdout\]\n(\d+)/.exec(logOf(o))?.[1]);
    assert.ok(child > 0, logOf(o));
    await eventually(() => noSleep('100.25'), 'the background child to be gone');
  });

  it('leaves nothing running after the command exits', async () => {
    const o = await run({ command: 'sleep 100.5 & echo $!; setsid sleep 100.75 &' });
    assert.equal(o.kind, 'success');
    const child = Number(o.kind === 'success' && o.externalId);
    assert.ok(child > 0);
    await eventually(() => noSleep('100.5') && noSleep('100.75'), 'left-over children (setsid included) to be gone');
  });

  it('caps output: the start of stdout and the end of stderr, saying how much was dropped', async () => {
    const o = await run({ command: 'head -c 200000 /dev/zero | tr "\\0" a; i=0; while [ $i -lt 300 ]; do echo "err $i" >&2; i=$((i+1)); done; exit 2', maxOutputBytes: 1024 });
    const log = logOf(o);
    assert.match(log, /^\[stdout\]\na{1024}\n\[hub\] stdout continues beyond what is kept here \(198976 bytes were not captured\)/);
    assert.match(log, /\[stderr\]\n[\s\S]*err 299\n\[hub\] stderr began before/);
    assert.ok(!log.includes('err 0\n'), 'the start of stderr was dropped');
    assert.match('error' in o ? o.error : '', /code 2: …[\s\S]*err 299$/);
  });

  it('CappedOutput keeps the head or the tail exactly across chunks', () => {
    const head = new CappedOutput(5, 'head');
    const tail = new CappedOutput(5, 'tail');
    for (const c of ['abc', 'def', 'ghij']) {
      head.add(Buffer.from(c));
      tail.add(Buffer.from(c));
    }
    assert.deepEqual([head.text(), head.dropped, tail.text(), tail.dropped], ['abcde', 5, 'fghij', 5]);
  });

  it('fails permanently when the working directory does not exist; runs in it when it does', async () => {
    const missing = await run({ command: 'true', workingDirectory: '/no/such/dir' });
    assert.deepEqual([missing.kind, 'errorCode' in missing && missing.errorCode], ['permanent', 'spawn_failed']);
    assert.deepEqual(await run({ command: 'pwd', workingDirectory: '/tmp' }), { kind: 'success', externalId: '/tmp', log: '[stdout]\n/tmp' });
  });

  it('gives each attempt a fresh, empty HOME that is removed afterwards', async () => {
    const o = await run({ command: 'echo "$HOME"; ls -A "$HOME"; touch "$HOME/left-behind"' });
    const home = o.kind === 'success' ? o.externalId ?? '' : '';
    assert.match(home, /hub-shell-/);
    assert.equal(logOf(o), `[stdout]\n${home}\npayload.json`);
    assert.equal(fs.existsSync(home), false);
  });

  it('reports a command killed by a signal that was not ours as retryable', async () => {
    const o = await run({ command: 'kill -9 $$' });
    assert.deepEqual([o.kind, 'errorCode' in o && o.errorCode, 'error' in o && o.error], ['retryable', 'command_killed', 'The command was killed by SIGKILL']);
  });

  it('a worker that is not root refuses to run commands as another user, and runs them as they are for its own', () => {
    const limits = { maxProcesses: 10, maxMemoryBytes: 64 * 1024 * 1024 };
    assert.throws(() => planSandbox({ runAsUser: 'nobody', ...limits }, 1000), (e: Error) => e instanceof SandboxUnavailable && /cannot run commands as nobody/.test(e.message));
    const own = planSandbox({ runAsUser: '1000', ...limits }, 1000)('id');
    assert.equal(own.namespaced, false);
    assert.deepEqual(own.argv.slice(1), ['--nproc=10', `--as=${64 * 1024 * 1024}`, '--core=0', '--', '/bin/sh', '-c', 'id']);
  });

  it('a root worker runs the command as the run-as user in a PID namespace of its own', async () => {
    const o = await run({ command: 'id -u; echo $$; set -- /proc/[0-9]*; echo $#' });
    assert.equal(o.kind, 'success');
    const [uid, pid, processes] = logOf(o).split('\n').slice(1);
    assert.deepEqual([uid, pid], ['65534', '2']);
    assert.ok(Number(processes) <= 3, `the command saw ${processes} processes`);
  });
});
