/* dualguard dashboard: point detail (#point/ID): the stored history as a trend drawn in inline
 * SVG with the limits of the rules reading the point, the current value and its quality, and
 * the rules with the state of their alarms. Reached from a point in the alarm list. Data from
 * GET /api/v1/points/{id}/history. Loaded after app.js (t, h, $, label, app, I18N, getJSON,
 * fmtNum, fmtTime). */
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';
const TREND_RANGES = [['1h', 3600000], ['8h', 8 * 3600000], ['24h', 86400000], ['7d', 7 * 86400000]];
const TREND_REFRESH_MS = 5000;
const LIMIT_TYPES = ['high', 'low'];   /* rules whose stage limits are values of the point */

Object.assign(I18N.zh, {
  'point.title': '测点详情', 'point.current': '当前值', 'point.quality': '质量', 'point.updated': '采集时间',
  'point.unit': '风险单元', 'point.rules': '规则与报警', 'point.range': '时间范围', 'point.noData': '该时间范围内没有存储的数据',
  'point.back': '返回报警列表', 'point.rule': '规则', 'point.type': '类型', 'point.stages': '阶段与限值',
  'point.alarm': '报警状态', 'point.truncated': '数据点过多，只显示最新的 {n} 个', 'point.unknown': '未知测点 {p}',
  'point.samples': '{n} 个数据点', 'point.qualityIs': '质量：{q}', 'point.limitLine': '限值线',
  'range.1h': '1 小时', 'range.8h': '8 小时', 'range.24h': '24 小时', 'range.7d': '7 天',
  'quality.good': '正常', 'quality.bad_payload': '数据格式错误', 'quality.comm_fault': '通讯故障',
  'quality.device_fault': '设备故障', 'quality.stale': '数据陈旧', 'quality.unknown': '未知',
  'rtype.high': '高限', 'rtype.low': '低限', 'rtype.stale': '数据中断', 'rtype.quality': '质量', 'rtype.rate': '变化率',
  'rtype.expr': '表达式', 'rtype.deviation': '偏差', 'rtype.vote': '表决', 'rtype.aggregate': '综合', 'rtype.state': '开关量',
});
Object.assign(I18N.en, {
  'point.title': 'Point detail', 'point.current': 'Current value', 'point.quality': 'Quality', 'point.updated': 'Sampled',
  'point.unit': 'Risk unit', 'point.rules': 'Rules and alarms', 'point.range': 'Range', 'point.noData': 'No stored data in this range',
  'point.back': 'Back to the alarms', 'point.rule': 'Rule', 'point.type': 'Type', 'point.stages': 'Limits',
  'point.alarm': 'Alarm', 'point.truncated': 'Too many samples: the newest {n} are shown', 'point.unknown': 'Unknown point {p}',
  'point.samples': '{n} samples', 'point.qualityIs': 'Quality: {q}', 'point.limitLine': 'limit',
  'range.1h': '1 h', 'range.8h': '8 h', 'range.24h': '24 h', 'range.7d': '7 days',
  'quality.good': 'good', 'quality.bad_payload': 'bad payload', 'quality.comm_fault': 'communication fault',
  'quality.device_fault': 'device fault', 'quality.stale': 'stale', 'quality.unknown': 'unknown',
  'rtype.high': 'high', 'rtype.low': 'low', 'rtype.stale': 'stale', 'rtype.quality': 'quality', 'rtype.rate': 'rate',
  'rtype.expr': 'expression', 'rtype.deviation': 'deviation', 'rtype.vote': 'vote', 'rtype.aggregate': 'aggregate',
  'rtype.state': 'state',
});

const trend = {id: null, range: '1h', data: null, error: null, timer: null};

function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

/* About n round steps between lo and hi (1, 2 or 5 times a power of ten). */
function niceTicks(lo, hi, n) {
  const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmtAxisTime(ms, span) {
  const d = new Date(ms), p = (x) => String(x).padStart(2, '0');
  const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
  return span > 86400000 ? `${p(d.getMonth() + 1)}-${p(d.getDate())} ${hm}` : hm;
}

/* The limit lines: every stage of the high and low rules reading the point. */
function trendLimits(rules) {
  const out = [];
  for (const r of rules) {
    if (!LIMIT_TYPES.includes(r.type)) continue;
    for (const s of r.stages) out.push({rule: r.id, stage: s.name, limit: s.limit, priority: s.priority});
  }
  return out;
}

/* The chart: good samples as a line (broken where the quality was bad), the limits dashed in
 * their priority's colour with the stage's name and value at the right. */
function trendChart(d, width) {
  const narrow = width < 600;
  const W = Math.max(280, width), H = narrow ? 220 : 320;
  const m = {l: 48, r: narrow ? 64 : 84, t: 12, b: 26};
  const limits = trendLimits(d.rules);
  const good = d.samples.filter((s) => s.quality === 'good' && s.value !== null);
  const values = good.map((s) => s.value).concat(limits.map((l) => l.limit));
  let lo = Math.min(...values), hi = Math.max(...values);
  if (!values.length) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const x = (ms) => m.l + (ms - d.since) / Math.max(1, d.until - d.since) * (W - m.l - m.r);
  const y = (v) => m.t + (hi - v) / (hi - lo) * (H - m.t - m.b);
  const g = svg('svg', {class: 'trend-svg', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
    'aria-label': t('point.title')});
  for (const v of niceTicks(lo, hi, 5)) {
    g.append(svg('line', {class: 'grid', x1: m.l, x2: W - m.r, y1: y(v), y2: y(v)}),
      svg('text', {class: 'tick', x: m.l - 6, y: y(v) + 4, 'text-anchor': 'end'}, fmtNum(v)));
  }
  const span = d.until - d.since;
  for (let i = 0; i <= (narrow ? 3 : 6); i++) {
    const ms = d.since + span * i / (narrow ? 3 : 6);
    g.append(svg('text', {class: 'tick', x: x(ms), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === (narrow ? 3 : 6)
      ? 'end' : 'middle'}, fmtAxisTime(ms, span)));
  }
  g.append(svg('rect', {class: 'frame', x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b}));
  for (const l of limits) {
    g.append(svg('line', {class: 'limit prio-line-' + l.priority, 'data-limit': l.limit, 'data-rule': l.rule,
      x1: m.l, x2: W - m.r, y1: y(l.limit), y2: y(l.limit)}),
    svg('text', {class: 'limit-label prio-line-' + l.priority, x: W - m.r + 4, y: y(l.limit) + 4},
      `${l.stage} ${fmtNum(l.limit)}`));
  }
  /* Samples are stored on change, so each value holds until the next sample: one step line per
   * run of good samples; a bad sample ends the run and is marked at the bottom. The last run
   * holds to the end of the window while the point still reads good. */
  let run = [], n = 0, prevY = null;
  const pt = (px, py) => `${px.toFixed(1)},${py.toFixed(1)}`;
  const flush = (endMs) => {
    if (run.length && endMs !== undefined) run.push(pt(x(endMs), prevY));
    if (run.length) g.append(svg('polyline', {class: 'series', points: run.join(' '), 'data-n': n}));
    run = [];
    n = 0;
    prevY = null;
  };
  for (const s of d.samples) {
    if (s.quality === 'good' && s.value !== null) {
      if (prevY !== null) run.push(pt(x(s.ts_ms), prevY));
      prevY = y(s.value);
      run.push(pt(x(s.ts_ms), prevY));
      n++;
    } else {
      flush(s.ts_ms);
      g.append(svg('rect', {class: 'badq-mark', x: x(s.ts_ms) - 2, y: H - m.b - 6, width: 4, height: 6}));
    }
  }
  flush(d.point.quality === 'good' ? d.until : undefined);
  if (good.length === 1) g.append(svg('circle', {class: 'series-dot', cx: x(good[0].ts_ms), cy: y(good[0].value), r: 3}));
  return g;
}

function stagesText(r) {
  const op = r.type === 'low' ? '≤' : '≥';
  return r.stages.map((s) => LIMIT_TYPES.includes(r.type)
    ? `${s.name} ${op} ${fmtNum(s.limit)} (${label('prio', s.priority)})` : `${s.name} (${label('prio', s.priority)})`)
    .join(app.lang === 'zh' ? '、' : '; ');
}

function renderPoint() {
  const box = $('point-body');
  if (!box || app.view !== 'point') return;
  if (trend.error) {
    box.replaceChildren(h('p', {class: 'muted'}, trend.error));
    return;
  }
  const d = trend.data;
  if (!d) return;
  const p = d.point, live = (app.data.alarms || []).filter((a) => a.point === p.id);
  $('point-title').textContent = `${p.name || p.id}`;
  const bad = p.quality !== 'good';
  const head = h('div', {class: 'point-head'},
    h('div', {class: 'point-now' + (bad ? ' badq' : ''), 'data-quality': p.quality},
      h('div', {class: 'sub'}, t('point.current')),
      h('div', {class: 'point-value'}, p.value === null ? '—' : fmtNum(p.value) + (p.eng_unit ? ' ' + p.eng_unit : '')),
      h('div', {class: 'point-quality'}, t('point.qualityIs', {q: label('quality', p.quality)}))),
    h('dl', {class: 'point-facts'},
      h('dt', null, 'ID'), h('dd', null, p.id),
      h('dt', null, t('point.unit')), h('dd', null, app.names.units[p.unit_id] || p.unit_id || '—'),
      h('dt', null, t('point.updated')), h('dd', null, fmtTime(p.ts_ms))));
  const ranges = h('div', {class: 'seg', role: 'group', 'aria-label': t('point.range')},
    ...TREND_RANGES.map(([key]) => h('button', {type: 'button', 'data-range': key,
      'aria-pressed': key === trend.range ? 'true' : 'false', onclick: () => { trend.range = key; loadTrend(); }},
    t('range.' + key))));
  const chartBox = h('div', {class: 'trend', id: 'trend'});
  const rules = h('table', {class: 'grid cards point-rules'},
    h('thead', null, h('tr', null, ...['point.rule', 'point.type', 'point.stages', 'point.alarm'].map((k) => h('th', null, t(k))))),
    h('tbody', null, ...d.rules.map((r) => {
      const a = live.find((x) => x.rule === r.id);
      return h('tr', {'data-rule': r.id, class: 'st-' + r.alarm.state},
        h('td', {'data-label': t('point.rule')}, r.name || r.id, r.name && h('div', {class: 'sub'}, r.id)),
        h('td', {'data-label': t('point.type')}, label('rtype', r.type)),
        h('td', {'data-label': t('point.stages')}, stagesText(r)),
        h('td', {'data-label': t('point.alarm')}, label('state', r.alarm.state),
          r.alarm.stage && ` · ${r.alarm.stage}`,
          a && a.first_active_ms && h('div', {class: 'sub'}, t('alarms.since', {t: fmtTime(a.first_active_ms)}))));
    })));
  box.replaceChildren(head, h('div', {class: 'trend-tools'}, ranges,
    h('span', {class: 'sub'}, t('point.samples', {n: d.samples.length})),
    d.truncated && h('span', {class: 'sub'}, t('point.truncated', {n: d.samples.length}))),
  chartBox, h('h3', null, t('point.rules')), rules);
  chartBox.append(d.samples.length ? trendChart(d, chartBox.clientWidth || 800) : h('p', {class: 'muted'}, t('point.noData')));
}

async function loadTrend() {
  const id = trend.id;
  if (!id) return;
  const span = TREND_RANGES.find(([k]) => k === trend.range)[1], now = Date.now();
  const limit = span > 86400000 ? 10000 : 5000;
  try {
    const d = await getJSON(`/api/v1/points/${encodeURIComponent(id)}/history?since=${now - span}&until=${now}&limit=${limit}`);
    if (trend.id !== id) return;
    trend.data = d;
    trend.error = null;
  } catch (e) {
    if (trend.id !== id) return;
    trend.error = /HTTP 404/.test(String(e)) ? t('point.unknown', {p: id}) : t('err.network');
  }
  renderPoint();
}

/* Called by showView for "#point/ID". */
function openPoint(id) {
  if (trend.id !== id) {
    trend.id = id;
    trend.data = null;
    trend.error = null;
    $('point-title').textContent = id;
    $('point-body').replaceChildren(h('p', {class: 'muted'}, t('detail.loading')));
  }
  loadTrend();
  clearInterval(trend.timer);
  trend.timer = setInterval(() => {
    if (app.view === 'point') loadTrend();
    else clearInterval(trend.timer);
  }, TREND_REFRESH_MS);
}

function initTrend() {
  window.addEventListener('resize', () => { if (app.view === 'point') renderPoint(); });
}
