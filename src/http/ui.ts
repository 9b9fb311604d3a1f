import express, { type Router } from 'express';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

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
  // the bundle compressed (brotli, else gzip) when the browser takes it: ~400 KB of script is ~110 KB in brotli
  const packed = new Map<string, Record<Encoding, Buffer>>();
  router.get('/assets/:file', (req, res, next) => {
    const name = String(req.params.file);
    const encoding = preferredEncoding(req.headers['accept-encoding']);
    res.setHeader('Vary', 'Accept-Encoding');
    if (!encoding || !/^[\w.-]+\.(js|css|svg|json)$/.test(name)) return next();
    let entry = packed.get(name);
    if (!entry) {
      const file = path.join(dir, 'assets', name);
      if (!fs.existsSync(file)) return next();
      const raw = fs.readFileSync(file);
      // hashed names never change content: compressed once per process
      entry = { br: zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9 } }), gzip: zlib.gzipSync(raw, { level: 9 }) };
      packed.set(name, entry);
    }
    res.setHeader('Content-Encoding', encoding);
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.type(path.extname(name)).send(entry[encoding]);
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

type Encoding = 'br' | 'gzip';

/** br or gzip when the Accept-Encoding header takes it (q=0 refuses); undefined for identity. */
function preferredEncoding(header: string | string[] | undefined): Encoding | undefined {
  const accepted = new Map<string, number>();
  for (const part of String(header ?? '').split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    if (!token) continue;
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)).find(Boolean);
    accepted.set(token, q ? Number(q[1]) : 1);
  }
  for (const enc of ['br', 'gzip'] as const) if ((accepted.get(enc) ?? accepted.get('*') ?? 0) > 0) return enc;
  return undefined;
}

/** Where `npm run build` puts the admin UI (dist/ui, beside the compiled server). */
export const UI_DIR = path.resolve(__dirname, '../../ui');
