/**
 * A plugin host: the child process one installed plugin runs in (started by src/plugins/host-client.ts as an
 * unprivileged user, in its own network namespace when the hub is root, with a minimal environment and a
 * memory limit). Loads the plugin in `argv[2]`, describes its providers, then answers calls over IPC
 * (src/plugins/protocol.ts). The plugin has no network of its own: sockets, http/https/fetch, child
 * processes and native addons are refused before it loads; `ctx.http` asks the hub, whose guarded client
 * (address policy, timeouts, size caps) sends the request.
 */
import child_process from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import worker_threads from 'node:worker_threads';
import { OutboundError, type OutboundErrorCode } from '../../providers/http/guarded-client';
import { parseDeliveryInput } from '../../providers/input';
import { OptionsQueryError } from '../../providers/options';
import { loadErrorMessage, loadPluginEntry } from '../../providers/plugins';
import { ProviderRegistry, type RegisteredProvider } from '../../providers/registry';
import type { GuardedHttpClient, OutboundRequest, OutboundResponse } from '../../providers/types';
import { zodProblems } from '../http/validation';
import { entryInside } from './unpack';
import {
  PLUGIN_PROTOCOL_VERSION,
  type CallMessage,
  type HostToHub,
  type HttpDoneMessage,
  type HubToHost,
  type PluginOps,
  type ProviderDescription,
} from './protocol';

// taken before the plugin loads: what it may do to these later reaches only its own process
const send = process.send!.bind(process) as (m: HostToHub) => boolean;

function refuse(what: string) {
  return function refused(): never {
    throw new Error(`${what} is not available to provider plugins: send HTTP with ctx.http (the hub sends it)`);
  };
}

/** The plugin's own network, processes and native code: refused (the network namespace refuses them too). */
function sealNetwork(): void {
  // replaceable: a plugin that wraps one (as many instrumentations do) loads, and wraps a refusal
  const set = (obj: object, key: string, value: unknown) => Object.defineProperty(obj, key, { value, writable: true, configurable: true });
  for (const k of ['request', 'get', 'createServer']) {
    set(http, k, refuse(`http.${k}`));
    set(https, k, refuse(`https.${k}`));
  }
  for (const k of ['connect', 'createConnection', 'createServer']) set(net, k, refuse(`net.${k}`));
  set(net.Socket.prototype, 'connect', refuse('net.Socket#connect'));
  set(net.Server.prototype, 'listen', refuse('net.Server#listen'));
  for (const k of ['connect', 'createServer']) set(tls, k, refuse(`tls.${k}`));
  set(dgram, 'createSocket', refuse('dgram.createSocket'));
  for (const k of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) set(child_process, k, refuse(`child_process.${k}`));
  set(worker_threads, 'Worker', refuse('worker_threads.Worker'));
  set(globalThis, 'fetch', refuse('fetch'));
  set(globalThis, 'WebSocket', refuse('WebSocket'));
  set(process, 'dlopen', refuse('native addons'));
  set(process, 'kill', refuse('process.kill'));
}

const pendingHttp = new Map<number, { resolve(r: OutboundResponse): void; reject(e: Error): void }>();
let nextHttp = 1;

/** `ctx.http` of one call: each request goes to the hub, which sends it through its guarded client. */
function hubHttp(call: number): GuardedHttpClient {
  return {
    request(req: OutboundRequest): Promise<OutboundResponse> {
      const id = nextHttp++;
      const body = req.body === undefined ? {} : Buffer.isBuffer(req.body) ? { bodyBase64: req.body.toString('base64') } : { body: String(req.body) };
      return new Promise((resolve, reject) => {
        pendingHttp.set(id, { resolve, reject });
        send({ t: 'http', id, call, req: { method: req.method, url: String(req.url), headers: req.headers, timeoutMs: req.timeoutMs, ...body } });
      });
    },
  };
}

function httpDone(m: HttpDoneMessage): void {
  const p = pendingHttp.get(m.id);
  if (!p) return;
  pendingHttp.delete(m.id);
  if (m.ok) p.resolve(m.res);
  else if (m.error.name === 'OutboundError' && m.error.code) p.reject(new OutboundError(m.error.code as OutboundErrorCode, m.error.message));
  else p.reject(new Error(m.error.message));
}

const registry = new ProviderRegistry();

function describe(p: RegisteredProvider): ProviderDescription {
  const d = p.definition;
  return {
    id: d.id,
    displayName: String(d.displayName),
    description: String(d.description ?? ''),
    configJsonSchema: p.configJsonSchema,
    connectionJsonSchema: p.connectionJsonSchema,
    connection: d.connection ?? 'none',
    followUps: d.followUps === true,
    coalesceFollowUps: typeof d.coalesceFollowUps === 'function' ? 'config' : d.coalesceFollowUps === true,
    validates: typeof d.validateConfig === 'function',
    tests: typeof d.testConnection === 'function',
    options: Object.keys(d.options ?? {}),
  };
}

function provider(id: string): RegisteredProvider {
  const p = registry.get(id);
  if (!p) throw new Error(`this plugin has no provider ${id}`);
  return p;
}

const handlers: { [K in keyof PluginOps]: (args: PluginOps[K]['args'], call: number) => Promise<PluginOps[K]['value']> | PluginOps[K]['value'] } = {
  describe: () => registry.list().map(describe),
  validate: ({ provider: id, what, value, eventType, hasConnection }) => {
    const def = provider(id).definition;
    const schema = what === 'config' ? def.configSchema : def.connectionSchema;
    if (!schema) return { ok: false, problems: [{ path: 'provider', message: `provider "${id}" has no connections` }] };
    const parsed = schema.safeParse(value);
    if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error, 'config') };
    if (what === 'config' && def.validateConfig && eventType) {
      const problems = def.validateConfig(parsed.data, eventType, { hasConnection: hasConnection === true });
      if (problems.length) return { ok: false, problems: problems.map((p) => ({ path: String(p.path), message: String(p.message) })) };
    }
    return { ok: true, data: parsed.data as Record<string, unknown> };
  },
  prepare: ({ provider: id, config, connection }) => {
    const def = provider(id).definition;
    const parsed = parseDeliveryInput(def, config, connection);
    if (!parsed.ok) return { ok: false, outcome: parsed.outcome };
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return {
      ok: true,
      followUpTarget: str(def.followUpTarget?.(parsed.config, parsed.connection)),
      healthTarget: str(def.healthTarget?.(parsed.config, parsed.connection)),
      coalesce: typeof def.coalesceFollowUps === 'function' ? def.coalesceFollowUps(parsed.config) === true : undefined,
    };
  },
  deliver: async ({ provider: id, ctx }, call) => {
    const def = provider(id).definition;
    const parsed = parseDeliveryInput(def, ctx.config, ctx.connection);
    if (!parsed.ok) return parsed.outcome;
    return def.deliver({ ...ctx, config: parsed.config, connection: parsed.connection as Record<string, unknown> | undefined, http: hubHttp(call) });
  },
  test: async ({ provider: id, connection }, call) => {
    const def = provider(id).definition;
    if (!def.testConnection) return { ok: false, message: `Provider ${id} has no connection test` };
    const r = await def.testConnection({ connection, http: hubHttp(call), query: {} });
    return { ok: r.ok === true, message: String(r.message) };
  },
  options: async ({ provider: id, resolver, connection, query }, call) => {
    const fn = provider(id).definition.options?.[resolver];
    if (!fn) throw new Error(`Provider ${id} has no options resolver "${resolver}"`);
    const items = await fn({ connection, http: hubHttp(call), query });
    return items.map((i) => ({ value: String(i.value), label: String(i.label) }));
  },
};

async function onCall(m: CallMessage): Promise<void> {
  try {
    const handler = handlers[m.op] as (args: unknown, call: number) => unknown;
    if (!handler) throw new Error(`unknown call ${String(m.op)}`);
    const value = await handler(m.args, m.id);
    send({ t: 'result', id: m.id, ok: true, value: JSON.parse(JSON.stringify(value ?? null)) });
  } catch (err) {
    const optionsQuery = err instanceof OptionsQueryError ? { param: err.param, detail: err.detail } : undefined;
    send({ t: 'result', id: m.id, ok: false, error: loadErrorMessage(err), ...(optionsQuery ? { optionsQuery } : {}) });
  }
}

function main(): void {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: HubToHost) => {
    if (m.t === 'call') void onCall(m);
    else if (m.t === 'http-done') httpDone(m);
  });
  sealNetwork();
  try {
    entryInside(process.argv[2]);
    loadPluginEntry(process.argv[2], registry);
    send({ t: 'hello', v: PLUGIN_PROTOCOL_VERSION, providers: registry.list().map(describe) });
  } catch (err) {
    send({ t: 'hello', v: PLUGIN_PROTOCOL_VERSION, error: loadErrorMessage(err) });
  }
}

main();
