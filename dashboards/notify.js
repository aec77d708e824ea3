/* dualguard dashboard: the notifications screen (delivery status of every outbox message:
 * recipient, channel, attempts, last response, delivered or expired; the running escalations)
 * and the reports screen (the monthly report, its CSV and HTML, and the national-field export
 * as downloads fetched with the page's token). Loaded after app.js, whose helpers (t, h, $,
 * label, fmtTime, fmtNum, getJSON, authHeaders, personName, showMessage, app, I18N) it uses. */
'use strict';

const NT_PAGE = 50;
const NT_REFRESH_MS = 10000;

Object.assign(I18N.zh, {
  'tab.notifications': '通知', 'tab.reports': '报表',
  'nt.title': '通知与升级', 'nt.recipient': '接收人', 'nt.all': '全部', 'nt.escalations': '正在进行的升级',
  'nt.alarm': '报警', 'nt.policy': '升级策略', 'nt.tier': '级别', 'nt.tierSince': '本级开始',
  'nt.steps': '已通知次数', 'nt.next': '下次升级', 'nt.noEscalations': '没有正在进行的升级',
  'nt.delivery': '投递状态', 'nt.created': '时间', 'nt.what': '内容', 'nt.channel': '渠道', 'nt.state': '状态',
  'nt.attempts': '尝试次数', 'nt.response': '最后响应', 'nt.none': '没有通知', 'nt.more': '更多',
  'nt.state.pending': '待发送', 'nt.state.delivered': '已送达', 'nt.state.expired': '已过期',
  'nt.expires': '{t} 过期', 'nt.group': '（渠道）', 'nt.ref.alarm': '报警 {r}', 'nt.ref.inspection': '排查任务 {r} 未排查', 'nt.ref.esc': '升级 {r} · 第 {n} 次通知',
  'nt.ref.hazard': '隐患 {r} 逾期', 'nt.ref.digest': '报警汇总', 'nt.ref.report': '报表 {r}', 'nt.last': '最后一级',
  'rp.title': '月度报表', 'rp.month': '月份', 'rp.show': '查看', 'rp.csv': '下载 CSV', 'rp.html': '下载 HTML',
  'rp.export': '导出国家平台数据（JSON）', 'rp.generated': '{m} · 生成于 {t}',
  'rp.opened': '本月新增隐患', 'rp.closed': '本月已验收', 'rp.overdue': '本月逾期', 'rp.openAtEnd': '月末未闭环',
  'rp.byLevel': '按隐患等级', 'rp.byType': '按隐患类型', 'rp.bySource': '按隐患来源', 'rp.code': '类别',
  'rp.count': '数量', 'rp.majorRisks': '重大风险', 'rp.majorHazards': '重大隐患', 'rp.kind': '类型',
  'rp.name': '名称', 'rp.level': '等级', 'rp.basis': '依据', 'rp.kind.hazard_source': '重大危险源',
  'rp.kind.unit': '风险分析单元', 'rp.basis.assessed': '评估', 'rp.basis.dynamic': '动态',
  'rp.hcode': '隐患编号', 'rp.desc': '描述', 'rp.state': '状态', 'rp.deadline': '整改期限', 'rp.liable': '责任人',
  'rp.none': '本月无', 'rp.err': '报表加载失败：{m}', 'rp.downloaded': '已下载 {f}', 'rp.type': '类型 {c}',
});
Object.assign(I18N.en, {
  'tab.notifications': 'Notifications', 'tab.reports': 'Reports',
  'nt.title': 'Notifications', 'nt.recipient': 'Recipient', 'nt.all': 'All', 'nt.escalations': 'Running escalations',
  'nt.alarm': 'Alarm', 'nt.policy': 'Policy', 'nt.tier': 'Tier', 'nt.tierSince': 'Tier since',
  'nt.steps': 'Messages sent', 'nt.next': 'Next step', 'nt.noEscalations': 'No escalation running',
  'nt.delivery': 'Delivery status', 'nt.created': 'Time', 'nt.what': 'About', 'nt.channel': 'Channel', 'nt.state': 'Status',
  'nt.attempts': 'Attempts', 'nt.response': 'Last response', 'nt.none': 'No notifications', 'nt.more': 'More',
  'nt.state.pending': 'pending', 'nt.state.delivered': 'delivered', 'nt.state.expired': 'expired',
  'nt.expires': 'expires {t}', 'nt.group': '(channel)', 'nt.ref.alarm': 'alarm {r}',
  'nt.ref.inspection': 'inspection task {r} missed', 'nt.ref.esc': 'escalation of {r} · message {n}',
  'nt.ref.hazard': 'hazard {r} overdue', 'nt.ref.digest': 'alarm digest', 'nt.ref.report': 'report {r}', 'nt.last': 'last tier',
  'rp.title': 'Monthly report', 'rp.month': 'Month', 'rp.show': 'Show', 'rp.csv': 'Download CSV', 'rp.html': 'Download HTML',
  'rp.export': 'National platform export (JSON)', 'rp.generated': '{m} · generated {t}',
  'rp.opened': 'Hazards opened', 'rp.closed': 'Accepted (closed)', 'rp.overdue': 'Overdue', 'rp.openAtEnd': 'Open at month end',
  'rp.byLevel': 'By hazard level', 'rp.byType': 'By hazard type', 'rp.bySource': 'By source', 'rp.code': 'Category',
  'rp.count': 'Count', 'rp.majorRisks': 'Major risks', 'rp.majorHazards': 'Major hazards', 'rp.kind': 'Kind',
  'rp.name': 'Name', 'rp.level': 'Level', 'rp.basis': 'Basis', 'rp.kind.hazard_source': 'major hazard source',
  'rp.kind.unit': 'risk unit', 'rp.basis.assessed': 'assessed', 'rp.basis.dynamic': 'dynamic',
  'rp.hcode': 'Hazard code', 'rp.desc': 'Description', 'rp.state': 'Status', 'rp.deadline': 'Deadline', 'rp.liable': 'Liable',
  'rp.none': 'None this month', 'rp.err': 'The report failed to load: {m}', 'rp.downloaded': 'Downloaded {f}', 'rp.type': 'type {c}',
});

/* The report's level texts are the national Chinese terms; English pages translate the known ones. */
const RP_LEVEL_EN = {
  '重大风险': 'major (red)', '较大风险': 'significant (orange)', '一般风险': 'general (yellow)', '低风险': 'low (blue)',
  '一级': 'grade 1', '二级': 'grade 2', '三级': 'grade 3', '四级': 'grade 4',
};

const ntUi = {rows: [], cursor: null, escalations: null, timer: null, report: null, error: null};
window.dgDownloads = [];   /* what the page downloaded (tests and diagnostics read it) */

/* ---- notifications ---------------------------------------------------------------------------- */

function alarmByIdText(id) {
  const a = (app.data.alarms || []).find((x) => x.id === id);
  return a ? `${a.point_name || a.point} (${a.rule})` : "#" + id;
}

/* What a message is about, from its outbox ref: "alarm:ID:journal:J", "esc:RUN:step:N:PERSON",
 * "hazard:ID:overdue:MS", "inspection:ID:missed", "report:monthly:YYYY-MM", "digest:KEY:MS". */
function refText(ref) {
  if (!ref) return '—';
  const p = ref.split(':');
  if (p[0] === 'alarm' && /^[0-9]+$/.test(p[1])) return t('nt.ref.alarm', {r: alarmByIdText(Number(p[1]))});
  if (p[0] === 'esc') {
    const run = (ntUi.escalations || []).find((e) => String(e.id) === p[1]);
    return t('nt.ref.esc', {r: run ? alarmByIdText(run.alarm_id) : '#' + p[1], n: p[3] || '?'});
  }
  if (p[0] === 'report') return t('nt.ref.report', {r: p[2] || ''});
  const key = 'nt.ref.' + p[0];
  return key in I18N[app.lang] ? t(key, {r: p[1] || ''}) : ref;
}

function ntStateCell(n) {
  const when = n.state === 'delivered' ? fmtTime(n.delivered_ms)
    : n.state === 'pending' ? t('nt.expires', {t: fmtTime(n.expires_ms)}) : '';
  return h('td', {class: 'nt-state', 'data-label': t('nt.state'), 'data-state': n.state},
    h('span', {class: 'nt-badge nt-' + n.state}, t('nt.state.' + n.state)), when && h('div', {class: 'sub'}, when));
}

function ntRow(n) {
  return h('tr', {class: 'nt', 'data-id': n.id, 'data-state': n.state},
    h('td', {'data-label': t('nt.created')}, fmtTime(n.created_ms)),
    h('td', {'data-label': t('nt.what')}, refText(n.ref)),
    h('td', {'data-label': t('nt.recipient')}, n.recipient ? personName(n.recipient) : t('nt.group')),
    h('td', {'data-label': t('nt.channel')}, n.channel || '—'),
    ntStateCell(n),
    h('td', {class: 'num', 'data-label': t('nt.attempts')}, String(n.attempts)),
    h('td', {class: 'resp', 'data-label': t('nt.response')}, n.last_response || '—'));
}

function escRow(e) {
  return h('tr', {class: 'esc', 'data-alarm-id': e.alarm_id},
    h('td', {'data-label': t('nt.alarm')}, h('a', {href: '#alarms', class: 'point-link'}, alarmByIdText(e.alarm_id))),
    h('td', {'data-label': t('nt.policy')}, e.policy),
    h('td', {class: 'num', 'data-label': t('nt.tier')}, String(e.tier)),
    h('td', {'data-label': t('nt.tierSince')}, fmtTime(e.tier_started_ms)),
    h('td', {class: 'num', 'data-label': t('nt.steps')}, String(e.steps)),
    h('td', {'data-label': t('nt.next')}, e.next_step_ms === null ? t('nt.last') : fmtTime(e.next_step_ms)));
}

function renderRecipients() {
  const sel = $('nt-recipient'), keep = sel.value;
  sel.replaceChildren(h('option', {value: ''}, t('nt.all')),
    ...app.persons.map((p) => h('option', {value: p.id}, p.name ? `${p.name} (${p.id})` : p.id)));
  sel.value = keep;
}

function renderNotifications() {
  if (app.view !== 'notifications') return;
  renderRecipients();
  const esc = ntUi.escalations || [];
  $('esc-rows').replaceChildren(...esc.map(escRow));
  $('esc-empty').hidden = esc.length > 0 || ntUi.escalations === null;
  $('nt-rows').replaceChildren(...ntUi.rows.map(ntRow));
  $('nt-empty').hidden = ntUi.rows.length > 0;
  $('nt-more').hidden = !ntUi.cursor;
}

function ntQuery(cursor) {
  const q = new URLSearchParams({limit: String(NT_PAGE)});
  const who = $('nt-recipient').value;
  if (who) q.set('recipient', who);
  if (cursor) q.set('cursor', cursor);
  return '/api/v1/notifications?' + q;
}

async function loadNotifications(more) {
  try {
    if (!app.persons.length) await loadNames(); /* people by name */
    const jobs = [getJSON(ntQuery(more ? ntUi.cursor : null))];
    if (!more) jobs.push(getJSON('/api/v1/escalations'));
    const [list, esc] = await Promise.all(jobs);
    ntUi.rows = more ? ntUi.rows.concat(list.notifications) : list.notifications;
    ntUi.cursor = list.next_cursor;
    if (esc) ntUi.escalations = esc.escalations;
    renderNotifications();
  } catch (e) { /* the stale banner speaks for failing reads */ }
}

/* ---- reports ---------------------------------------------------------------------------------- */

function levelText(s) { return app.lang === 'en' && RP_LEVEL_EN[s] ? RP_LEVEL_EN[s] : s || '—'; }

function rpTable(cols, rows) {
  if (!rows.length) return h('p', {class: 'muted'}, t('rp.none'));
  return h('table', {class: 'grid cards rp'},
    h('thead', null, h('tr', null, ...cols.map(([key, , cls]) => h('th', {class: cls}, t(key))))),
    h('tbody', null, ...rows.map((r) => h('tr', null,
      ...cols.map(([key, get, cls]) => h('td', {class: cls, 'data-label': t(key)}, get(r)))))));
}

function rpCounts(titleKey, list, labelOf) {
  return h('div', {class: 'rp-block'}, h('h3', null, t(titleKey)),
    rpTable([['rp.code', (r) => labelOf(r.code)], ['rp.count', (r) => String(r.count), 'num']], list || []));
}

function renderReport() {
  if (app.view !== 'reports') return;
  const body = $('rp-body'), r = ntUi.report;
  if (ntUi.error) return body.replaceChildren(h('p', {class: 'banner stale'}, t('rp.err', {m: ntUi.error})));
  if (!r) return body.replaceChildren();
  const s = r.statistics;
  const kpi = (key, v) => h('div', {class: 'kpi', 'data-kpi': key}, h('div', {class: 'kpi-n'}, String(v)), h('div', {class: 'sub'}, t('rp.' + key)));
  body.replaceChildren(
    h('p', {class: 'sub rp-meta'}, t('rp.generated', {m: r.month, t: fmtTime(r.generated_ms)}), ' · ', r.enterpriseName || ''),
    h('div', {class: 'rp-kpis'}, kpi('opened', s.opened), kpi('closed', s.closed), kpi('overdue', s.overdue), kpi('openAtEnd', s.openAtEnd)),
    h('div', {class: 'rp-stats'},
      rpCounts('rp.byLevel', s.byLevel, (c) => label('hlevel', c)),
      rpCounts('rp.byType', s.byType, (c) => t('rp.type', {c})),
      rpCounts('rp.bySource', s.bySource, (c) => label('dsrc', c))),
    h('h3', null, t('rp.majorRisks')),
    rpTable([['rp.kind', (x) => t('rp.kind.' + x.kind)], ['rp.name', (x) => `${x.name} (${x.id})`],
      ['rp.level', (x) => levelText(x.level)], ['rp.basis', (x) => t('rp.basis.' + x.basis)]], r.majorRisks || []),
    h('h3', null, t('rp.majorHazards')),
    rpTable([['rp.hcode', (x) => x.dangerCode, 'code'], ['rp.desc', (x) => x.dangerDesc || '', 'desc'],
      ['rp.state', (x) => label('hstate', x.dangerState)], ['rp.liable', (x) => personName(x.liablePerson)],
      ['rp.deadline', (x) => x.dangerManageDeadline || '—']], r.majorHazards || []));
}

function reportMonth() {
  const v = $('rp-month').value;
  return /^[0-9]{4}-[0-9]{2}$/.test(v) ? v : null;
}

async function loadReport() {
  const month = reportMonth();
  if (!month) return;
  try {
    ntUi.report = await getJSON('/api/v1/reports/monthly?month=' + month);
    ntUi.error = null;
  } catch (e) {
    ntUi.error = e.message;
  }
  renderReport();
}

/* Downloads go through fetch so the token goes with them; the file is saved from a blob. */
async function download(kind) {
  const month = reportMonth();
  if (!month && kind !== 'export') return;
  const path = kind === 'export' ? '/api/v1/export' : `/api/v1/reports/monthly?month=${month}&format=${kind}`;
  const name = kind === 'export' ? 'dualguard-export.json' : `dualguard-report-${month}.${kind}`;
  try {
    const r = await fetch(path, {headers: authHeaders(), cache: 'no-store'});
    if (r.status === 401) askForToken();
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const blob = await r.blob();
    const url = URL.createObjectURL(blob);
    const a = h('a', {href: url, download: name, hidden: true});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    window.dgDownloads.push({name, size: blob.size, type: blob.type});
    showMessage(t('rp.downloaded', {f: name}), 'info');
  } catch (e) {
    showMessage(t('rp.err', {m: e.message}), 'error');
  }
}

/* ---- wiring ----------------------------------------------------------------------------------- */

function onNotifyView() {
  clearInterval(ntUi.timer);
  ntUi.timer = null;
  if (app.view === 'notifications') {
    loadNotifications(false);
    ntUi.timer = setInterval(() => loadNotifications(false), NT_REFRESH_MS);
  } else if (app.view === 'reports') {
    if (!ntUi.report) loadReport();
    renderReport();
  }
}

function initNotify() {
  const now = new Date();
  $('rp-month').value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`;
  $('rp-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadReport();
  });
  for (const b of document.querySelectorAll('[data-rp-download]')) {
    b.addEventListener('click', () => download(b.dataset.rpDownload));
  }
  $('nt-recipient').addEventListener('change', () => loadNotifications(false));
  $('nt-more').addEventListener('click', () => loadNotifications(true));
  $('lang-toggle').addEventListener('click', () => { renderNotifications(); renderReport(); });
  window.addEventListener('hashchange', onNotifyView);
  onNotifyView();
}

document.addEventListener('DOMContentLoaded', initNotify);
