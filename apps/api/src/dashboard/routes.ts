import { Hono } from 'hono';
import { assetBody, type BrowserAssets } from '../assets';
import { DASHBOARD_CSS, dashboardHtml, FAVICON_SVG } from './page';

export interface DashboardOptions {
  /** The script (with the chart library) and its style sheet; awaited on the first request for them (a failed build answers 500 there, not at start). */
  assets: Promise<BrowserAssets>;
  /** Show the token field: the page itself needs no token, its data calls do. */
  authRequired: boolean;
}

/** `GET /` (the dashboard), `/dashboard.js`, `/dashboard.css` and `/favicon.svg`; mount these before any auth. */
export function dashboardRoutes({ assets, authRequired }: DashboardOptions): Hono {
  assets.catch(() => undefined); // answered per request; not an unhandled rejection meanwhile
  const html = dashboardHtml({ authRequired });
  const app = new Hono();
  app.get('/', (c) => c.html(html));
  app.get('/dashboard.js', async (c) => c.body(...assetBody((await assets).script, 'text/javascript')));
  app.get('/dashboard.css', async (c) => c.body(...assetBody(`${(await assets).style}\n${DASHBOARD_CSS}`, 'text/css')));
  app.get('/favicon.svg', (c) => c.body(FAVICON_SVG, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'max-age=86400' }));
  return app;
}
