import type { DeliveryContext, DeliveryOutcome, FieldProblem, ProviderDefinition } from '../types';
import { preloadCompileChecker, quickJsCompileError } from './compile-check';
import { scriptConfigSchema, type ScriptConfig } from './config';
import { guardedFetchHandler } from './fetch';
import { outcomeFromRun } from './outcome';
import { SandboxBusyError, sharedSandboxPool, type SandboxPool } from './pool';
import { checkSource, scriptFileName, toJavaScript, type SourceProblem } from './source';

export { scriptConfigSchema, type ScriptConfig } from './config';
export { SandboxPool, sharedSandboxPool } from './pool';

/** QuickJS stack limit per run: deep enough for real code, well inside the sandbox thread's own stack. */
const MAX_STACK_BYTES = 256 * 1024;
/** Console output kept per attempt (the attempt log's own cap). */
const MAX_LOG_CHARS = 8000;

// Save-time compile checks need QuickJS loaded; start now so it is ready before the first save.
void preloadCompileChecker();

function describe(p: SourceProblem): string {
  const where = p.line === undefined ? '' : p.column === undefined ? `line ${p.line}: ` : `line ${p.line}, column ${p.column}: `;
  return `${where}${p.message}`;
}

/** Save-time checks: syntax with its position, the deliver() convention, and a QuickJS compile. Never runs the script. */
export function validateScriptConfig(config: ScriptConfig): FieldProblem[] {
  const problems = checkSource(config.language, config.source);
  if (problems.length > 0) return problems.map((p) => ({ path: 'config.source', message: describe(p) }));
  const compiled = quickJsCompileError(toJavaScript(config.language, config.source), scriptFileName(config.language));
  if (!compiled) return [];
  const line = compiled.line === undefined ? undefined : config.language === 'typescript' ? `line ${compiled.line} of the compiled JavaScript` : `line ${compiled.line}`;
  return [{ path: 'config.source', message: line ? `${line}: ${compiled.message}` : compiled.message }];
}

/** The event as a script sees it (`event` argument of deliver). */
function scriptEvent(ctx: DeliveryContext<unknown>): Record<string, unknown> {
  const { event } = ctx;
  return {
    id: event.id,
    type: event.type,
    displayName: event.displayName,
    occurredAt: event.occurredAt,
    systemIds: event.systemIds,
    payload: event.payload,
    ...(event.subject !== undefined ? { subject: event.subject } : {}),
    resolves: event.resolves,
    deliveryId: ctx.deliveryId,
    attempt: ctx.attempt,
    subscription: { id: ctx.subscription.id, name: ctx.subscription.name },
    test: ctx.test,
    redelivery: ctx.redelivery,
  };
}

/** A script provider over the given pool of sandbox threads (the process's shared pool by default). */
export function createScriptProvider(pool: () => SandboxPool = sharedSandboxPool): ProviderDefinition<ScriptConfig> {
  async function deliverScript(ctx: DeliveryContext<ScriptConfig>): Promise<DeliveryOutcome> {
    // ctx.config is the schema's output: parsed once by the attempt activity (providers/input.ts)
    const config = ctx.config;
    const secrets = config.secrets ?? {};
    const known = Object.values(secrets);
    let run;
    try {
      run = await pool().run(
        {
          code: toJavaScript(config.language, config.source),
          filename: scriptFileName(config.language),
          input: JSON.stringify({ event: scriptEvent(ctx), secrets }),
          timeoutMs: config.timeoutMs,
          memoryLimitBytes: config.memoryLimitMb * 1024 * 1024,
          maxStackBytes: MAX_STACK_BYTES,
          maxFetchCalls: config.maxFetchCalls,
          maxLogChars: MAX_LOG_CHARS,
        },
        guardedFetchHandler(ctx.http, known),
        ctx.subscription.id, // one subscription holds at most its share of the threads
      );
    } catch (err) {
      if (err instanceof SandboxBusyError) return { kind: 'retryable', errorCode: 'sandbox_busy', error: err.message };
      throw err;
    }
    return outcomeFromRun(run, config, known);
  }

  return {
    id: 'script',
    displayName: 'Script',
    description:
      'Runs an admin-written JavaScript or TypeScript function `deliver(event, ctx)` in a QuickJS sandbox ' +
      '(no process, filesystem, environment or modules), with a time and memory limit, a console captured ' +
      'into the delivery log, named secrets, and fetch() through the guarded HTTP client.',
    configSchema: scriptConfigSchema,
    followUps: false,
    validateConfig: validateScriptConfig,
    deliver: deliverScript,
  };
}

/** The script provider, on the process's shared sandbox pool. */
export const scriptProvider: ProviderDefinition<ScriptConfig> = createScriptProvider();
