import { Hono } from 'hono';
import { assetBody, type BrowserAssets } from './assets';

/**
 * The API reference: Swagger UI over /openapi.json. Its script and style sheet are files of this
 * app (no CDN, no inline script), so it works offline and under a CSP of `'self'`.
 */
const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tally API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui.js"></script>
</body>
</html>
`;

/** `GET /docs` and its two assets; `assets` is awaited on the first request for them. */
export function docsRoutes({ assets }: { assets: Promise<BrowserAssets> }): Hono {
  assets.catch(() => undefined); // answered per request; not an unhandled rejection meanwhile
  const app = new Hono();
  app.get('/docs', (c) => c.html(DOCS_HTML));
  app.get('/docs/swagger-ui.js', async (c) => c.body(...assetBody((await assets).script, 'text/javascript')));
  app.get('/docs/swagger-ui.css', async (c) => c.body(...assetBody((await assets).style, 'text/css')));
  return app;
}
