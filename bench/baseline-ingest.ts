// Baseline for the ingest scenario: a bare Express handler that parses the same JSON and inserts one
// row into the same PostgreSQL with `pg` directly. No auth, no catalogue, no validation, no Temporal:
// the floor a Node HTTP + PostgreSQL ingest costs on this machine. Run as its own process by bench/run.
import express from 'express';
import { Pool } from 'pg';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL must be set');
  const port = Number(process.env.PORT ?? 0);
  // the service's TypeORM pool is 10 connections: the same here
  const pool = new Pool({ connectionString: url, max: 10, application_name: 'bench-baseline-ingest' });
  await pool.query(`CREATE TABLE IF NOT EXISTS bench_baseline_ingest (
    id varchar(200) PRIMARY KEY,
    event varchar(200) NOT NULL,
    payload jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
  )`);
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '256kb' }));
  app.post('/ingest', async (req, res) => {
    const body = req.body as { id?: string; event?: string; payload?: unknown };
    await pool.query('INSERT INTO bench_baseline_ingest (id, event, payload) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [
      body.id,
      body.event,
      body.payload,
    ]);
    res.status(202).json({ id: body.id, event: body.event, deliveries: [] });
  });
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: err.message });
  });
  const server = app.listen(port, '127.0.0.1', () => process.send?.({ type: 'ready' }));
  server.keepAliveTimeout = 30_000;
  const stop = () => server.close(() => void pool.end().then(() => process.exit(0)));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
