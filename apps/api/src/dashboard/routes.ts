import { Hono } from 'hono';
import { dashboardHtml, FAVICON_SVG } from './page';

/** The page's script (with the chart library) and style sheet, built for browsers. */
export interface DashboardAssets {
  script: string;
  style: string;
}

export interface DashboardOptions {
  /** Awaited on the first request for them (a failed build answers 500 there, not at start). */
  assets: Promise<DashboardAssets>;
  /** Show the token field: the page itself needs no token, its data calls do. */
  authRequired: boolean;
}

/** `GET /` (the dashboard), `/dashboard.js`, `/dashboard.css` and `/favicon.svg`; mount these before any auth. */
export function dashboardRoutes({ assets, authRequired }: DashboardOptions): Hono {
  assets.catch(() => undefined); // answered per request; not an unhandled rejection meanwhile
  const html = dashboardHtml({ authRequired });
  const app = new Hono();
  app.get('/', (c) => c.html(html));
  app.get('/dashboard.js', async (c) =>
    c.body((await assets).script, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }),
  );
  app.get('/dashboard.css', async (c) =>
    c.body((await assets).style, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' }),
  );
  app.get('/favicon.svg', (c) => c.body(FAVICON_SVG, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'max-age=86400' }));
  return app;
}
