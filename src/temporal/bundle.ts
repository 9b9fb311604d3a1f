import { bundleWorkflowCode } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { TRACE_HEADER_MODULE, WORKFLOW_BUNDLES, WORKFLOW_TRACING_MODULE } from './tracing';

/**
 * Builds the workflow bundles once at build time, so workers start without webpack: one with the OpenTelemetry
 * workflow interceptors (workflow spans that continue the trace of the request that started the delivery), for
 * workers that export traces, and one that only hands the trace header on to the activities (the default).
 */
async function main(): Promise<void> {
  for (const [traced, file] of [[false, WORKFLOW_BUNDLES.plain], [true, WORKFLOW_BUNDLES.traced]] as const) {
    const out = path.resolve(__dirname, '../..', file);
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      workflowInterceptorModules: [traced ? WORKFLOW_TRACING_MODULE : TRACE_HEADER_MODULE],
      logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
    });
    fs.writeFileSync(out, code);
    process.stdout.write(`workflow bundle: ${path.relative(process.cwd(), out)} (${Math.round(code.length / 1024)} KiB)\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
