import express, { type Router } from 'express';
import fs from 'node:fs';
import path from 'node:path';

/** No inline script or style, nothing from elsewhere, no framing: the admin UI loads only its own files. */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The admin UI (built by Vite into `dir`) at /ui: hashed assets cached for long, every other path answered
 * with index.html (the UI routes in the browser), all with a strict Content-Security-Policy.
 */
export function uiRouter(dir: string): Router {
  const router = express.Router();
  const index = path.join(dir, 'index.html');
  router.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', UI_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  });
  // a missing asset is a 404, never index.html (a stale page asking for an old bundle must fail visibly)
  router.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false }), (_req, res) => {
    res.status(404).type('text/plain').send('Not found');
  });
  router.use(express.static(dir, { index: false }));
  router.get(/.*/, (_req, res) => {
    if (!fs.existsSync(index)) {
      res.status(503).type('text/plain').send('The admin UI is not built: run `npm run build`.');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}

/** Where `npm run build` puts the admin UI (dist/ui, beside the compiled server). */
export const UI_DIR = path.resolve(__dirname, '../../ui');
