/* dualguard dashboard: major-hazard governance (重大隐患治理) and the daily safety commitment
 * (安全承诺公告). The stop-production / evacuate flags show on every view and on the risk map's
 * tiles; the commitment of a day is read from GET /api/v1/commitment and confirmed by the
 * principal person in charge or a delegate. Text only (textContent), like the rest. */
'use strict';

const GOV_EVERY_MS = 10000;
const DOC_TYPES = ['application/pdf', 'image/jpeg', 'image/png', 'image/webp'];
const OP_TYPES = ['hot_work', 'confined_space', 'blind_plate', 'work_at_height', 'lifting', 'temporary_power',
  'excavation', 'road_break'];
const OP_TYPES_ZH = ['动火作业', '受限空间作业', '盲板抽堵作业', '高处作业', '吊装作业', '临时用电作业', '动土作业', '断路作业'];

Object.assign(I18N.zh, {
  'tab.commitment': '安全承诺', 'tab.governance': '重大隐患治理',
  'stop.banner': '停产停业 / 撤人', 'stop.stop_production': '停产停业', 'stop.evacuate': '撤人', 'stop.none': '无',
  'stop.by': '{p} 于 {t} 下达：{r}',
  'cm.title': '安全承诺公告', 'cm.date': '日期', 'cm.draft': '草稿（实时数据，未确认）',
  'cm.confirmed': '已由 {p} 于 {t} 确认', 'cm.confirm': '确认并发布承诺', 'cm.confirmAsk': '以 {p} 的身份确认 {d} 的安全承诺？确认后不可更改。',
  'cm.done': '{d} 安全承诺已确认发布', 'cm.sources': '重大危险源运行状态', 'cm.src': '危险源', 'cm.grade': '级别',
  'cm.state': '状态', 'cm.reason': '说明', 'cm.since': '变更人 / 时间', 'cm.hazards': '未关闭隐患',
  'cm.major': '重大隐患', 'cm.general': '一般隐患', 'cm.alarms': '未消除报警', 'cm.unacked': '其中未确认',
  'cm.overdue': '超期未排查任务', 'cm.ops': '今日特殊作业', 'cm.opType': '作业类型', 'cm.place': '地点',
  'cm.window': '时间', 'cm.noOps': '无特殊作业', 'cm.stops': '停产停业 / 撤人', 'cm.noStops': '无',
  'cm.history': '历史承诺', 'cm.noHistory': '尚无已确认的承诺', 'cm.note': '备注', 'cm.unconfirmed': '主要负责人尚未确认',
  'ostate.running': '运行', 'ostate.shutdown': '停产', 'ostate.maintenance': '检修',
  'gv.title': '重大隐患治理', 'gv.none': '无未关闭的重大隐患', 'gv.code': '编号', 'gv.desc': '描述', 'gv.unit': '风险单元',
  'gv.state': '状态', 'gv.steps': '治理步骤', 'gv.stop': '停产 / 撤人', 'gv.actions': '操作',
  'gv.assessment': '评估报告书', 'gv.plan': '治理方案', 'gv.review': '专家论证', 'gv.accepted': '验收销号',
  'gv.review.approved': '论证通过', 'gv.review.rejected': '论证未通过', 'gv.todo': '待完成',
  'gv.upload': '上传文件', 'gv.doReview': '记录论证', 'gv.doStop': '停产 / 撤人', 'gv.doResume': '恢复',
  'gv.accept': '验收', 'gv.who': '验收人：主要负责人或授权代理人（{d}）',
  'gv.reviewers': '论证专家（用顿号或逗号分隔）', 'gv.conclusion': '论证结论', 'gv.opinion': '论证意见',
  'gv.flag': '指令', 'gv.reason': '原因（必填）', 'gv.stage': '文件类型', 'gv.file': '文件（PDF 或图片，≤ 8 MiB）',
  'gv.ok': '提交', 'gv.saved': '已保存', 'gv.approved': '通过', 'gv.rejected': '不通过',
  'cm.declare': '申报特殊作业', 'cm.setState': '变更状态', 'cm.start': '开始', 'cm.end': '结束',
});
Object.assign(I18N.en, {
  'tab.commitment': 'Safety commitment', 'tab.governance': 'Major hazards',
  'stop.banner': 'Stop production / evacuate', 'stop.stop_production': 'Stop production', 'stop.evacuate': 'Evacuate',
  'stop.none': 'none', 'stop.by': 'ordered by {p} at {t}: {r}',
  'cm.title': 'Daily safety commitment', 'cm.date': 'Date', 'cm.draft': 'Draft (live data, not confirmed)',
  'cm.confirmed': 'Confirmed by {p} at {t}', 'cm.confirm': 'Confirm and publish', 'cm.confirmAsk': 'Confirm the safety commitment of {d} as {p}? It cannot be changed afterwards.',
  'cm.done': 'Safety commitment of {d} confirmed and published', 'cm.sources': 'Major hazard sources', 'cm.src': 'Hazard source',
  'cm.grade': 'Grade', 'cm.state': 'State', 'cm.reason': 'Note', 'cm.since': 'Set by / at', 'cm.hazards': 'Open hazards',
  'cm.major': 'Major', 'cm.general': 'General', 'cm.alarms': 'Active alarms', 'cm.unacked': 'unacknowledged',
  'cm.overdue': 'Overdue inspections', 'cm.ops': 'Special operations today', 'cm.opType': 'Operation', 'cm.place': 'Place',
  'cm.window': 'Time', 'cm.noOps': 'No special operations', 'cm.stops': 'Stop production / evacuate', 'cm.noStops': 'none',
  'cm.history': 'History', 'cm.noHistory': 'No confirmed commitment yet', 'cm.note': 'Note',
  'cm.unconfirmed': 'not yet confirmed by the principal person in charge',
  'ostate.running': 'Running', 'ostate.shutdown': 'Shut down', 'ostate.maintenance': 'Under maintenance',
  'gv.title': 'Major hazard governance', 'gv.none': 'No open major hazard', 'gv.code': 'Code', 'gv.desc': 'Description',
  'gv.unit': 'Risk unit', 'gv.state': 'State', 'gv.steps': 'Governance steps', 'gv.stop': 'Stop order', 'gv.actions': 'Actions',
  'optype.hot_work': 'Hot work', 'optype.confined_space': 'Confined space entry', 'optype.blind_plate': 'Blind plate',
  'optype.work_at_height': 'Work at height', 'optype.lifting': 'Lifting', 'optype.temporary_power': 'Temporary power',
  'optype.excavation': 'Excavation', 'optype.road_break': 'Road closure',
  'gv.assessment': 'Assessment report', 'gv.plan': 'Treatment plan', 'gv.review': 'Expert review', 'gv.accepted': 'Accepted',
  'gv.review.approved': 'review approved', 'gv.review.rejected': 'review rejected', 'gv.todo': 'to do',
  'gv.upload': 'Upload', 'gv.doReview': 'Expert review', 'gv.doStop': 'Stop / evacuate', 'gv.doResume': 'Resume',
  'gv.accept': 'Accept', 'gv.who': 'Accepted by the principal person in charge or a delegate ({d})',
  'gv.reviewers': 'Experts (comma separated)', 'gv.conclusion': 'Conclusion', 'gv.opinion': 'Opinion',
  'gv.flag': 'Order', 'gv.reason': 'Reason (required)', 'gv.stage': 'Document', 'gv.file': 'File (PDF or image, ≤ 8 MiB)',
  'gv.ok': 'Submit', 'gv.saved': 'Saved', 'gv.approved': 'approved', 'gv.rejected': 'rejected',
  'cm.declare': 'Declare a special operation', 'cm.setState': 'Change', 'cm.start': 'Start', 'cm.end': 'End',
});

const gov = {commitment: null, today: null, history: [], overview: null, date: null, action: null, target: null};

/* The principal person in charge or a delegate named in the config. */
function isPrincipal() {
  if (!app.me) return false;
  const delegates = (gov.overview && gov.overview.principal_delegates) || [];
  return app.me.roles.includes('principal') || delegates.includes(app.me.id);
}

function govMay() { return isPrincipal() || may('verifyMajor'); }

/* ---- stop flags: banner on every view, marker on risk tiles ---------------------------------- */

function stopText(s) {
  return `${label('stop', s.stop_flag)} · ${s.code} · ${app.names.units[s.unit] || s.unit || ''} — ` +
    t('stop.by', {p: personName(s.stop_by), t: fmtTime(s.stop_ms), r: s.stop_reason || ''});
}

function renderStops() {
  const stops = (app.data.riskMap && app.data.riskMap.stops) || [];
  const b = $('stop-banner');
  b.replaceChildren(...stops.map((s) => h('div', {class: 'stop-line', 'data-stop': s.stop_flag},
    h('strong', null, t('stop.banner') + ': '), stopText(s))));
  b.hidden = !stops.length;
}

function stopNode(u) {
  if (!u.stop) return null;
  return h('div', {class: 'tile-stop', 'data-stop': u.stop.stop_flag}, label('stop', u.stop.stop_flag) + ' · ' +
    (u.stop.stop_reason || ''));
}

function sourceStateNode(s) {
  const st = s.operating_state;
  return st ? h('span', {class: 'ostate ostate-' + st.state}, label('ostate', st.state)) : '—';
}

/* ---- commitment ------------------------------------------------------------------------------ */

function cmTable(head, rows) {
  return h('table', {class: 'grid cards'}, h('thead', null, h('tr', null, ...head.map((k) => h('th', null, t(k))))),
    h('tbody', null, ...rows.map((cells) => h('tr', null,
      ...cells.map((c, i) => h('td', {'data-label': t(head[i])}, c))))));
}

function cmFigure(key, value, extra) {
  return h('div', {class: 'cm-figure' + (value ? ' has' : ''), 'data-figure': key},
    h('span', {class: 'count-n'}, value), ' ', t(key), extra ? h('span', {class: 'sub'}, ' ' + extra) : null);
}

function renderCommitment() {
  const c = gov.commitment, box = $('cm-body');
  if (!c) return;
  const confirmed = c.status === 'confirmed';
  $('cm-status').textContent = confirmed ? t('cm.confirmed', {p: c.confirmed_by_name || c.confirmed_by,
    t: fmtTime(c.confirmed_ms)}) : t('cm.draft');
  $('cm-status').className = 'cm-status ' + c.status;
  const today = new Date().toLocaleDateString('sv-SE');
  $('cm-confirm').hidden = confirmed || !isPrincipal() || c.date !== today;
  $('cm-declare').hidden = !may('manage');
  const ho = c.hazards_open, al = c.alarms;
  box.replaceChildren(...[
    h('p', {class: 'cm-text', lang: app.lang === 'zh' ? 'zh-CN' : 'en'}, app.lang === 'zh' ? c.text_zh : c.text_en),
    h('div', {class: 'cm-figures'},
      cmFigure('cm.major', ho.major), cmFigure('cm.general', ho.general),
      cmFigure('cm.alarms', al.active, al.unacknowledged ? `(${t('cm.unacked')} ${al.unacknowledged})` : ''),
      cmFigure('cm.overdue', c.inspections.overdue), cmFigure('cm.ops', c.special_operations.length),
      cmFigure('cm.stops', c.stops.length)),
    h('h3', null, t('cm.sources')),
    cmTable(['cm.src', 'cm.grade', 'cm.state', 'cm.reason', 'cm.since'], c.hazard_sources.map((s) => [
      s.name || s.id, s.major_grade ? label('grade', s.major_grade) : '—',
      h('span', {class: 'ostate-cell'}, h('span', {class: 'ostate ostate-' + s.state}, label('ostate', s.state)),
        !confirmed && may('manage') ? h('button', {type: 'button', 'data-source': s.id,
          onclick: () => openGov('state', {id: s.id, code: s.name || s.id})}, t('cm.setState')) : null),
      s.reason || '—', s.actor ? `${personName(s.actor)} · ${fmtTime(s.ts_ms)}` : '—'])),
    h('h3', null, t('cm.stops')),
    c.stops.length ? h('ul', {class: 'cm-stops'}, ...c.stops.map((s) => h('li', null, stopText(s))))
      : h('p', {class: 'muted'}, t('cm.noStops')),
    h('h3', null, t('cm.ops')),
    c.special_operations.length ? cmTable(['cm.opType', 'cm.place', 'cm.window'], c.special_operations.map((o) => [
      app.lang === 'zh' ? o.type_zh : label('optype', o.type), o.place, `${fmtTime(o.start_ms)} – ${fmtTime(o.end_ms)}`]))
      : h('p', {class: 'muted'}, t('cm.noOps')),
    c.note ? h('p', null, t('cm.note') + ': ' + c.note) : null].filter(Boolean));
  $('cm-history').replaceChildren(...(gov.history.length ? gov.history.map((x) =>
    h('li', null, h('a', {href: '#commitment', onclick: () => loadCommitment(x.date)}, x.date), ' · ',
      t('cm.confirmed', {p: x.confirmed_by_name || x.confirmed_by, t: fmtTime(x.confirmed_ms)})))
    : [h('li', {class: 'muted'}, t('cm.noHistory'))]));
}

/* Today's commitment on the risk map: confirmed by whom, or not yet. */
function renderToday() {
  const c = gov.today, el = $('cm-today');
  if (!c) return;
  const confirmed = c.status === 'confirmed';
  el.className = 'cm-today ' + c.status;
  el.replaceChildren(h('a', {href: '#commitment'}, t('cm.title') + ' ' + c.date + ': '),
    confirmed ? t('cm.confirmed', {p: c.confirmed_by_name || c.confirmed_by, t: fmtTime(c.confirmed_ms)}) : t('cm.unconfirmed'));
  el.hidden = false;
}

async function loadToday() {
  try { gov.today = await getJSON('/api/v1/commitment'); } catch (e) { return; }
  renderToday();
}

async function loadCommitment(date) {
  if (date !== undefined) gov.date = date;
  const q = gov.date ? '?date=' + encodeURIComponent(gov.date) : '';
  try {
    const [c, hist] = await Promise.all([getJSON('/api/v1/commitment' + q), getJSON('/api/v1/commitments?limit=31')]);
    gov.commitment = c;
    gov.history = hist.commitments;
    $('cm-date').value = c.date;
  } catch (e) { return; }
  renderCommitment();
}

async function confirmCommitment() {
  const c = gov.commitment;
  if (!c || !app.me || !window.confirm(t('cm.confirmAsk', {d: c.date, p: app.me.name || app.me.id}))) return;
  const res = await postJSON('/api/v1/commitment/confirm', {date: c.date}).catch(() => ({status: 0}));
  if (res.status === 201) showMessage(t('cm.done', {d: c.date}), 'info');
  else showMessage(errorText(res), 'error');
  loadCommitment();
  loadToday();
}

/* ---- governance ------------------------------------------------------------------------------ */

function stepChip(done, text, key) {
  return h('span', {class: 'step' + (done ? ' done' : ''), 'data-step': key}, (done ? '✓ ' : '○ ') + text);
}

function govActions(m) {
  if (!app.me || m.steps.accepted) return [];
  const out = [];
  if (govMay()) {
    out.push(h('button', {type: 'button', onclick: () => openGov('document', m)}, t('gv.upload')));
    out.push(h('button', {type: 'button', onclick: () => openGov('review', m)}, t('gv.doReview')));
    out.push(h('button', {type: 'button', onclick: () => openGov(m.stop_flag === 'none' ? 'stop' : 'resume', m)},
      t(m.stop_flag === 'none' ? 'gv.doStop' : 'gv.doResume')));
  }
  if (isPrincipal() && m.danger_state === 1) {
    out.push(h('a', {class: 'button primary', href: '#hazards/' + m.id}, t('gv.accept')));
  }
  return out;
}

function renderGovernance() {
  const o = gov.overview;
  if (!o) return;
  const rows = o.major_hazards.map((m) => {
    const s = m.steps;
    const review = s.expert_review ? t('gv.review.' + s.expert_review) : t('gv.review') + ' ' + t('gv.todo');
    return h('tr', {'data-hazard': m.id, class: m.stop_flag !== 'none' ? 'stopped' : null},
      h('td', {'data-label': t('gv.code')}, h('a', {href: '#hazards/' + m.id}, m.code)),
      h('td', {'data-label': t('gv.desc')}, m.description || ''),
      h('td', {'data-label': t('gv.unit')}, app.names.units[m.unit] || m.unit || '—'),
      h('td', {'data-label': t('gv.state')}, label('hstate', m.danger_state)),
      h('td', {'data-label': t('gv.steps')}, h('div', {class: 'steps'},
        stepChip(s.assessment, t('gv.assessment'), 'assessment'), stepChip(s.plan, t('gv.plan'), 'plan'),
        stepChip(s.expert_review === 'approved', review, 'review'), stepChip(s.accepted, t('gv.accepted'), 'accepted'))),
      h('td', {'data-label': t('gv.stop')}, m.stop_flag === 'none' ? '—'
        : h('span', {class: 'stop-chip', 'data-stop': m.stop_flag}, label('stop', m.stop_flag) + ' · ' + (m.stop_reason || ''))),
      h('td', {'data-label': t('gv.actions')}, h('div', {class: 'gov-actions'}, ...govActions(m))));
  });
  $('gov-rows').replaceChildren(...rows);
  $('gov-empty').hidden = rows.length > 0;
  const d = o.principal_delegates.map(personName).join('、') || '—';
  $('gov-who').textContent = t('gv.who', {d});
}

async function loadGovernance() {
  try { gov.overview = await getJSON('/api/v1/governance'); } catch (e) { return; }
  renderGovernance();
}

function govField(key, control) { return h('label', null, h('span', null, t(key)), control); }

function govFields(action) {
  if (action === 'document') {
    return [govField('gv.stage', h('select', {name: 'stage'}, h('option', {value: 'assessment'}, t('gv.assessment')),
      h('option', {value: 'plan'}, t('gv.plan')))),
    govField('gv.file', h('input', {type: 'file', name: 'file', accept: DOC_TYPES.join(','), required: true}))];
  }
  if (action === 'review') {
    return [govField('gv.reviewers', h('input', {type: 'text', name: 'reviewers', required: true, maxlength: 1000})),
      govField('gv.conclusion', h('select', {name: 'conclusion'}, h('option', {value: 'approved'}, t('gv.approved')),
        h('option', {value: 'rejected'}, t('gv.rejected')))),
      govField('gv.opinion', h('textarea', {name: 'opinion', required: true, maxlength: 2000}))];
  }
  if (action === 'declare') {
    return [govField('cm.opType', h('select', {name: 'type'}, ...OP_TYPES.map((v, i) =>
      h('option', {value: v}, app.lang === 'zh' ? OP_TYPES_ZH[i] : label('optype', v))))),
    govField('cm.place', h('input', {type: 'text', name: 'place', required: true, maxlength: 200})),
    govField('cm.start', h('input', {type: 'datetime-local', name: 'start', required: true})),
    govField('cm.end', h('input', {type: 'datetime-local', name: 'end', required: true})),
    govField('cm.note', h('input', {type: 'text', name: 'note', maxlength: 500}))];
  }
  if (action === 'state') {
    return [govField('cm.state', h('select', {name: 'state'}, ...['running', 'shutdown', 'maintenance'].map((v) =>
      h('option', {value: v}, label('ostate', v))))),
    govField('gv.reason', h('input', {type: 'text', name: 'reason', required: true, maxlength: 2000}))];
  }
  const out = [];
  if (action === 'stop') {
    out.push(govField('gv.flag', h('select', {name: 'flag'}, h('option', {value: 'stop_production'}, t('stop.stop_production')),
      h('option', {value: 'evacuate'}, t('stop.evacuate')))));
  }
  out.push(govField('gv.reason', h('input', {type: 'text', name: 'reason', required: true, maxlength: 2000})));
  return out;
}

function openGov(action, m) {
  gov.action = action;
  gov.target = m;
  const titles = {document: 'gv.upload', review: 'gv.doReview', stop: 'gv.doStop', resume: 'gv.doResume',
    declare: 'cm.declare', state: 'cm.setState'};
  $('gov-title').textContent = t(titles[action]);
  $('gov-what').textContent = m ? `${m.code} · ${m.description || ''}` : '';
  $('gov-fields').replaceChildren(...govFields(action));
  $('gov-dialog').returnValue = '';
  $('gov-dialog').showModal();
}

async function uploadDocument(id, stage, file) {
  try {
    const r = await fetch(`/api/v1/hazards/${encodeURIComponent(id)}/documents?stage=${encodeURIComponent(stage)}`, {
      method: 'POST', body: file, headers: {'Content-Type': file.type || 'application/pdf', ...authHeaders()}});
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    return {status: r.status, body};
  } catch (e) { return {status: 0, body: null}; }
}

/* A special operation or a hazard source's state, from the commitment page. */
async function sendPlant(f) {
  let res;
  if (gov.action === 'declare') {
    const ms = (v) => new Date(v).getTime();
    const body = {type: f.type.value, place: f.place.value, start_ms: ms(f.start.value), end_ms: ms(f.end.value)};
    if (f.note.value) body.note = f.note.value;
    res = await postJSON('/api/v1/special-operations', body).catch(() => ({status: 0}));
  } else {
    res = await postJSON(`/api/v1/hazard-sources/${encodeURIComponent(gov.target.id)}/state`,
      {state: f.state.value, reason: f.reason.value}).catch(() => ({status: 0}));
  }
  if (res.status === 201) showMessage(t('gv.saved'), 'info');
  else showMessage(errorText(res), 'error');
  loadCommitment();
  loadToday();
}

async function sendGov() {
  const f = $('gov-form').elements, m = gov.target;
  if (gov.action === 'declare' || gov.action === 'state') return sendPlant(f);
  const base = `/api/v1/hazards/${encodeURIComponent(m.id)}/`;
  let res;
  if (gov.action === 'document') res = await uploadDocument(m.id, f.stage.value, f.file.files[0]);
  else if (gov.action === 'review') {
    const reviewers = f.reviewers.value.split(/[、,，;；]/).map((s) => s.trim()).filter(Boolean);
    res = await postJSON(base + 'expert-review', {reviewers, conclusion: f.conclusion.value, opinion: f.opinion.value})
      .catch(() => ({status: 0}));
  } else {
    const body = {reason: f.reason.value};
    if (gov.action === 'stop') body.flag = f.flag.value;
    res = await postJSON(base + gov.action, body).catch(() => ({status: 0}));
  }
  if (res.status === 200 || res.status === 201) showMessage(t('gv.saved'), 'info');
  else showMessage(errorText(res), 'error');
  loadGovernance();
}

/* ---- hooks ----------------------------------------------------------------------------------- */

function renderGovern() {
  renderStops();
  renderToday();
  if (app.view === 'commitment') renderCommitment();
  if (app.view === 'governance') renderGovernance();
}

function initGovern() {
  $('cm-date').addEventListener('change', () => loadCommitment($('cm-date').value || null));
  $('cm-confirm').addEventListener('click', confirmCommitment);
  $('cm-declare').addEventListener('click', () => openGov('declare', null));
  $('gov-dialog').addEventListener('close', () => { if ($('gov-dialog').returnValue === 'ok') sendGov(); });
  $('gov-form').addEventListener('submit', (ev) => {
    if (ev.submitter && ev.submitter.value === 'ok' && !$('gov-form').checkValidity()) ev.preventDefault();
  });
  window.addEventListener('hashchange', () => {
    if (app.view === 'commitment') loadCommitment();
    if (app.view === 'governance') loadGovernance();
  });
  loadGovernance();
  loadCommitment();
  loadToday();
  setInterval(() => {
    loadGovernance();
    loadToday();
    if (app.view === 'commitment') loadCommitment();
  }, GOV_EVERY_MS);
}
