import { bundleWorkflowCode } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { WORKFLOW_TRACING_MODULE } from './tracing';

/** Builds the workflow bundle once at build time, so workers start without webpack. */
async function main(): Promise<void> {
  const out = path.resolve(__dirname, '../../workflow-bundle.js');
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    // workflow spans that continue the trace of the request that started the delivery
    workflowInterceptorModules: [WORKFLOW_TRACING_MODULE],
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  fs.writeFileSync(out, code);
  process.stdout.write(`workflow bundle: ${path.relative(process.cwd(), out)} (${Math.round(code.length / 1024)} KiB)\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
