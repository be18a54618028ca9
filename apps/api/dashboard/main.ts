// The dashboard page's script: draws the series and the totals of the selected range. A range that
// ends now follows the API's live stream; where the stream is unavailable the page polls every few
// seconds, and says so. Bundled with uPlot by bundle.assets.mjs.
import uPlot from 'uplot';
import { STATUSES, type Status } from '@tally/contract/statuses';
import {
  addDevice,
  addressOfDevices,
  describeChoice,
  deviceQuery,
  devicesInAddress,
  removeDevice,
  SUGGESTIONS,
  suggestionQuery,
  TOP_ROWS,
} from '../src/dashboard/devices';
import { mergePoints, takeEvents, type Point, type SeriesUpdate } from '../src/dashboard/events';
import { STATUS_COLOURS } from '../src/dashboard/page';
import { chooseStep, PRESETS, presetRange, rangeProblem, rangeQuery, windowQuery, type Preset, type Step, type TimeRange } from '../src/dashboard/range';
import { stepAt, timeZone, UTC } from '@tally/store/series-calendar';

type Counts = Record<string, number>;
interface Series {
  points: { start: string; counts: Counts }[];
}
interface DevicePage {
  devices: { device: string }[];
}
interface TopDevices {
  status: number;
  devices: { device: string; count: number; counts: Counts }[];
}
type Selection = { kind: 'preset'; preset: Preset } | { kind: 'custom'; range: TimeRange };

const REFRESH_MS = 5000;
/** After the live stream failed, the page polls this long before it tries the stream again. */
const LIVE_RETRY_MS = 30_000;
/** The table of top devices is not live: while the chart is, it is read again this often. */
const TOP_REFRESH_MS = 30_000;
const TOKEN_KEY = 'tally-token';
/** Tick spacings of the count axis: 1, 2, 5, 10, 20, 50, ... (never a fraction of a reading). */
const WHOLE_NUMBERS = Array.from({ length: 10 }, (_, power) => [1, 2, 5].map((m) => m * 10 ** power)).flat();

class RequestFailed extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const mode = element<HTMLSpanElement>('mode');
const [presets, from, to, tokenInput, errorBox, statusLine, chartBox, zoneNote, download] = [
  element<HTMLFieldSetElement>('presets'),
  element<HTMLInputElement>('from'),
  element<HTMLInputElement>('to'),
  element<HTMLInputElement>('token'),
  element<HTMLParagraphElement>('error'),
  element<HTMLParagraphElement>('status'),
  element<HTMLDivElement>('chart'),
  element<HTMLSpanElement>('zone'),
  element<HTMLButtonElement>('download'),
];

/** The browser's time zone: the steps (days from local midnight, months from the first) and the times shown are in it. */
const zone = timeZone(Intl.DateTimeFormat().resolvedOptions().timeZone) ?? UTC;
zoneNote.textContent = `Times in ${zone.name} (this browser's time zone)`;

const [search, options, chips, fleetNote, topStatus, topBody, topEmpty] = [
  element<HTMLInputElement>('device-search'),
  element<HTMLUListElement>('device-options'),
  element<HTMLUListElement>('chips'),
  element<HTMLSpanElement>('fleet-note'),
  element<HTMLSelectElement>('top-status'),
  document.querySelector('#top-devices tbody') as HTMLTableSectionElement,
  element<HTMLParagraphElement>('top-empty'),
];

let selection: Selection = { kind: 'preset', preset: PRESETS.find((preset) => preset.label === '1 h') as Preset };
/** The devices charted, in the order chosen; none: the whole fleet. Kept in the address (`#device=a&device=b`), to share or bookmark. */
let chosen: string[] = devicesInAddress(location.hash);
/** Bumped on every load, so that an answer to an older one is dropped. */
let generation = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let topTimer: ReturnType<typeof setTimeout> | undefined;
/** Ends the live stream being followed. */
let stream: AbortController | undefined;
/** The page polls until then: the live stream failed, for `liveProblem`. */
let liveRetryAt = 0;
let liveProblem = '';
let chart: uPlot | undefined;
/** Draws the last answer again (at the chart box's new width). */
let redraw: (() => void) | undefined;

tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
tokenInput.addEventListener('change', () => {
  sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
  void load();
});

for (const preset of PRESETS) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = preset.label;
  button.addEventListener('click', () => select({ kind: 'preset', preset }));
  presets.append(button);
}

element<HTMLFormElement>('controls').addEventListener('submit', (event) => {
  event.preventDefault();
  const range = { start: new Date(from.value), end: new Date(to.value) };
  const problem = rangeProblem(range, zone);
  if (problem) return showError(problem);
  select({ kind: 'custom', range });
});

function select(next: Selection): void {
  selection = next;
  void load();
}

function currentRange(): TimeRange {
  return selection.kind === 'custom' ? selection.range : presetRange(selection.preset, new Date(), zone);
}

async function load(): Promise<void> {
  clearTimeout(timer);
  clearTimeout(topTimer);
  stream?.abort();
  const mine = ++generation;
  for (const button of presets.querySelectorAll('button')) {
    button.setAttribute('aria-pressed', String(selection.kind === 'preset' && button.textContent === selection.preset.label));
  }
  const range = currentRange();
  const step = chooseStep(range, zone);
  if (!step) return showError(rangeProblem(range, zone) ?? 'The range cannot be shown');
  shown = { range, step };
  if (document.activeElement !== from && document.activeElement !== to) {
    [from.value, to.value] = [localInputValue(range.start), localInputValue(range.end)];
  }
  const following = liveWindow(selection);
  if (typeof following !== 'string' && Date.now() >= liveRetryAt) return follow(mine, following, step);
  try {
    const devices = deviceQuery(chosen);
    const status = topStatus.value;
    const [series, totals, top] = await Promise.all([
      getJson<Series>(`/status-counts/series?${rangeQuery(range, { step, zone })}${devices}`),
      getJson<Counts>(`/status-counts?${rangeQuery(range)}${devices}`),
      getJson<TopDevices>(`/status-counts/top-devices?${rangeQuery(range)}&status=${status}&limit=${TOP_ROWS}`),
    ]);
    if (mine !== generation) return;
    redraw = () => draw(series, range, step);
    redraw();
    showTotals(totals);
    showTop(top);
    showError(undefined);
    const live = selection.kind === 'preset' ? `${selection.preset.label.toLowerCase()}, refreshed every ${REFRESH_MS / 1000} s` : 'fixed range';
    showMode(selection.kind === 'preset' ? `polling every ${REFRESH_MS / 1000} s: live updates unavailable (${typeof following === 'string' ? following : liveProblem})` : undefined);
    statusLine.textContent = `${range.start.toLocaleString()} – ${range.end.toLocaleString()} · ${describeChoice(chosen)} · ${step} bars · ${live} · updated ${new Date().toLocaleTimeString()}`;
    // A range that ends now moves on.
    if (selection.kind === 'preset') timer = setTimeout(() => void load(), REFRESH_MS);
  } catch (error) {
    if (mine !== generation) return;
    showError(describe(error));
    // The API unreachable or failing (5xx) recovers by itself: try again. A 4xx needs the person (a token, a range).
    if (!(error instanceof RequestFailed && error.status >= 400 && error.status < 500)) {
      timer = setTimeout(() => void load(), REFRESH_MS);
    }
  }
}

/**
 * Follows the live stream of the last `ms`: the series first, then its changed points as they are
 * stored. When the stream cannot be had, or breaks, the page polls (and says so) and tries the
 * stream again after `LIVE_RETRY_MS`.
 */
async function follow(mine: number, { label, ms }: { label: string; ms: number }, step: Step): Promise<void> {
  const controller = new AbortController();
  stream = controller;
  let points: Point[] = [];
  try {
    const response = await request(`/status-counts/stream?${windowQuery(ms, step, zone)}${deviceQuery(chosen)}`, controller.signal);
    if (!response.ok || !response.body) throw await failure(response);
    void refreshTop(mine);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const taken = takeEvents(text + value);
      text = taken.rest;
      for (const event of taken.events) {
        if (event.type === 'unavailable') {
          const { status, error } = JSON.parse(event.data) as { status: number; error: { message: string } };
          showError(`The API answered ${status}: ${error.message}. The chart goes on once it can`);
          continue;
        }
        const update = JSON.parse(event.data) as SeriesUpdate;
        points = event.type === 'series' ? update.points : mergePoints(points, update);
        const range = { start: new Date(update.start_time), end: new Date(update.end_time) };
        redraw = () => draw({ points }, range, step);
        redraw();
        showTotals(sumCounts(points));
        showError(undefined);
        showMode('live');
        statusLine.textContent = `${range.start.toLocaleString()} – ${range.end.toLocaleString()} · ${describeChoice(chosen)} · ${step} bars · last ${label}, live · updated ${new Date().toLocaleTimeString()}`;
      }
    }
    // The API ended it (a restart): follow again.
    if (mine === generation) timer = setTimeout(() => void load(), REFRESH_MS);
  } catch (error) {
    if (controller.signal.aborted || mine !== generation) return;
    if (error instanceof RequestFailed && error.status >= 400 && error.status < 500) return showError(describe(error));
    liveRetryAt = Date.now() + LIVE_RETRY_MS;
    liveProblem = error instanceof RequestFailed && error.status > 0 ? `${error.status}: ${error.message}` : 'the stream broke';
    void load();
  }
}

/** The table of top devices, now and every `TOP_REFRESH_MS` while the chart is live. */
async function refreshTop(mine: number): Promise<void> {
  const range = currentRange();
  try {
    const top = await getJson<TopDevices>(`/status-counts/top-devices?${rangeQuery(range)}&status=${topStatus.value}&limit=${TOP_ROWS}`);
    if (mine === generation) showTop(top);
  } catch {
    // Kept as it was; the next refresh tries again.
  }
  if (mine === generation) topTimer = setTimeout(() => void refreshTop(mine), TOP_REFRESH_MS);
}

function sumCounts(points: readonly Point[]): Counts {
  const totals: Counts = {};
  for (const { counts } of points) for (const [status, count] of Object.entries(counts)) totals[status] = (totals[status] ?? 0) + count;
  return totals;
}

/** The rolling window of `selection` that the live stream follows, or why it cannot: calendar ranges (today, this month) are polled. */
function liveWindow(selection: Selection): { label: string; ms: number } | string {
  if (selection.kind !== 'preset') return 'a fixed range';
  if (!('ms' in selection.preset)) return `${selection.preset.label.toLowerCase()} is a calendar range`;
  return selection.preset;
}

/** Says whether the chart is live, or why it is not; nothing for a fixed range. */
function showMode(text: string | undefined): void {
  mode.hidden = text === undefined;
  mode.dataset['mode'] = text === 'live' ? 'live' : 'polling';
  mode.textContent = text === 'live' ? '● live' : (text ?? '');
}

async function request(path: string, signal?: AbortSignal): Promise<Response> {
  const token = tokenInput.value.trim();
  try {
    return await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {}, ...(signal && { signal }) });
  } catch {
    throw new RequestFailed(0, 'Cannot reach the API');
  }
}

/** The error an unsuccessful response answered, with its message. */
async function failure(response: Response): Promise<RequestFailed> {
  const body: unknown = await response.json().catch(() => undefined);
  const message = (body as { error?: { message?: string } } | undefined)?.error?.message;
  return new RequestFailed(response.status, message ?? response.statusText);
}

async function getJson<T>(path: string): Promise<T> {
  const response = await request(path);
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

/** The range and step last asked for: what *Download CSV* exports. */
let shown: { range: TimeRange; step: Step } | undefined;

download.addEventListener('click', () => {
  if (!shown) return;
  const path = `/status-counts/series?${rangeQuery(shown.range, { step: shown.step, zone })}${deviceQuery(chosen)}&format=csv`;
  // Fetched (it may need the token), then saved from a blob: a plain link cannot send the header.
  request(path)
    .then(async (response) => {
      if (!response.ok) throw await failure(response);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(await response.blob());
      link.download = `tally-${shown?.step ?? 'series'}-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.csv`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    })
    .catch((error: unknown) => showError(describe(error)));
});

function describe(error: unknown): string {
  if (!(error instanceof RequestFailed)) return `Unexpected error: ${String(error)}`;
  if (error.status === 0) return `${error.message}: is it running? Retrying every ${REFRESH_MS / 1000} s`;
  if (error.status === 401) return 'The API needs its token: enter it in the API token field';
  return `The API answered ${error.status}: ${error.message}. Retrying every ${REFRESH_MS / 1000} s`;
}

function showError(message: string | undefined): void {
  errorBox.hidden = message === undefined;
  errorBox.textContent = message ?? '';
}

function showTotals(totals: Counts): void {
  let all = 0;
  for (const cell of document.querySelectorAll<HTMLTableCellElement>('#totals tbody td')) {
    const count = totals[cell.dataset['status'] ?? ''] ?? 0;
    all += count;
    cell.textContent = count.toLocaleString();
  }
  const allCell = document.querySelector<HTMLTableCellElement>('#totals td[data-status="all"]');
  if (allCell) allCell.textContent = all.toLocaleString();
}

function showTop(top: TopDevices): void {
  topBody.replaceChildren(
    ...top.devices.map(({ device, count, counts }) => {
      const all = Object.values(counts).reduce((sum, n) => sum + n, 0);
      const row = document.createElement('tr');
      const name = document.createElement('td');
      const pick = document.createElement('button');
      pick.type = 'button';
      pick.textContent = device;
      pick.title = `Chart ${device}`;
      pick.addEventListener('click', () => choose(device));
      name.append(pick);
      const inStatus = document.createElement('td');
      const bar = document.createElement('span');
      bar.className = `bar status-${top.status}`;
      bar.style.width = `${Math.round((count / Math.max(1, top.devices[0]?.count ?? 1)) * 4 * 10) / 10}rem`;
      inStatus.append(bar, count.toLocaleString());
      const total = document.createElement('td');
      total.textContent = all.toLocaleString();
      const share = document.createElement('td');
      share.textContent = `${Math.round((count / Math.max(1, all)) * 100)} %`;
      row.append(name, inStatus, total, share);
      return row;
    }),
  );
  topEmpty.hidden = top.devices.length > 0;
}

/** Charts `device` too. */
function choose(device: string): void {
  chosen = addDevice(chosen, device);
  renderChips();
  closeOptions();
  search.value = '';
  void load();
}

function renderChips(): void {
  chips.replaceChildren(
    ...chosen.map((device) => {
      const chip = document.createElement('li');
      chip.dataset['device'] = device;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = '×';
      remove.setAttribute('aria-label', `Remove ${device}`);
      remove.addEventListener('click', () => {
        chosen = removeDevice(chosen, device);
        renderChips();
        void load();
      });
      chip.append(device, remove);
      return chip;
    }),
  );
  fleetNote.hidden = chosen.length > 0;
  history.replaceState(null, '', `${location.pathname}${location.search}${addressOfDevices(chosen)}`);
}

function closeOptions(): void {
  options.hidden = true;
  search.setAttribute('aria-expanded', 'false');
}

/** Bumped on every search, so that an answer to an older one is dropped. */
let searchGeneration = 0;
let searchTimer: ReturnType<typeof setTimeout> | undefined;

async function suggest(): Promise<void> {
  const mine = ++searchGeneration;
  const typed = search.value;
  let items: HTMLLIElement[];
  try {
    const page = await getJson<DevicePage>(`/devices?${suggestionQuery(typed, chosen.length)}`);
    const found = page.devices.map(({ device }) => device).filter((device) => !chosen.includes(device)).slice(0, SUGGESTIONS);
    items = found.map((device, i) => {
      const item = document.createElement('li');
      item.setAttribute('role', 'option');
      item.setAttribute('aria-selected', String(i === 0));
      item.dataset['device'] = device;
      item.textContent = device;
      // mousedown, not click: the search field keeps its focus and the list stays until chosen.
      item.addEventListener('mousedown', (event) => {
        event.preventDefault();
        choose(device);
      });
      return item;
    });
    if (items.length === 0) items = [note(typed.trim() ? `No device starts with “${typed.trim()}”` : 'No devices yet')];
  } catch (error) {
    items = [note(error instanceof RequestFailed && error.status === 400 ? error.message : describe(error))];
  }
  if (mine !== searchGeneration) return;
  options.replaceChildren(...items);
  options.hidden = false;
  search.setAttribute('aria-expanded', 'true');
}

function note(text: string): HTMLLIElement {
  const item = document.createElement('li');
  item.className = 'note';
  item.textContent = text;
  return item;
}

search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => void suggest(), 150);
});
search.addEventListener('focus', () => void suggest());
search.addEventListener('blur', closeOptions);
search.addEventListener('keydown', (event) => {
  const items = [...options.querySelectorAll<HTMLLIElement>('li[role="option"]')];
  const current = items.findIndex((item) => item.getAttribute('aria-selected') === 'true');
  if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault();
    const next = items.length === 0 ? -1 : (current + (event.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
    items.forEach((item, i) => item.setAttribute('aria-selected', String(i === next)));
  } else if (event.key === 'Enter') {
    event.preventDefault();
    const device = items[Math.max(0, current)]?.dataset['device'];
    if (device) choose(device);
  } else if (event.key === 'Escape') {
    closeOptions();
  } else if (event.key === 'Backspace' && search.value === '' && chosen.length > 0) {
    chosen = chosen.slice(0, -1);
    renderChips();
    void load();
  }
});
topStatus.addEventListener('change', () => void load());

/**
 * Stacked bars: series k holds the sum of statuses 0..k, drawn from the tallest down, so that each
 * status shows as its own band. The legend shows each status's own count.
 */
function draw(series: Pick<Series, 'points'>, range: TimeRange, step: Step): void {
  const statuses = STATUSES.map((status) => series.points.map((point) => point.counts[status] ?? 0));
  // Each bar where its step starts in the zone (the first point, clipped to the range, too).
  const first = stepAt(range.start.getTime(), step, zone).start.getTime() / 1000;
  const x = series.points.map((point, i) => (i === 0 ? first : Date.parse(point.start) / 1000));
  const stacked = statuses.map((_, k) => x.map((__, i) => statuses.slice(0, k + 1).reduce((sum, counts) => sum + (counts[i] ?? 0), 0)));
  const order = [...statuses.keys()].reverse();
  const data: uPlot.AlignedData = [x, ...order.map((k) => stacked[k] ?? [])];
  const xMin = first;
  const xMax = range.end.getTime() / 1000;
  const size = { width: chartBox.clientWidth, height: Math.max(260, Math.min(420, Math.round(chartBox.clientWidth * 0.5))) };
  chart?.destroy();
  chart = new uPlot(
    {
      ...size,
      scales: { x: { time: true, range: () => [xMin, xMax] }, y: { range: (_, __, max) => [0, Math.max(1, max) * 1.05] } },
      axes: [{}, { label: 'readings', size: 56, incrs: WHOLE_NUMBERS }],
      cursor: { points: { show: false } },
      series: [
        {},
        ...order.map((k) => ({
          label: `Status ${k}`,
          fill: STATUS_COLOURS[STATUSES[k] as Status],
          stroke: STATUS_COLOURS[STATUSES[k] as Status],
          width: 0,
          paths: uPlot.paths.bars?.({ size: [0.9, 64], align: 1 }),
          points: { show: false },
          value: (_: uPlot, __: unknown, ___: number, index: number | null) =>
            index === null ? '–' : (statuses[k]?.[index] ?? 0).toLocaleString(),
        })),
      ],
    },
    data,
    chartBox,
  );
}

/** `yyyy-MM-ddTHH:mm:ss` in local time, as a datetime-local input takes it. */
function localInputValue(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 19);
}

renderChips();
new ResizeObserver(() => {
  if (chart && chart.width !== chartBox.clientWidth) redraw?.();
}).observe(chartBox);
void load();
