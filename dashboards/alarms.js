/* dualguard dashboard: the alarm summary (ISA-18.2 / ISA-101 practice). Live value beside the
 * value at activation, the unit and measure by name; unacknowledged first; filters and sorting
 * kept in localStorage; shelved, suppressed and out-of-service alarms in their own view;
 * acknowledge one, the selected or all visible; shelve within the priority's maximum; a sound for
 * new high and critical alarms until acknowledged or silenced; first-out within a burst.
 * Loaded after app.js, whose helpers (t, h, $, label, fmtNum, fmtTime, getJSON, postJSON,
 * showMessage, app, I18N, TOKEN_KEY) it uses. */
'use strict';

const ALARM_PREFS_KEY = 'dg.alarmPrefs';
const PRIOS = ['critical', 'high', 'medium', 'low'];
const PRIO_RANK = {critical: 4, high: 3, medium: 2, low: 1};
const LIVE_STATES = ['UNACK', 'ACKED', 'LATCHED', 'RTN_UNACK'];
const SILENCED_STATES = ['SHELVED', 'SUPPRESSED', 'OUT_OF_SERVICE'];
const BURST_MS = 60000;        /* activations on one unit this close together form a burst */
const BEEP_EVERY_MS = 2500;
const SHELVE_CHOICES = [15, 30, 60, 120, 240, 480, 720, 1440];

Object.assign(I18N.zh, {
  'alarms.live': '实时', 'alarms.silenced': '搁置 / 抑制 / 停用', 'alarms.when': '报警时长',
  'alarms.where': '风险单元 / 管控措施', 'alarms.liveValue': '实时值', 'alarms.atActivation': '报警值',
  'alarms.limitCol': '限值', 'alarms.actions': '操作', 'alarms.response': '处置',
  'alarms.since': '始于 {t}', 'alarms.firstOut': '首出', 'alarms.firstOutTitle': '本单元这一组报警中最先出现的报警',
  'alarms.noneSilenced': '没有搁置、抑制或停用的报警', 'alarms.noneFiltered': '没有符合筛选条件的报警',
  'alarms.until': '至 {t}', 'alarms.reason': '原因', 'alarms.select': '选择',
  'filter.prio': '优先级', 'filter.unit': '风险单元', 'filter.state': '状态', 'filter.sort': '排序',
  'filter.all': '全部', 'sort.default': '未确认优先', 'sort.newest': '最新', 'sort.priority': '优先级',
  'sort.unit': '风险单元',
  'bulk.ackSelected': '确认所选', 'bulk.ackVisible': '确认全部可见', 'bulk.silence': '消音',
  'bulk.title': '确认 {n} 条报警', 'bulk.done': '已确认 {n} 条报警', 'bulk.partial': '已确认 {n} 条，{f} 条未确认：{m}',
  'shelve.button': '搁置', 'unshelve.button': '解除搁置', 'shelve.title': '搁置报警',
  'shelve.reason': '搁置原因（必填）', 'shelve.duration': '时长', 'shelve.max': '该优先级最长 {n} 分钟',
  'shelve.ok': '搁置', 'shelve.done': '报警 {r} 已搁置 {n} 分钟', 'unshelve.done': '报警 {r} 已解除搁置',
  'shelve.needReason': '请填写搁置原因。', 'min': '{n} 分钟', 'hours': '{n} 小时',
  'err.409.ack': '报警 {r} 无需确认（已确认或状态已变化）。',
  'err.409.shelve': '报警 {r} 当前状态不能搁置。', 'err.409.unshelve': '报警 {r} 未被搁置。',
  'err.400.shelve': '搁置时长超过该优先级上限（{n} 分钟）。',
  'sound.title': '报警声音', 'sound.help': '新的报警在确认或消音前持续提示音：',
  'sound.silenced': '已消音（之后的新报警仍会响）', 'quality.bad': '质量异常',
  'dur.s': '{n} 秒', 'dur.m': '{n} 分', 'dur.h': '{n} 小时 {m} 分', 'dur.d': '{n} 天 {h} 小时',
});
Object.assign(I18N.en, {
  'alarms.live': 'Live', 'alarms.silenced': 'Shelved / suppressed / out of service', 'alarms.when': 'Active for',
  'alarms.where': 'Unit / control measure', 'alarms.liveValue': 'Live value', 'alarms.atActivation': 'At alarm',
  'alarms.limitCol': 'Limit', 'alarms.actions': 'Actions', 'alarms.response': 'Response',
  'alarms.since': 'since {t}', 'alarms.firstOut': 'First out',
  'alarms.firstOutTitle': 'The first alarm of this burst on its unit',
  'alarms.noneSilenced': 'No shelved, suppressed or out-of-service alarms',
  'alarms.noneFiltered': 'No alarms match the filters', 'alarms.until': 'until {t}', 'alarms.reason': 'Reason',
  'alarms.select': 'Select',
  'filter.prio': 'Priority', 'filter.unit': 'Unit', 'filter.state': 'State', 'filter.sort': 'Sort',
  'filter.all': 'All', 'sort.default': 'Unacknowledged first', 'sort.newest': 'Newest', 'sort.priority': 'Priority',
  'sort.unit': 'Unit',
  'bulk.ackSelected': 'Ack selected', 'bulk.ackVisible': 'Ack all visible', 'bulk.silence': 'Silence',
  'bulk.title': 'Acknowledge {n} alarms', 'bulk.done': '{n} alarms acknowledged',
  'bulk.partial': '{n} acknowledged, {f} not: {m}',
  'shelve.button': 'Shelve', 'unshelve.button': 'Unshelve', 'shelve.title': 'Shelve alarm',
  'shelve.reason': 'Reason (required)', 'shelve.duration': 'Duration', 'shelve.max': 'at most {n} min for this priority',
  'shelve.ok': 'Shelve', 'shelve.done': 'Alarm {r} shelved for {n} min', 'unshelve.done': 'Alarm {r} unshelved',
  'shelve.needReason': 'Enter a reason for shelving.', 'min': '{n} min', 'hours': '{n} h',
  'err.409.ack': 'Alarm {r} needs no acknowledgement (already acknowledged or changed).',
  'err.409.shelve': 'Alarm {r} cannot be shelved in its present state.', 'err.409.unshelve': 'Alarm {r} is not shelved.',
  'err.400.shelve': 'Longer than this priority allows ({n} min).',
  'sound.title': 'Alarm sound', 'sound.help': 'New alarms sound until acknowledged or silenced:',
  'sound.silenced': 'Silenced (later alarms still sound)', 'quality.bad': 'bad quality',
  'dur.s': '{n} s', 'dur.m': '{n} min', 'dur.h': '{n} h {m} min', 'dur.d': '{n} d {h} h',
});

const alarmUi = {
  prefs: loadAlarmPrefs(),
  selected: new Set(),     /* alarm ids */
  ringing: new Map(),      /* alarm id → activation key, while its sound is owed */
  announced: new Set(),    /* activation keys already rung (a silenced one does not ring again) */
  beepTimer: null,
  audio: null,
  bulk: null,              /* alarms of an open bulk-acknowledge dialog */
  shelveTarget: null,
};

/* The page's sound hook: every request is counted here (tests and diagnostics read it). */
window.dgSound = {requests: 0, last: null};

function loadAlarmPrefs() {
  const d = {view: 'live', prio: 'all', unit: 'all', state: 'all', sort: 'default',
    sound: {critical: true, high: true, medium: false, low: false}};
  try {
    const p = JSON.parse(localStorage.getItem(ALARM_PREFS_KEY) || '{}');
    return Object.assign(d, p, {sound: Object.assign(d.sound, p.sound || {})});
  } catch (e) {
    return d;
  }
}

function saveAlarmPrefs() { localStorage.setItem(ALARM_PREFS_KEY, JSON.stringify(alarmUi.prefs)); }

function activationKey(a) { return a.id + ':' + (a.last_active_ms || a.first_active_ms || 0); }

/* ---- ordering, filters, first-out ---------------------------------------------------------------- */

function stateGroup(a) {
  if (a.state === 'UNACK') return 0;
  if (a.state === 'ACKED' || a.state === 'LATCHED') return 1;
  return 2;
}

function compareAlarms(x, y) {
  const s = alarmUi.prefs.sort;
  const prio = (PRIO_RANK[y.priority] || 0) - (PRIO_RANK[x.priority] || 0);
  const newest = (y.last_active_ms || 0) - (x.last_active_ms || 0);
  if (s === 'newest') return newest || prio;
  if (s === 'priority') return prio || stateGroup(x) - stateGroup(y) || newest;
  if (s === 'unit') return String(x.unit_name || x.unit || '').localeCompare(String(y.unit_name || y.unit || '')) ||
    stateGroup(x) - stateGroup(y) || prio || newest;
  return stateGroup(x) - stateGroup(y) || prio || newest;
}

function passesFilters(a) {
  const p = alarmUi.prefs;
  if (p.prio !== 'all' && a.priority !== p.prio) return false;
  if (p.unit !== 'all' && a.unit !== p.unit) return false;
  if (p.view === 'live' && p.state !== 'all' && a.state !== p.state) return false;
  return true;
}

/* Within a burst (activations on one unit, each within BURST_MS of the previous), the first. */
function firstOutIds(alarms) {
  const byUnit = new Map();
  for (const a of alarms) {
    if (!a.active || !a.unit || !a.first_active_ms) continue;
    if (!byUnit.has(a.unit)) byUnit.set(a.unit, []);
    byUnit.get(a.unit).push(a);
  }
  const out = new Set();
  for (const list of byUnit.values()) {
    list.sort((x, y) => x.first_active_ms - y.first_active_ms || x.id - y.id);
    for (let i = 0; i < list.length;) {
      let j = i + 1;
      while (j < list.length && list[j].first_active_ms - list[j - 1].first_active_ms <= BURST_MS) j++;
      if (j - i > 1) out.add(list[i].id);
      i = j;
    }
  }
  return out;
}

/* ---- sound ------------------------------------------------------------------------------------ */

function beep(priority) {
  window.dgSound.requests++;
  window.dgSound.last = priority;
  try {
    if (!alarmUi.audio) alarmUi.audio = new (window.AudioContext || window.webkitAudioContext)();
    const ctx = alarmUi.audio, osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = priority === 'critical' ? 1046 : 784;
    gain.gain.setValueAtTime(0.0001, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.3, ctx.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.35);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.4);
  } catch (e) { /* no audio device: the request is still counted and the symbol flashes */ }
}

function ringTick() {
  alarmUi.beepTimer = null;
  if (!alarmUi.ringing.size) return;
  const prios = [...alarmUi.ringing.keys()].map((id) => (app.data.alarms || []).find((a) => a.id === id))
    .filter(Boolean).map((a) => a.priority);
  beep(prios.includes('critical') ? 'critical' : prios[0] || 'high');
  alarmUi.beepTimer = setTimeout(ringTick, BEEP_EVERY_MS);
}

/* New activations of a priority with sound on start ringing; acknowledged ones stop. */
function updateRinging(alarms) {
  const live = new Map(alarms.map((a) => [a.id, a]));
  for (const [id, key] of alarmUi.ringing) {
    const a = live.get(id);
    if (!a || a.state !== 'UNACK' || activationKey(a) !== key) alarmUi.ringing.delete(id);
  }
  for (const a of alarms) {
    const key = activationKey(a);
    if (a.state !== 'UNACK' || alarmUi.announced.has(key)) continue;
    alarmUi.announced.add(key);
    if (alarmUi.prefs.sound[a.priority]) alarmUi.ringing.set(a.id, key);
  }
  $('alarm-silence').disabled = alarmUi.ringing.size === 0;
  if (alarmUi.ringing.size && !alarmUi.beepTimer) ringTick();
}

function silence() {
  alarmUi.ringing.clear();
  clearTimeout(alarmUi.beepTimer);
  alarmUi.beepTimer = null;
  $('alarm-silence').disabled = true;
  showMessage(t('sound.silenced'), 'info');
}

/* ---- rendering ------------------------------------------------------------------------------- */

function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return t('dur.s', {n: s});
  if (s < 3600) return t('dur.m', {n: Math.floor(s / 60)});
  if (s < 86400) return t('dur.h', {n: Math.floor(s / 3600), m: Math.floor(s % 3600 / 60)});
  return t('dur.d', {n: Math.floor(s / 86400), h: Math.floor(s % 86400 / 3600)});
}

function prioBadge(p) {
  const name = p || 'none';
  return h('span', {class: 'prio prio-' + name},
    h('span', {class: 'prio-sym', 'aria-hidden': 'true'}), ' ', h('span', {class: 'prio-text'}, label('prio', p || '—')));
}

function withUnit(v, unit) { return v === null || v === undefined ? '—' : fmtNum(v) + (unit ? ' ' + unit : ''); }

function cell(key, attrs, ...children) {
  return h('td', Object.assign({'data-label': t(key)}, attrs || {}), ...children.flat());
}

function alarmActions(a) {
  if (SILENCED_STATES.includes(a.state)) {
    return a.state === 'SHELVED'
      ? h('button', {type: 'button', class: 'unshelve', 'data-unshelve': a.id, onclick: () => unshelve(a)},
        t('unshelve.button'))
      : null;
  }
  return [
    a.acked ? null : h('button', {type: 'button', class: 'ack', 'data-ack': a.id, onclick: () => openAck(a)},
      t('ack.button')),
    h('button', {type: 'button', class: 'shelve', 'data-shelve': a.id, onclick: () => openShelve(a)},
      t('shelve.button')),
  ];
}

function alarmRow(a, firstOut, now) {
  const silenced = SILENCED_STATES.includes(a.state);
  const badQuality = a.live_quality && a.live_quality !== 'good';
  const since = a.first_active_ms ? fmtDuration(now - a.first_active_ms) : '—';
  const check = h('input', {type: 'checkbox', class: 'pick', 'aria-label': t('alarms.select'),
    checked: alarmUi.selected.has(a.id), onchange: (ev) => {
      if (ev.target.checked) alarmUi.selected.add(a.id);
      else alarmUi.selected.delete(a.id);
    }});
  return h('tr', {class: `alarm prio-${a.priority || 'none'} st-${a.state}`, 'data-alarm-id': a.id,
    'data-rule': a.rule, 'data-state': a.state},
  cell('alarms.select', {class: 'pickcell'}, silenced ? null : check),
  cell('alarms.priority', {class: 'prio-cell'}, prioBadge(a.priority),
    firstOut && h('span', {class: 'first-out', title: t('alarms.firstOutTitle')}, t('alarms.firstOut'))),
  cell('alarms.state', {class: 'state'}, label('state', a.state),
    a.state === 'SHELVED' && a.shelved_until_ms && h('div', {class: 'sub'}, t('alarms.until', {t: fmtTime(a.shelved_until_ms)})),
    a.shelve_reason && silenced && h('div', {class: 'sub'}, t('alarms.reason') + ': ' + a.shelve_reason)),
  cell('alarms.when', {class: 'when'}, a.active ? since : '—',
    h('div', {class: 'sub'}, t('alarms.since', {t: fmtTime(a.first_active_ms)}))),
  cell('alarms.point', {class: 'what'}, h('a', {href: '#point/' + encodeURIComponent(a.point), class: 'point-link',
    'data-point': a.point}, a.point_name || a.point),
    h('div', {class: 'sub'}, [a.rule_name || a.rule, a.stage].filter(Boolean).join(' · '))),
  cell('alarms.where', {class: 'where'}, a.unit_name || a.unit || '—',
    a.measure_desc && h('div', {class: 'sub'}, a.measure_desc),
    a.response && h('div', {class: 'response'}, t('alarms.response') + ': ' + a.response)),
  cell('alarms.liveValue', {class: 'num live' + (badQuality ? ' badq' : '')}, withUnit(a.live_value, a.eng_unit),
    badQuality && h('div', {class: 'sub'}, t('quality.bad'))),
  cell('alarms.atActivation', {class: 'num'}, withUnit(a.value, a.eng_unit)),
  cell('alarms.limitCol', {class: 'num'}, a.limit === undefined ? '—' : withUnit(a.limit, a.eng_unit)),
  cell('alarms.actions', {class: 'actions'}, alarmActions(a)));
}

/* Rebuilt only when the options change, so an open drop-down survives the next poll. */
function fillSelect(sel, options, value) {
  const sig = JSON.stringify(options);
  if (sel.dataset.sig === sig) {
    sel.value = value;
    return;
  }
  sel.dataset.sig = sig;
  sel.replaceChildren(...options.map(([v, text]) => h('option', {value: v, selected: v === value}, text)));
  sel.value = value;
}

function renderAlarmToolbar(alarms) {
  const p = alarmUi.prefs;
  const units = new Map();
  for (const a of alarms) if (a.unit) units.set(a.unit, a.unit_name || a.unit);
  fillSelect($('f-prio'), [['all', t('filter.all')], ...PRIOS.map((x) => [x, label('prio', x)])], p.prio);
  fillSelect($('f-unit'), [['all', t('filter.all')], ...[...units].map(([id, name]) => [id, name])],
    units.has(p.unit) ? p.unit : 'all');
  fillSelect($('f-state'), [['all', t('filter.all')], ...['UNACK', 'ACKED', 'RTN_UNACK'].map((s) => [s, label('state', s)])],
    p.state);
  fillSelect($('f-sort'), ['default', 'newest', 'priority', 'unit'].map((s) => [s, t('sort.' + s)]), p.sort);
  $('f-state').disabled = p.view !== 'live';
  const live = alarms.filter((a) => LIVE_STATES.includes(a.state)).length;
  const silenced = alarms.filter((a) => SILENCED_STATES.includes(a.state)).length;
  for (const b of document.querySelectorAll('#alarm-views [data-alarm-view]')) {
    const v = b.dataset.alarmView;
    b.setAttribute('aria-pressed', v === p.view ? 'true' : 'false');
    b.querySelector('.n').textContent = String(v === 'live' ? live : silenced);
  }
  for (const pr of PRIOS) {
    const box = document.querySelector(`#sound-prios input[data-prio="${pr}"]`);
    if (box) box.checked = !!p.sound[pr];
  }
}

function visibleAlarms() {
  const all = app.data.alarms || [];
  const states = alarmUi.prefs.view === 'live' ? LIVE_STATES : SILENCED_STATES;
  return all.filter((a) => states.includes(a.state) && passesFilters(a)).sort(compareAlarms);
}

function renderAlarms() {
  const alarms = app.data.alarms;
  if (!alarms) return;
  updateRinging(alarms);
  renderAlarmToolbar(alarms);
  const shown = visibleAlarms(), now = Date.now(), firstOut = firstOutIds(alarms);
  const ids = new Set(shown.map((a) => a.id));
  for (const id of [...alarmUi.selected]) if (!ids.has(id)) alarmUi.selected.delete(id);
  $('alarm-rows').replaceChildren(...shown.map((a) => alarmRow(a, firstOut.has(a.id), now)));
  const empty = $('alarms-empty');
  empty.hidden = shown.length > 0;
  const anyInView = alarms.some((a) => (alarmUi.prefs.view === 'live' ? LIVE_STATES : SILENCED_STATES).includes(a.state));
  empty.textContent = anyInView ? t('alarms.noneFiltered')
    : alarmUi.prefs.view === 'live' ? t('alarms.none') : t('alarms.noneSilenced');
  $('alarm-ack-visible').disabled = !shown.some((a) => !a.acked) || alarmUi.prefs.view !== 'live';
  $('alarm-ack-selected').disabled = alarmUi.prefs.view !== 'live';
  const unacked = alarms.filter((a) => !a.acked && LIVE_STATES.includes(a.state)).length;
  const badge = $('badge-alarms');
  badge.hidden = unacked === 0;
  badge.textContent = String(unacked);
}

/* ---- actions ---------------------------------------------------------------------------------- */

/* Acting needs someone signed in (a login session or a token); else the login form. */
function needToken(key) {
  if (app.me || sessionStorage.getItem(TOKEN_KEY)) return false;
  showMessage(t(key || 'ack.noToken'), 'error');
  $('login').hidden = false;
  $('login-name').focus();
  return true;
}

/* An action's error in the page's language; the server's own text only as a last resort. */
function actionError(res, action, a) {
  if (res.status === 409) return t('err.409.' + action, {r: a.rule});
  if (res.status === 400 && action === 'shelve') return t('err.400.shelve', {n: a.max_shelve_minutes});
  if (res.status === 0) return t('err.network');
  return errorText(res);
}

async function alarmPost(a, action, body) {
  try {
    return await postJSON(`/api/v1/alarms/${encodeURIComponent(a.id)}/${action}`, body);
  } catch (e) {
    return {status: 0, body: null};
  }
}

async function refreshAlarms() {
  try {
    app.data.alarms = (await getJSON('/api/v1/alarms')).alarms;
    renderAlarms();
  } catch (e) { /* the next poll will tell */ }
}

function openAck(a) { openAckFor([a]); }

function openAckFor(list) {
  if (!list.length || needToken()) return;
  alarmUi.bulk = list;
  $('ack-title').textContent = list.length === 1 ? t('ack.title') : t('bulk.title', {n: list.length});
  $('ack-what').textContent = list.length === 1
    ? `${list[0].point_name || list[0].point} · ${list[0].rule} · ${label('state', list[0].state)}`
    : list.map((a) => a.point_name || a.point).join('、');
  $('ack-comment').value = '';
  $('ack-dialog').returnValue = ''; /* Escape must not repeat the last choice */
  $('ack-dialog').showModal();
}

async function sendAcks(list, comment) {
  let ok = 0;
  const errors = [];
  for (const a of list) {
    const res = await alarmPost(a, 'ack', comment ? {comment} : {});
    if (res.status === 200) {
      ok++;
      alarmUi.ringing.delete(a.id);
    } else {
      errors.push(actionError(res, 'ack', a));
    }
  }
  $('alarm-silence').disabled = alarmUi.ringing.size === 0; /* at once, not at the next refresh */
  if (!errors.length) showMessage(list.length === 1 ? t('ack.done', {r: list[0].rule}) : t('bulk.done', {n: ok}), 'info');
  else if (!ok && list.length === 1) showMessage(errors[0], 'error');
  else showMessage(t('bulk.partial', {n: ok, f: errors.length, m: [...new Set(errors)].join(' ')}), 'error');
  for (const a of list) alarmUi.selected.delete(a.id);
  await refreshAlarms();
}

function openShelve(a) {
  if (needToken()) return;
  alarmUi.shelveTarget = a;
  const max = a.max_shelve_minutes || 60;
  const choices = SHELVE_CHOICES.filter((m) => m < max).concat([max]);
  fillSelect($('shelve-minutes'), choices.map((m) => [String(m), m % 60 === 0 && m >= 60
    ? t('hours', {n: m / 60}) : t('min', {n: m})]), String(Math.min(60, max)));
  $('shelve-what').textContent = `${a.point_name || a.point} · ${a.rule} · ${label('prio', a.priority)}`;
  $('shelve-max').textContent = t('shelve.max', {n: max});
  $('shelve-reason').value = '';
  $('shelve-dialog').returnValue = '';
  $('shelve-dialog').showModal();
}

async function sendShelve(a, minutes, reason) {
  if (!reason) {
    showMessage(t('shelve.needReason'), 'error');
    return;
  }
  const res = await alarmPost(a, 'shelve', {minutes, reason});
  if (res.status === 200) {
    alarmUi.ringing.delete(a.id);
    showMessage(t('shelve.done', {r: a.rule, n: minutes}), 'info');
  } else {
    showMessage(actionError(res, 'shelve', a), 'error');
  }
  await refreshAlarms();
}

async function unshelve(a) {
  if (needToken()) return;
  const res = await alarmPost(a, 'unshelve', {});
  showMessage(res.status === 200 ? t('unshelve.done', {r: a.rule}) : actionError(res, 'unshelve', a),
    res.status === 200 ? 'info' : 'error');
  await refreshAlarms();
}

function setAlarmPref(key, value) {
  alarmUi.prefs[key] = value;
  saveAlarmPrefs();
  renderAlarms();
}

function initAlarms() {
  /* Browsers start audio only after a user gesture: the first click or key unlocks it. */
  const unlock = () => {
    try {
      if (!alarmUi.audio) alarmUi.audio = new (window.AudioContext || window.webkitAudioContext)();
      alarmUi.audio.resume();
    } catch (e) { /* no audio device */ }
  };
  document.addEventListener('click', unlock, {once: true});
  document.addEventListener('keydown', unlock, {once: true});
  for (const [id, key] of [['f-prio', 'prio'], ['f-unit', 'unit'], ['f-state', 'state'], ['f-sort', 'sort']]) {
    $(id).addEventListener('change', (ev) => setAlarmPref(key, ev.target.value));
  }
  for (const b of document.querySelectorAll('#alarm-views [data-alarm-view]')) {
    b.addEventListener('click', () => setAlarmPref('view', b.dataset.alarmView));
  }
  $('alarm-ack-selected').addEventListener('click', () =>
    openAckFor(visibleAlarms().filter((a) => alarmUi.selected.has(a.id) && !a.acked)));
  $('alarm-ack-visible').addEventListener('click', () => openAckFor(visibleAlarms().filter((a) => !a.acked)));
  $('alarm-silence').addEventListener('click', silence);
  $('sound-prios').replaceChildren(...PRIOS.map((pr) => h('label', {class: 'sound-prio'},
    h('input', {type: 'checkbox', 'data-prio': pr, onchange: (ev) => {
      alarmUi.prefs.sound[pr] = ev.target.checked;
      saveAlarmPrefs();
    }}), ' ', prioBadge(pr))));
  $('ack-dialog').addEventListener('close', () => {
    const list = alarmUi.bulk;
    alarmUi.bulk = null;
    if (list && $('ack-dialog').returnValue === 'ok') sendAcks(list, $('ack-comment').value.trim());
  });
  $('shelve-dialog').addEventListener('close', () => {
    const a = alarmUi.shelveTarget;
    alarmUi.shelveTarget = null;
    if (a && $('shelve-dialog').returnValue === 'ok') {
      sendShelve(a, Number($('shelve-minutes').value), $('shelve-reason').value.trim());
    }
  });
}
