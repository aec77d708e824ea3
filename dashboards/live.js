/* dualguard dashboard: live updates from the daemon's event stream (GET /api/v1/events,
 * server-sent events), read with fetch() so the page's Authorization header goes with it.
 * Alarm, hazard and risk events reload what they change at once; point events move the live
 * values in the alarm list. While the stream is open, polling (app.js) only runs every
 * LIVE_POLL_MS as a safety net; when it fails the page polls every POLL_MS again, reconnects
 * with backoff and resumes after the last event id it saw (or reloads everything on "resync").
 * The stream is alive while anything arrives: the daemon sends a comment every 15 s, so data is
 * stale after LIVE_STALE_MS of silence. `?poll=MS` sets the polling interval (diagnostics, tests).
 * Loaded after app.js, whose helpers (app, getJSON, authHeaders, render, loadCore, loadLedger,
 * updateFreshness, askForToken) it uses. */
'use strict';

const LIVE_POLL_MS = 30000;
const LIVE_STALE_MS = 25000;
const LIVE_RETRY_MS = [1000, 3000, 10000, 30000];
const LIVE_DEBOUNCE_MS = 150;
const LIVE_RENDER_MS = 500;  /* point values re-render the alarm list at most this often */

const live = {
  open: false,
  lastId: null,       /* id of the last event received */
  lastData: 0,        /* wall time anything arrived */
  failures: 0,
  ctl: null,
  pending: new Set(), /* 'core', 'ledger': reloads due */
  timer: null,
  renderTimer: null,
  points: new Map(),  /* point id -> its latest pushed sample, re-applied over older reloads */
  events: 0,          /* events handled (diagnostics and tests) */
};
window.dgLive = live;

function pollOverride() {
  const v = Number(new URLSearchParams(location.search).get('poll'));
  return Number.isFinite(v) && v >= 1000 ? v : 0;
}

function pollInterval() { return pollOverride() || (live.open ? LIVE_POLL_MS : POLL_MS); }
function liveOpen() { return live.open; }
function staleAfter() {
  if (live.open) return LIVE_STALE_MS;
  return Math.max(STALE_MS, 3 * pollInterval() + 1000);
}

/* ---- reloads the events call for -------------------------------------------------------------- */

function scheduleReload(...parts) {
  for (const p of parts) live.pending.add(p);
  if (!live.timer) live.timer = setTimeout(runReloads, LIVE_DEBOUNCE_MS);
}

async function runReloads() {
  live.timer = null;
  const parts = new Set(live.pending);
  live.pending.clear();
  try {
    await Promise.all([parts.has('core') ? loadCore() : null, parts.has('ledger') ? loadLedger() : null]);
    app.lastOk = Date.now();
    app.failing = false;
    render();
  } catch (e) {
    for (const p of parts) live.pending.add(p); /* the next poll or event tries again */
  }
  updateFreshness();
}

function renderSoon() {
  if (live.renderTimer) return;
  live.renderTimer = setTimeout(() => {
    live.renderTimer = null;
    try { renderAlarms(); } catch (e) { console.error('render', e); }
  }, LIVE_RENDER_MS);
}

/* A reload answered before a pushed sample reached the daemon's answer must not undo it: every
 * alarm takes the newer of its reloaded and its pushed sample (by the daemon's receive time). */
function applyPushedPoints() {
  let touched = false;
  for (const a of app.data.alarms || []) {
    const d = live.points.get(a.point);
    if (!d || (a.live_received_ms || 0) > d.received_ms) continue;
    if (a.live_value === d.value && a.live_quality === d.quality) continue;
    a.live_value = d.value;
    a.live_quality = d.quality;
    a.live_received_ms = d.received_ms;
    touched = true;
  }
  return touched;
}

function onPoint(d) {
  live.points.set(d.point, d);
  if (applyPushedPoints()) renderSoon();
}

function onEvent(type, data) {
  live.events++;
  switch (type) {
  case 'alarm': scheduleReload('core'); break;
  case 'risk': scheduleReload('core'); break;
  case 'hazard': scheduleReload('core', 'ledger'); break;
  case 'point': onPoint(data); break;
  case 'hello': case 'resync': scheduleReload('core', 'ledger'); break;
  default: break;
  }
}

/* ---- the stream ------------------------------------------------------------------------------- */

/* One "id/event/data" block; comments (": ping") only prove the stream alive. */
function parseBlock(block) {
  let type = 'message', data = '', id = null;
  for (const line of block.split('\n')) {
    if (!line || line[0] === ':') continue;
    const i = line.indexOf(':');
    const key = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (key === 'event') type = value;
    else if (key === 'data') data += value;
    else if (key === 'id') id = value;
  }
  if (id !== null) live.lastId = id;
  if (!data) return;
  try {
    onEvent(type, JSON.parse(data));
  } catch (e) {
    console.error('event', type, e);
  }
}

async function readStream(body) {
  const reader = body.getReader(), decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    live.lastData = Date.now();
    /* The stream keeps loaded data current; it does not stand in for the first load. */
    if (app.lastOk) {
      app.lastOk = live.lastData;
      app.failing = false;
    }
    buf += decoder.decode(value, {stream: true});
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      parseBlock(buf.slice(0, end));
      buf = buf.slice(end + 2);
    }
  }
}

async function startLive() {
  live.ctl = new AbortController();
  const headers = {Accept: 'text/event-stream', ...authHeaders()};
  if (live.lastId) headers['Last-Event-ID'] = live.lastId;
  try {
    const r = await fetch('/api/v1/events', {headers, cache: 'no-store', signal: live.ctl.signal});
    if (r.status === 401) askForToken();
    if (!r.ok || !r.body) throw new Error('events: HTTP ' + r.status);
    live.open = true;
    live.failures = 0;
    live.lastData = Date.now();
    updateFreshness();
    await readStream(r.body);
  } catch (e) {
    /* network, HTTP or abort: fall back to polling below */
  }
  const wasOpen = live.open;
  live.open = false;
  if (wasOpen) poll(); /* back to polling now, not at the next safety-net poll */
  updateFreshness();
  const wait = LIVE_RETRY_MS[Math.min(live.failures++, LIVE_RETRY_MS.length - 1)];
  live.retryTimer = setTimeout(startLive, wait);
}

/* Silence past LIVE_STALE_MS means the stream is dead although the connection looks open: drop
 * it (the reconnect resumes after the last id). A new token also reconnects, with it. */
function checkLive() {
  if (live.open && Date.now() - live.lastData > LIVE_STALE_MS && live.ctl) live.ctl.abort();
}

function restartLive() {
  live.failures = 0;
  if (live.open) {
    live.ctl.abort(); /* startLive reconnects */
  } else if (live.retryTimer) {
    clearTimeout(live.retryTimer);
    live.retryTimer = null;
    startLive();
  }
}

setInterval(checkLive, 1000);
