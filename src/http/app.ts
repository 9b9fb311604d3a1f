import express, { type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';
import { healthRouter, type ReadinessCheck } from './health';
import { HttpProblem, problemHandler } from './problem';
import { uiRouter } from './ui';

/** What the HTTP layer needs; routers for `/api/v1` are built by the caller. */
export interface AppOptions {
  logger: Logger;
  registry: Registry;
  readiness: Record<string, ReadinessCheck>;
  apiRouter?: Router;
  /** Folder of the built admin UI, served at /ui. */
  uiDir?: string;
}

/** The Express app: health endpoints at the root, the API under `/api/v1`, the admin UI at `/ui`, problem+json errors. */
export function createApp(opts: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(healthRouter(opts.readiness, opts.registry));
  if (opts.apiRouter) app.use('/api/v1', opts.apiRouter);
  if (opts.uiDir) {
    app.get('/', (_req, res) => res.redirect(302, '/ui/'));
    app.use('/ui', uiRouter(opts.uiDir));
  }
  app.use((req, _res, next) => next(new HttpProblem(404, 'Not Found', `No route for ${req.method} ${req.path}`)));
  app.use(problemHandler((err) => opts.logger.error({ err: summarise(err) }, 'unexpected error in request')));
  return app;
}

// Log by allowlist: never the whole error object (it may carry request configs and headers).
function summarise(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; message?: string; code?: string; stack?: string };
  return { name: e?.name, message: e?.message, code: e?.code, stack: e?.stack };
}
