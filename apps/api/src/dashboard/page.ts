// The statuses alone (not the contract's index, which brings zod): this module is bundled into the page's script.
import { STATUSES, type Status } from '@tally/contract/statuses';

/** Shared with the page's script: one colour per status (Okabe-Ito, told apart with colour blindness). */
export const STATUS_COLOURS: Readonly<Record<Status, string>> = {
  0: '#0072b2',
  1: '#e69f00',
  2: '#009e73',
  3: '#cc79a7',
  4: '#56b4e9',
  5: '#d55e00',
  6: '#b8a500',
};

/** The status the table of top devices shows first: the highest, most often the one to worry about. */
export const TOP_STATUS_DEFAULT: Status = STATUSES.at(-1) as Status;

/** Three stacked bars in the status colours. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">
<rect x="1" y="6" width="4" height="10" fill="${STATUS_COLOURS[0]}"/><rect x="1" y="3" width="4" height="3" fill="${STATUS_COLOURS[1]}"/>
<rect x="6" y="9" width="4" height="7" fill="${STATUS_COLOURS[0]}"/><rect x="6" y="5" width="4" height="4" fill="${STATUS_COLOURS[2]}"/>
<rect x="11" y="4" width="4" height="12" fill="${STATUS_COLOURS[0]}"/><rect x="11" y="1" width="4" height="3" fill="${STATUS_COLOURS[5]}"/>
</svg>`;

/** The page's own rules, served after uPlot's in `/dashboard.css` (no inline style: the CSP forbids it). */
export const DASHBOARD_CSS = `:root { color-scheme: light; font: 15px/1.4 system-ui, sans-serif; color: #222; }
body { margin: 0 auto; padding: .75rem 1rem 2rem; max-width: 80rem; }
header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
h1 { font-size: 1.4rem; margin: 0 auto 0 0; }
form { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin: .75rem 0; }
fieldset { border: 0; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: .25rem; }
button, input { font: inherit; padding: .3rem .6rem; border: 1px solid #bbb; border-radius: 4px; background: #fff; }
button[aria-pressed="true"] { background: #222; color: #fff; border-color: #222; }
label { display: flex; flex-direction: column; font-size: .8rem; color: #555; }
#error { background: #fde8e8; border: 1px solid #e0a0a0; color: #8a1111; padding: .5rem .75rem; border-radius: 4px; }
#status { color: #555; font-size: .85rem; margin: 0 0 .5rem; }
#mode { font-size: .85rem; }
#mode[data-mode="live"] { color: #0a7d32; font-weight: 600; }
#mode[data-mode="polling"] { color: #8a5a00; }
.view { display: grid; grid-template-columns: minmax(0, 1fr) 13rem; gap: 1rem; align-items: start; }
@media (max-width: 44rem) { .view { grid-template-columns: minmax(0, 1fr); } }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
th, td { padding: .2rem .4rem; border-bottom: 1px solid #eee; }
th { text-align: left; font-weight: normal; white-space: nowrap; }
td { text-align: right; }
tfoot th, tfoot td { font-weight: 600; border-bottom: 0; }
.swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .4rem; vertical-align: -.05rem; }
#chart { min-height: 320px; }
#devices { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin: 0 0 .75rem; }
.search { position: relative; }
#device-options { position: absolute; z-index: 2; left: 0; top: 100%; min-width: 14rem; margin: 2px 0 0; padding: .2rem 0; list-style: none; background: #fff; border: 1px solid #bbb; border-radius: 4px; box-shadow: 0 2px 6px #0002; }
#device-options li { padding: .25rem .6rem; cursor: pointer; white-space: nowrap; }
#device-options li[aria-selected="true"], #device-options li:hover { background: #eef3fb; }
#device-options li.note { color: #666; cursor: default; background: none; white-space: normal; }
#chips { display: contents; list-style: none; }
#chips li { display: inline-flex; align-items: center; gap: .2rem; background: #f0f0f0; border: 1px solid #ccc; border-radius: 1rem; padding: .1rem .2rem .1rem .6rem; font-size: .9rem; }
#chips button { border: 0; background: none; padding: 0 .35rem; line-height: 1; cursor: pointer; border-radius: 1rem; }
#chips button:hover { background: #ddd; }
#top { margin-top: 1.25rem; }
#top h2 { font-size: 1.05rem; font-weight: 600; margin: 0 0 .4rem; }
#top select { font: inherit; padding: .15rem .3rem; }
#top-devices th:first-child, #top-devices td:first-child { text-align: left; }
#top-devices thead th { font-size: .8rem; color: #555; text-align: right; }
#top-devices td button { font: inherit; border: 0; background: none; padding: 0; color: #0645ad; cursor: pointer; text-align: left; }
#top-devices .bar { display: inline-block; height: .6rem; border-radius: 2px; vertical-align: middle; margin-right: .4rem; }
#top-empty { color: #555; }
${STATUSES.map((status) => `.status-${status} { background: ${STATUS_COLOURS[status]}; }`).join('\n')}
`;

/**
 * The dashboard's HTML: a chart of the counts per status over time and the totals beside it. The
 * script (`/dashboard.js`) fills it; nothing comes from another origin.
 */
export function dashboardHtml({ authRequired }: { authRequired: boolean }): string {
  const rows = STATUSES.map(
    (status) =>
      `<tr><th scope="row"><span class="swatch status-${status}"></span>Status ${status}</th><td data-status="${status}">–</td></tr>`,
  ).join('\n      ');
  const statusOptions = STATUSES.map((status) => `<option value="${status}"${status === TOP_STATUS_DEFAULT ? ' selected' : ''}>Status ${status}</option>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tally</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard.css">
</head>
<body data-auth="${authRequired ? 'required' : 'none'}">
<header>
  <h1>Tally: readings per status</h1>
  <span id="mode" role="status" hidden></span>
  <a href="/docs">API docs</a>
</header>
<form id="controls">
  <fieldset id="presets" aria-label="Range ending now"></fieldset>
  <label>From <input id="from" type="datetime-local" step="1"></label>
  <label>To <input id="to" type="datetime-local" step="1"></label>
  <button id="custom" type="submit">Show range</button>
  <label id="token-field"${authRequired ? '' : ' hidden'}>API token <input id="token" type="password" autocomplete="off"></label>
</form>
<div id="devices">
  <div class="search">
    <label>Devices <input id="device-search" type="search" placeholder="Type to find a device" autocomplete="off" spellcheck="false"
      role="combobox" aria-autocomplete="list" aria-controls="device-options" aria-expanded="false"></label>
    <ul id="device-options" role="listbox" aria-label="Matching devices" hidden></ul>
  </div>
  <ul id="chips" aria-label="Chosen devices"></ul>
  <span id="fleet-note">showing the whole fleet</span>
</div>
<p id="error" role="alert" hidden></p>
<p id="status" aria-live="polite">Loading…</p>
<div class="view">
  <div id="chart" role="img" aria-label="Readings per status over time, stacked"></div>
  <table id="totals">
    <caption>Totals for the range</caption>
    <tbody>
      ${rows}
    </tbody>
    <tfoot><tr><th scope="row">All</th><td data-status="all">–</td></tr></tfoot>
  </table>
</div>
<section id="top" aria-labelledby="top-title">
  <h2 id="top-title">Devices most often in <select id="top-status" aria-label="Status">${statusOptions}</select> over the range</h2>
  <table id="top-devices">
    <thead><tr><th scope="col">Device</th><th scope="col">Readings in the status</th><th scope="col">All its readings</th><th scope="col">Share</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="top-empty" hidden>No device was in this status over the range.</p>
</section>
<script src="/dashboard.js"></script>
</body>
</html>
`;
}
