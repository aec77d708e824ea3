/* dualguard dashboard: risk map, live alarms, hazard ledger and inspection tasks from the
 * daemon's HTTP API. Plain ES2020, no dependencies. Every piece of data reaches the page through
 * textContent (never innerHTML), so nothing the API returns can become markup. */
'use strict';

const POLL_MS = 2000;        /* alarms and risk map */
const LEDGER_EVERY = 5;      /* hazards and inspections every 5th poll (10 s) */
const STALE_MS = 3 * POLL_MS + 1000;
const FETCH_TIMEOUT_MS = 5000;
const LANG_KEY = 'dg.lang';   /* localStorage: a preference, not a secret */
const TOKEN_KEY = 'dg.token'; /* sessionStorage only: gone with the tab */

/* ---- i18n ------------------------------------------------------------------------------------ */

const I18N = {
  zh: {
    'title': 'dualguard 双重预防',
    'lang.other': 'English',
    'tab.risk': '风险四色图', 'tab.alarms': '实时报警', 'tab.hazards': '隐患台账', 'tab.inspections': '排查任务',
    'settings.open': '设置', 'settings.title': 'API 令牌',
    'settings.help': '人员请用上方的账号登录。API 令牌用于设备和脚本（dualguardd --create-token 人员）；在此填写后，本标签页改用令牌，令牌只保存在本标签页会话中。',
    'settings.token': '令牌', 'settings.save': '保存', 'settings.clear': '清除',
    'settings.set': '已设置令牌', 'settings.unset': '未设置令牌',
    'updated.live': '更新于 {t} · 实时推送', 'updated.poll': '更新于 {t}',
    'stale': 'API 无法连接 — 数据已过期，最后更新 {t}',
    'stale.never': 'API 无法连接 — 尚无数据',
    'stale.auth': '需要登录 — 数据已过期，最后更新 {t}', 'stale.auth.never': '需要登录后才能查看数据',
    'risk.title': '风险四色图', 'risk.current': '当前等级', 'risk.assessed': '评估等级', 'risk.sources': '危险源',
    'risk.assessedShort': '评估', 'risk.alarms': '报警 {n}', 'risk.hazards': '隐患 {n}', 'risk.cause': '升级原因', 'risk.none': '未配置风险单元',
    'level.red': '重大风险', 'level.orange': '较大风险', 'level.yellow': '一般风险', 'level.blue': '低风险',
    'cause.assessment': '评估', 'cause.alarm': '报警', 'cause.major_hazard': '重大隐患',
    'src.code': '编码', 'src.name': '名称', 'src.major': '重大危险源', 'src.grade': '等级',
    'yes': '是', 'no': '否',
    'grade.1': '一级', 'grade.2': '二级', 'grade.3': '三级', 'grade.4': '四级',
    'alarms.title': '实时报警', 'alarms.priority': '优先级', 'alarms.state': '状态', 'alarms.rule': '规则',
    'alarms.point': '测点', 'alarms.stage': '阶段', 'alarms.value': '值', 'alarms.first': '首次报警时间',
    'alarms.none': '无报警', 'alarms.limit': '限值',
    'prio.critical': '紧急', 'prio.high': '高', 'prio.medium': '中', 'prio.low': '低',
    'state.NORMAL': '正常', 'state.UNACK': '未确认', 'state.ACKED': '已确认', 'state.RTN_UNACK': '已恢复未确认',
    'state.LATCHED': '闭锁', 'state.SHELVED': '已搁置', 'state.OUT_OF_SERVICE': '停用', 'state.SUPPRESSED': '已抑制',
    'ack.button': '确认', 'ack.title': '确认报警', 'ack.comment': '备注', 'ack.ok': '确认', 'ack.cancel': '取消',
    'ack.done': '报警 {r} 已确认',
    'ack.noToken': '请先登录后再确认报警。',
    'err.401': '未登录、会话已过期或令牌无效（401），请重新登录。',
    'err.403': '无权限（403）：该令牌的人员角色不能执行此操作。',
    'err.other': '操作失败（{s}）：{m}',
    'err.network': '操作失败：无法连接 API',
    'hazards.title': '隐患台账', 'hazards.code': '编号', 'hazards.level': '等级', 'hazards.source': '来源',
    'hazards.state': '状态', 'hazards.desc': '描述', 'hazards.liable': '责任人', 'hazards.deadline': '整改期限',
    'hazards.none': '无隐患记录', 'hazards.overdue': '已逾期',
    'hlevel.0': '一般隐患', 'hlevel.1': '重大隐患',
    'hstate.-1': '审核中', 'hstate.0': '整改中', 'hstate.1': '待验收', 'hstate.9': '已验收',
    'dsrc.1': '日常排查', 'dsrc.2': '综合性排查', 'dsrc.3': '专业性排查', 'dsrc.4': '季节性排查',
    'dsrc.5': '重点时段及节假日前排查', 'dsrc.6': '事故类比排查', 'dsrc.7': '复产复工前排查',
    'dsrc.8': '外聘专家诊断式排查', 'dsrc.9': '管控措施失效', 'dsrc.10': '其他',
    'detail.close': '关闭', 'detail.reason': '原因', 'detail.where': '单元 / 事件 / 措施', 'detail.rule': '监控规则',
    'detail.measures': '整改措施', 'detail.cost': '资金', 'detail.plan': '应急预案', 'detail.reporter': '登记人',
    'detail.rectifier': '整改人', 'detail.verifier': '验收人', 'detail.verifyComment': '验收意见',
    'detail.created': '登记时间', 'detail.closed': '销号时间', 'detail.occurrences': '发生记录',
    'detail.journal': '处理记录', 'detail.loading': '加载中…',
    'action.register': '登记', 'action.report': '上报', 'action.inspect': '排查登记', 'action.rectify': '整改',
    'action.submit': '提交验收', 'action.verify': '验收通过', 'action.reject': '验收退回', 'action.overdue': '逾期',
    'insp.title': '排查任务', 'insp.measure': '管控措施', 'insp.unit': '风险单元', 'insp.cycle': '排查周期',
    'insp.period': '周期时段', 'insp.status': '状态', 'insp.checker': '排查人', 'insp.none': '无排查任务',
    'insp.pending': '待排查', 'insp.late': '已到期未排查', 'insp.cycleFmt': '每 {n} {u}',
    'cs.0': '正常', 'cs.1': '存在隐患', 'cs.2': '未排查', 'cs.3': '其他', 'insp.method': '方式',
    'tsrc.1': '自动化监控', 'tsrc.2': '隐患排查',
    'ev.person': '人工排查', 'ev.monitoring': '自动化监控判定', 'ev.system': '系统判定',
    'cu.小时': '小时', 'cu.天': '天', 'cu.月': '月', 'cu.年': '年', 'who.system': '系统',
  },
  en: {
    'title': 'dualguard dual prevention',
    'lang.other': '中文',
    'tab.risk': 'Risk map', 'tab.alarms': 'Live alarms', 'tab.hazards': 'Hazard ledger', 'tab.inspections': 'Inspections',
    'settings.open': 'Settings', 'settings.title': 'API token',
    'settings.help': 'People log in with their account above. API tokens are for devices and scripts (dualguardd --create-token PERSON); one entered here is used by this tab instead, and kept for this tab only.',
    'settings.token': 'Token', 'settings.save': 'Save', 'settings.clear': 'Clear',
    'settings.set': 'token set', 'settings.unset': 'no token',
    'updated.live': 'updated {t} · live', 'updated.poll': 'updated {t}',
    'stale': 'API unreachable — data stale, last update {t}',
    'stale.never': 'API unreachable — no data yet',
    'stale.auth': 'Login required — data stale, last update {t}', 'stale.auth.never': 'Log in to see the data',
    'risk.title': 'Four-colour risk map', 'risk.current': 'Current level', 'risk.assessed': 'Assessed level',
    'risk.sources': 'Hazard sources', 'risk.alarms': '{n} alarms', 'risk.hazards': '{n} open hazards', 'risk.assessedShort': 'assessed', 'risk.cause': 'raised by',
    'risk.none': 'No risk units configured',
    'level.red': 'Major (red)', 'level.orange': 'Significant (orange)', 'level.yellow': 'General (yellow)',
    'level.blue': 'Low (blue)',
    'cause.assessment': 'assessment', 'cause.alarm': 'alarm', 'cause.major_hazard': 'major hazard',
    'src.code': 'Code', 'src.name': 'Name', 'src.major': 'Major hazard', 'src.grade': 'Grade',
    'yes': 'yes', 'no': 'no',
    'grade.1': 'Grade I', 'grade.2': 'Grade II', 'grade.3': 'Grade III', 'grade.4': 'Grade IV',
    'alarms.title': 'Live alarms', 'alarms.priority': 'Priority', 'alarms.state': 'State', 'alarms.rule': 'Rule',
    'alarms.point': 'Point', 'alarms.stage': 'Stage', 'alarms.value': 'Value', 'alarms.first': 'First active',
    'alarms.none': 'No alarms', 'alarms.limit': 'limit',
    'prio.critical': 'Critical', 'prio.high': 'High', 'prio.medium': 'Medium', 'prio.low': 'Low',
    'state.NORMAL': 'Normal', 'state.UNACK': 'Unacknowledged', 'state.ACKED': 'Acknowledged',
    'state.RTN_UNACK': 'Returned, unacknowledged', 'state.LATCHED': 'Latched', 'state.SHELVED': 'Shelved',
    'state.OUT_OF_SERVICE': 'Out of service', 'state.SUPPRESSED': 'Suppressed',
    'ack.button': 'Ack', 'ack.title': 'Acknowledge alarm', 'ack.comment': 'Comment', 'ack.ok': 'Acknowledge',
    'ack.cancel': 'Cancel', 'ack.done': 'Alarm {r} acknowledged',
    'ack.noToken': 'Log in before acknowledging.',
    'err.401': 'Not logged in, session ended or token invalid (401): please log in again.',
    'err.403': 'Forbidden (403): the token\'s person lacks the role for this action.',
    'err.other': 'Action failed ({s}): {m}',
    'err.network': 'Action failed: API unreachable',
    'hazards.title': 'Hazard ledger', 'hazards.code': 'Code', 'hazards.level': 'Level', 'hazards.source': 'Source',
    'hazards.state': 'State', 'hazards.desc': 'Description', 'hazards.liable': 'Liable person',
    'hazards.deadline': 'Deadline', 'hazards.none': 'No hazards', 'hazards.overdue': 'overdue',
    'hlevel.0': 'General', 'hlevel.1': 'Major',
    'hstate.-1': 'Under review', 'hstate.0': 'Rectifying', 'hstate.1': 'Awaiting acceptance', 'hstate.9': 'Accepted',
    'dsrc.1': 'Routine check', 'dsrc.2': 'Comprehensive check', 'dsrc.3': 'Specialist check',
    'dsrc.4': 'Seasonal check', 'dsrc.5': 'Key-period / holiday check', 'dsrc.6': 'Accident-analogy check',
    'dsrc.7': 'Pre-restart check', 'dsrc.8': 'External expert diagnosis', 'dsrc.9': 'Control measure failed',
    'dsrc.10': 'Other',
    'detail.close': 'Close', 'detail.reason': 'Reason', 'detail.where': 'Unit / event / measure',
    'detail.rule': 'Monitoring rule', 'detail.measures': 'Rectification', 'detail.cost': 'Funds',
    'detail.plan': 'Contingency plan', 'detail.reporter': 'Registered by', 'detail.rectifier': 'Rectifier',
    'detail.verifier': 'Verifier', 'detail.verifyComment': 'Acceptance comment', 'detail.created': 'Registered',
    'detail.closed': 'Closed', 'detail.occurrences': 'Occurrences', 'detail.journal': 'Timeline',
    'detail.loading': 'Loading…',
    'action.register': 'registered', 'action.report': 'reported', 'action.inspect': 'found by inspection',
    'action.rectify': 'rectification', 'action.submit': 'submitted', 'action.verify': 'accepted',
    'action.reject': 'rejected', 'action.overdue': 'overdue',
    'insp.title': 'Inspection tasks', 'insp.measure': 'Control measure', 'insp.unit': 'Risk unit',
    'insp.cycle': 'Cycle', 'insp.period': 'Period', 'insp.status': 'Status', 'insp.checker': 'Checked by',
    'insp.none': 'No inspection tasks', 'insp.pending': 'pending', 'insp.late': 'due, not checked',
    'insp.cycleFmt': 'every {n} {u}',
    'cs.0': 'normal', 'cs.1': 'hazard found', 'cs.2': 'not checked', 'cs.3': 'other', 'insp.method': 'Method',
    'tsrc.1': 'automated monitoring', 'tsrc.2': 'inspection',
    'ev.person': 'checked by a person', 'ev.monitoring': 'judged by the monitoring', 'ev.system': 'judged by the system',
    'cu.小时': 'hour(s)', 'cu.天': 'day(s)', 'cu.月': 'month(s)', 'cu.年': 'year(s)', 'who.system': 'system',
  },
};

const app = {
  lang: 'zh',
  view: 'risk',
  data: {riskMap: null, sitePlan: null, alarms: null, hazards: null, inspections: null},
  detail: null,          /* {id, body} of the open hazard, body null while loading */
  lastOk: 0,             /* wall time of the last poll that fully succeeded */
  failing: false,
  tick: 0,
  names: {persons: {}, units: {}, measures: {}, measureInfo: {}, unitPerson: {}}, /* id → name, for people and places */
  persons: [],   /* GET /api/v1/persons: id, name, roles */
  me: null,      /* GET /api/v1/whoami: the person of the token, or null */
  inspView: null,   /* 'mine' or 'all'; null: 'mine' when signed in */
};

function t(key, vars) {
  const table = I18N[app.lang];
  let s = key in table ? table[key] : (key in I18N.zh ? I18N.zh[key] : key);
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replace('{' + k + '}', String(v));
  return s;
}

/* A translated label for a code, falling back to the raw code for values this page does not know. */
function label(prefix, code) {
  const key = prefix + '.' + code;
  return key in I18N[app.lang] ? t(key) : String(code);
}

function locale() { return app.lang === 'zh' ? 'zh-CN' : 'en-GB'; }

function fmtTime(ms) {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toLocaleString(locale(), {hour12: false});
}

function fmtClock(ms) { return new Date(ms).toLocaleTimeString(locale(), {hour12: false}); }

function fmtDate(ms) {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toLocaleDateString(locale(), {year: 'numeric', month: '2-digit', day: '2-digit'});
}

function fmtNum(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0+$/, '').replace(/\.$/, '');
}

/* ---- DOM helpers (text only) ----------------------------------------------------------------- */

function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function $(id) { return document.getElementById(id); }

function showMessage(text, kind) {
  const m = $('message');
  m.textContent = text;
  m.className = 'banner message ' + (kind || 'info');
  m.hidden = false;
  clearTimeout(showMessage.timer);
  showMessage.timer = setTimeout(() => { m.hidden = true; }, kind === 'error' ? 15000 : 5000);
}

/* ---- API ------------------------------------------------------------------------------------- */

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? {Authorization: 'Bearer ' + token} : {};
}

/* Reads need a token unless the daemon opens them to this (loopback) browser: on 401 the page
 * asks for one, once. */
function askForToken() {
  if (app.askedToken) return;
  app.askedToken = true;
  showMessage(t('err.401'), 'error');
  $('login').hidden = false;
}

async function getJSON(path) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    const r = await fetch(path, {signal: ctl.signal, cache: 'no-store', headers: authHeaders()});
    app.authNeeded = r.status === 401;
    if (r.status === 401) askForToken();
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return await r.json();
  } finally {
    clearTimeout(timer);
  }
}

async function postJSON(path, body) {
  const headers = {'Content-Type': 'application/json', ...authHeaders()};
  const r = await fetch(path, {method: 'POST', headers, body: JSON.stringify(body)});
  let payload = null;
  try { payload = await r.json(); } catch (e) { payload = null; }
  return {status: r.status, body: payload};
}

function errorText(res) {
  if (res.status === 401) return t('err.401');
  if (res.status === 403) return t('err.403');
  return t('err.other', {s: res.status, m: (res.body && res.body.error) || ''});
}

/* Alarms, the risk map and the site plan it is drawn on. */
async function loadCore() {
  const [alarms, riskMap, sitePlan] = await Promise.all([getJSON('/api/v1/alarms'), getJSON('/api/v1/risk-map'),
    getJSON('/api/v1/site-plan')]);
  app.data.alarms = alarms.alarms;
  app.data.riskMap = riskMap;
  app.data.sitePlan = sitePlan;
  if (typeof applyPushedPoints === 'function') applyPushedPoints(); /* live.js: newer pushed samples win */
}

/* Hazards, inspections, the open hazard's detail, names. */
async function loadLedger() {
  const jobs = [getJSON('/api/v1/hazards?state=all&limit=200'), getJSON('/api/v1/inspections?status=all')];
  if (app.me) jobs.push(getJSON('/api/v1/inspections?mine=1'));
  const [hazards, inspections, mine] = await Promise.all(jobs);
  app.data.hazards = hazards.hazards;
  app.data.inspections = inspections.inspections;
  app.data.mineIds = mine ? new Set(mine.inspections.map((task) => task.id)) : null;
  if (app.detail && app.detail.body) {
    const id = app.detail.id, body = await getJSON(`/api/v1/hazards/${encodeURIComponent(id)}`);
    if (app.detail && app.detail.id === id) app.detail.body = body;
  }
  await loadNames();
}

/* The map and the alarms are painted as soon as they arrive, without waiting for the ledger
 * and the names (shown as ids until they come) on the first load. */
function firstPaint() {
  if (app.painted) return;
  app.painted = true;
  try {
    render();
  } catch (e) {
    console.error('render', e);
  }
  performance.mark('dg-first-data'); /* bench/bench_first_paint.py */
}

/* Polling is the fallback: while the event stream (live.js) is open it only runs now and then. */
async function poll() {
  clearTimeout(app.pollTimer);
  if (app.polling) return; /* the poll under way schedules the next */
  app.polling = true;
  const withLedger = app.tick % LEDGER_EVERY === 0;
  app.tick++;
  try {
    await Promise.all([loadCore().then(firstPaint), withLedger ? loadLedger() : null]);
    app.lastOk = Date.now();
    app.failing = false;
  } catch (e) {
    app.failing = true;
    if (withLedger) app.tick = 0; /* retry the ledger with the next poll */
  }
  try {
    if (!app.failing) render();
  } catch (e) {
    console.error('render', e); /* a page bug, not an unreachable API: keep polling */
  }
  updateFreshness();
  app.polling = false;
  app.pollTimer = setTimeout(poll, pollInterval());
}

/* People, units and measures by name. Optional: without them the page shows ids. */
async function loadNames() {
  const [persons, model] = await Promise.all([getJSON('/api/v1/persons').catch(() => null),
    getJSON('/api/v1/model').catch(() => null)]);
  if (persons) {
    app.persons = persons.persons;
    app.names.persons = Object.fromEntries(persons.persons.map((p) => [p.id, p.name || p.id]));
  }
  if (!model) return;
  const units = {}, measures = {}, measureInfo = {}, unitPerson = {};
  (function walk(o) {
    if (Array.isArray(o)) return o.forEach(walk);
    if (!o || typeof o !== 'object') return;
    if (o.id && Array.isArray(o.events) && o.hazard_source) {
      units[o.id] = o.name || o.id;
      unitPerson[o.id] = o.responsible && o.responsible.person;
    }
    if (o.id && o.event && typeof o.desc === 'string') {
      measures[o.id] = o.desc;
      measureInfo[o.id] = {person: o.responsible && o.responsible.person, troubleshoot: o.troubleshoot};
    }
    Object.values(o).forEach(walk);
  })(model);
  Object.assign(app.names, {units, measures, measureInfo, unitPerson});
}

function personName(id) {
  if (!id) return '—';
  if (id === 'system') return t('who.system');
  return app.names.persons[id] || id;
}

/* Stale data must never look live: grey everything out as soon as a poll fails or is late. */
function updateFreshness() {
  const stale = app.failing || !app.lastOk || Date.now() - app.lastOk > staleAfter();
  document.body.classList.toggle('is-stale', stale);
  const banner = $('stale-banner');
  banner.hidden = !stale;
  const key = app.authNeeded ? 'stale.auth' : 'stale';
  if (stale) banner.textContent = app.lastOk ? t(key, {t: fmtTime(app.lastOk)}) : t(key + '.never');
  $('updated').textContent = app.lastOk ? t(liveOpen() ? 'updated.live' : 'updated.poll', {t: fmtClock(app.lastOk)}) : '';
  $('updated').classList.toggle('live', liveOpen() && !stale);
}

/* ---- risk map -------------------------------------------------------------------------------- */

const LEVELS = ['red', 'orange', 'yellow', 'blue'];

function renderCounts(target, counts) {
  target.replaceChildren(...LEVELS.map((l) =>
    h('span', {class: 'count lvl-' + l, 'data-level': l},
      h('span', {class: 'count-n'}, counts ? counts[l] || 0 : 0), ' ', t('level.' + l))));
}

/* Why a unit is above its assessed level: the alarm, or the open major hazard (a link to it). */
function causeNode(u) {
  if (!u.raised) return null;
  const by = u.raised_by || {};
  const out = h('div', {class: 'tile-cause', 'data-cause': u.cause}, t('risk.cause') + ': ' + label('cause', u.cause));
  if (u.cause === 'alarm' && by.alarm) {
    out.append(' ' + by.alarm.rule + (by.alarm.stage ? ' ' + by.alarm.stage : '') + ' · ' +
      label('prio', by.alarm.priority));
  } else if (u.cause === 'major_hazard' && by.major_hazard) {
    out.append(' ', h('a', {href: '#hazards/' + by.major_hazard.id}, '#' + by.major_hazard.id));
  }
  return out;
}

/* Active alarms and open hazards on a unit, as counts on its tile. */
function unitCounts(unit) {
  const alarms = (app.data.alarms || []).filter((a) => a.unit === unit && a.active &&
    ['UNACK', 'ACKED', 'LATCHED'].includes(a.state)).length;
  const hazards = (app.data.hazards || []).filter((hz) => hz.unit === unit && hz.danger_state !== 9 &&
    !hz.dismissed).length;
  return h('div', {class: 'tile-counts'},
    h('span', {class: 'tile-count' + (alarms ? ' has' : ''), 'data-count': 'alarms'}, t('risk.alarms', {n: alarms})),
    h('span', {class: 'tile-count' + (hazards ? ' has' : ''), 'data-count': 'hazards'}, t('risk.hazards', {n: hazards})));
}

function renderRisk() {
  const rm = app.data.riskMap;
  if (!rm) return;
  $('site-name').textContent = rm.site && rm.site.name ? rm.site.name : '';
  renderCounts($('counts-current'), rm.counts);
  renderCounts($('counts-assessed'), rm.counts_assessed);
  const tiles = (rm.units || []).map((u) => {
    const cur = u.current.level, ass = u.assessed.level;
    return h('article', {class: 'tile lvl-' + cur + (u.raised ? ' raised' : ''), 'data-unit': u.id, 'data-level': cur},
      h('div', {class: 'tile-name'}, u.name || u.id),
      h('div', {class: 'tile-id'}, u.id + (u.hazard_source_name ? ' · ' + u.hazard_source_name : '')),
      h('div', {class: 'tile-level'}, t('level.' + cur)),
      h('div', {class: 'tile-assessed'}, t('risk.assessedShort') + ': ',
        h('span', {class: 'chip lvl-' + ass, 'data-level': ass}, t('level.' + ass))),
      causeNode(u),
      stopNode(u),
      unitCounts(u.id),
      (u.dept || u.person) && h('div', {class: 'tile-owner'},
        [u.dept, u.person && personName(u.person)].filter(Boolean).join(' · ')));
  });
  if (!tiles.length) tiles.push(h('p', {class: 'muted'}, t('risk.none')));
  $('risk-units').replaceChildren(...tiles);
  $('risk-sources').replaceChildren(...(rm.hazard_sources || []).map((s) =>
    h('tr', {'data-source': s.hazardCode, class: s.isMajor ? 'major' : null},
      h('td', {'data-label': t('src.code')}, s.hazardCode), h('td', {'data-label': t('src.name')}, s.hazardName || ''),
      h('td', {'data-label': t('src.major')}, s.isMajor ? t('yes') : t('no')),
      h('td', {'data-label': t('src.grade')}, s.hazardLevel ? label('grade', s.hazardLevel) : '—'),
      h('td', {class: 'num', 'data-label': 'R'}, fmtNum(s.rValue)),
      h('td', {'data-label': t('cm.state')}, sourceStateNode(s)))));
}

/* ---- hazards --------------------------------------------------------------------------------- */

function isOverdue(hz) {
  return hz.deadline_ms !== null && hz.deadline_ms !== undefined && hz.danger_state !== 9 &&
    hz.deadline_ms < Date.now();
}

function renderHazards() {
  const list = app.data.hazards;
  if (!list) return;
  const rows = list.map((hz) => {
    const overdue = isOverdue(hz);
    return h('tr', {class: 'hazard hstate-' + hz.danger_state + (hz.danger_level ? ' major' : '') + (overdue ? ' is-overdue' : '') +
      (app.detail && app.detail.id === hz.id ? ' selected' : ''), 'data-hazard-id': hz.id, 'data-code': hz.code,
    'data-state': hz.danger_state, tabindex: 0, onclick: () => { location.hash = 'hazards/' + hz.id; },
    onkeydown: (ev) => { if (ev.key === 'Enter') location.hash = 'hazards/' + hz.id; }},
    h('td', {class: 'code', 'data-label': t('hazards.code')}, hz.code),
    h('td', {'data-label': t('hazards.level')},
      h('span', {class: hz.danger_level ? 'hl-major' : 'hl-general'}, label('hlevel', hz.danger_level))),
    h('td', {'data-label': t('hazards.source')}, label('dsrc', hz.danger_src)),
    h('td', {class: 'hstate', 'data-label': t('hazards.state')}, label('hstate', hz.danger_state)),
    h('td', {class: 'desc', 'data-label': t('hazards.desc')}, hz.description || ''),
    h('td', {'data-label': t('hazards.liable'), 'data-person': hz.liable_person}, personName(hz.liable_person)),
    h('td', {class: overdue ? 'overdue' : null, 'data-label': t('hazards.deadline')}, fmtDate(hz.deadline_ms),
      overdue && h('span', {class: 'tag'}, t('hazards.overdue'))));
  });
  $('hazard-rows').replaceChildren(...rows);
  $('hazards-empty').hidden = rows.length > 0;
  const open = list.filter((hz) => hz.danger_state !== 9).length;
  const badge = $('badge-hazards');
  badge.hidden = open === 0;
  badge.textContent = String(open);
}

async function openHazard(id) {
  app.detail = {id, body: null};
  renderDetail();
  renderHazards();
  if (window.matchMedia('(max-width: 760px)').matches) $('hazard-detail').scrollIntoView();
  try {
    const body = await getJSON(`/api/v1/hazards/${encodeURIComponent(id)}`);
    if (app.detail && app.detail.id === id) app.detail.body = body;
  } catch (e) {
    showMessage(t('err.network'), 'error');
  }
  renderDetail();
}

function field(name, value) {
  if (value === null || value === undefined || value === '') return null;
  return [h('dt', null, name), h('dd', null, value)];
}

function renderDetail() {
  const panel = $('hazard-detail');
  if (!app.detail) {
    panel.hidden = true;
    panel.replaceChildren();
    return;
  }
  const close = h('button', {type: 'button', class: 'close', onclick: () => {
    app.detail = null;
    renderDetail();
    renderHazards();
    if (location.hash.startsWith('#hazards/')) location.hash = 'hazards';
  }}, t('detail.close'));
  const hz = app.detail.body;
  panel.hidden = false;
  if (!hz) {
    panel.replaceChildren(close, h('p', {class: 'muted'}, t('detail.loading')));
    return;
  }
  const where = [app.names.units[hz.unit] || hz.unit, hz.event, app.names.measures[hz.measure] || hz.measure]
    .map((x) => x || '—').join(' / ');
  const dl = h('dl', null, ...[
    field(t('hazards.level'), label('hlevel', hz.danger_level)),
    field(t('hazards.state'), label('hstate', hz.danger_state)),
    field(t('hazards.source'), label('dsrc', hz.danger_src)),
    field(t('hazards.desc'), hz.description),
    field(t('detail.reason'), hz.reason),
    field(t('detail.where'), where),
    field(t('detail.rule'), hz.rule),
    field(t('hazards.liable'), hz.liable_person && personName(hz.liable_person)),
    field(t('hz.assignee'), hz.assignee && personName(hz.assignee)),
    field(t('hazards.deadline'), hz.deadline_ms ? h('span', {class: isOverdue(hz) ? 'overdue' : null},
      fmtDate(hz.deadline_ms), isOverdue(hz) && h('span', {class: 'tag'}, t('hazards.overdue'))) : null),
    field(t('detail.measures'), hz.rectify_measures),
    field(t('detail.cost'), hz.cost === null || hz.cost === undefined ? null : fmtNum(hz.cost)),
    field(t('detail.plan'), hz.contingency_plan),
    field(t('detail.reporter'), hz.reporter && personName(hz.reporter)),
    field(t('detail.rectifier'), hz.rectifier && personName(hz.rectifier)),
    field(t('detail.verifier'), hz.verifier && personName(hz.verifier)),
    field(t('detail.verifyComment'), hz.verify_comment),
    field(t('detail.created'), fmtTime(hz.created_ms)),
    field(t('detail.closed'), hz.closed_ms ? fmtTime(hz.closed_ms) : null),
  ].filter(Boolean).flat());
  const occ = (hz.occurrences || []).map((o) =>
    h('li', null, h('time', null, fmtTime(o.ts_ms)), ' ', o.rule || '', o.stage ? ' ' + o.stage : '',
      ' = ', fmtNum(o.value)));
  const journal = (hz.journal || []).map((j) => {
    const move = j.from_state === null || j.from_state === undefined || j.from_state === j.to_state
      ? label('hstate', j.to_state) : `${label('hstate', j.from_state)} → ${label('hstate', j.to_state)}`;
    return h('li', {'data-action': j.action},
      h('time', null, fmtTime(j.ts_ms)),
      h('span', {class: 'who', 'data-person': j.actor}, personName(j.actor)),
      h('span', {class: 'what'}, label('action', j.action)),
      h('span', {class: 'move'}, move),
      j.comment && h('div', {class: 'sub'}, j.comment));
  });
  const photos = attachmentList(hz.attachments);
  panel.replaceChildren(...[close, h('h3', {class: 'code'}, hz.code), hazardActionBar(hz), dl,
    photos && h('h4', null, t('hz.attachments')), photos,
    occ.length && h('h4', null, t('detail.occurrences')), occ.length && h('ol', {class: 'occ'}, ...occ),
    h('h4', null, t('detail.journal')), h('ol', {class: 'timeline'}, ...journal)].filter((x) => x instanceof Node));
}

/* ---- inspections ----------------------------------------------------------------------------- */

function inspectionStatus(task) {
  if (task.check_status === null || task.check_status === undefined) {
    return task.due_ms < Date.now() ? t('insp.late') : t('insp.pending');
  }
  const status = label('cs', task.check_status);
  return task.evidence ? `${status} · ${label('ev', task.evidence)}` : status;
}

function renderInspections() {
  const list = app.data.inspections;
  if (!list) return;
  renderInspectionTools();
  const shown = inspectionFilter(list);
  const rows = shown.map((task) => {
    const done = task.check_status !== null && task.check_status !== undefined;
    const what = (app.names.measureInfo[task.measure] || {}).troubleshoot;
    const owner = taskOwner(task);
    return h('tr', {class: 'task' + (done ? ' done cs-' + task.check_status : ' pending'), 'data-task-id': task.id,
      'data-measure': task.measure},
    h('td', {class: 'measure', 'data-label': t('insp.measure')}, taskTitle(task),
      what && h('div', {class: 'what-check'}, t('insp.what', {w: what})),
      task.plan && h('div', {class: 'what-check'}, (task.plan.checklist || []).join('；')),
      owner && h('div', {class: 'sub'}, t('insp.responsible', {p: personName(owner)}))),
    h('td', {'data-label': t('insp.unit')}, app.names.units[task.unit] || task.unit || '—'),
    h('td', {class: 'method', 'data-label': t('insp.method')}, task.data_src ? label('tsrc', task.data_src) : '—'),
    h('td', {'data-label': t('insp.cycle')}, t('insp.cycleFmt', {n: task.check_cycle, u: label('cu', task.check_cycle_unit)})),
    h('td', {'data-label': t('insp.period')}, `${fmtTime(task.start_ms)} – ${fmtTime(task.due_ms)}`),
    h('td', {class: 'status', 'data-label': t('insp.status')}, inspectionStatus(task)),
    h('td', {'data-label': t('insp.checker'), 'data-person': task.checker},
      task.checker ? `${personName(task.checker)} · ${fmtTime(task.checked_ms)}` : '—'),
    h('td', {class: 'actions', 'data-label': t('insp.actions')}, inspectionAction(task)));
  });
  $('inspection-rows').replaceChildren(...rows);
  const empty = $('inspections-empty');
  empty.hidden = rows.length > 0;
  empty.textContent = inspectionView() !== 'mine' ? t('insp.none') : app.me ? t('insp.noneMine') : t('insp.mineNeedsToken');
}

/* ---- page ------------------------------------------------------------------------------------ */

function render() {
  renderRisk();
  renderPlan();
  renderAlarms();
  renderHazards();
  renderInspections();
  renderPoint();
  renderGovern();
  renderAssessment();
  if (app.detail && app.detail.body) renderDetail();
}

function applyLanguage() {
  document.documentElement.lang = app.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  $('lang-toggle').textContent = t('lang.other');
  renderMe();
  render();
  renderDetail();
  updateFreshness();
}

/* The hash names the view ("#alarms"); "#hazards/ID" also opens that hazard's detail panel. */
function showView(hash) {
  const [name, arg] = hash.split('/');
  const view = document.getElementById('view-' + name) ? name : 'risk';
  app.view = view;
  for (const s of document.querySelectorAll('.view')) s.hidden = s.dataset.view !== view;
  for (const b of document.querySelectorAll('#tabs [data-view]')) {
    b.setAttribute('aria-selected', b.dataset.view === view ? 'true' : 'false');
  }
  if (view === 'hazards' && /^[0-9]+$/.test(arg || '')) openHazard(Number(arg));
  if (view === 'point' && arg) openPoint(decodeURIComponent(arg));
  if (view === 'assessment') loadAssessment();
}

function initLanguage() {
  const q = new URLSearchParams(location.search).get('lang');
  let lang = null;
  if (q === 'en' || q === 'zh') {
    lang = q;
    localStorage.setItem(LANG_KEY, lang);
  } else {
    lang = localStorage.getItem(LANG_KEY);
  }
  app.lang = lang === 'en' ? 'en' : 'zh';
}

function init() {
  initLanguage();
  for (const b of document.querySelectorAll('#tabs [data-view]')) {
    b.addEventListener('click', () => { location.hash = b.dataset.view; });
  }
  window.addEventListener('hashchange', () => showView(location.hash.slice(1)));
  showView(location.hash.slice(1) || 'risk');
  $('lang-toggle').addEventListener('click', () => {
    app.lang = app.lang === 'zh' ? 'en' : 'zh';
    $('message').hidden = true; /* a message stays in the language it was given in */
    localStorage.setItem(LANG_KEY, app.lang);
    applyLanguage();
  });
  $('settings-toggle').addEventListener('click', () => { $('settings').hidden = !$('settings').hidden; });
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = $('token-input').value.trim();
    if (v) sessionStorage.setItem(TOKEN_KEY, v);
    app.askedToken = false;
    $('token-input').value = '';
    loadMe();
    restartLive();
    if (app.view === 'assessment') loadAssessment();
  });
  $('token-clear').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    loadMe();
    restartLive();
  });
  initAlarms();
  initLedger();
  initTrend();
  initGovern();
  initAssess();
  initPlan();
  initLogin();
  applyLanguage();
  setInterval(updateFreshness, 1000);
  poll();
  startLive();
  app.ready = true; /* handlers attached: the forms no longer submit to the server */
}

document.addEventListener('DOMContentLoaded', init);
