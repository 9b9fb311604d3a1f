// The floor's "API" in the comparison benchmark (bench/scenarios/compare.ts): a bare node:http server that
// starts one floorWorkflow per POST and answers 202 once Temporal accepted the start. No database, no
// auth, no matching: what accepting an event costs when the only durable write is the workflow start.
// Run as its own process by bench/run (its CPU is the floor's API share).
import { Client, Connection } from '@temporalio/client';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS;
  const receiverUrl = process.env.BENCH_RECEIVER_URL;
  if (!address || !receiverUrl) throw new Error('TEMPORAL_ADDRESS and BENCH_RECEIVER_URL must be set');
  const taskQueue = process.env.BENCH_BASELINE_TASK_QUEUE ?? 'bench-floor';
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string; path?: string };
          const id = `fl_${body.id}`;
          await client.workflow.start('floorWorkflow', { taskQueue, workflowId: id, args: [{ id, url: `${receiverUrl}${body.path ?? '/hook'}` }] });
          const out = JSON.stringify({ id: body.id, deliveries: [{ id }] });
          res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
        } catch (err) {
          const out = JSON.stringify({ error: (err as Error).message });
          res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
        }
      })();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port }));
  const stop = () => server.close(() => void connection.close().then(() => process.exit(0)));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
