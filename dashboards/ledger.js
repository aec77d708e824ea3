/* dualguard dashboard: the hazard ledger's closed loop and the inspection tasks, phone first.
 * Report a hazard (with a photo from the phone's camera), rectify (the five-in-place fields for a
 * major hazard), assign, submit, verify or reject, confirm or dismiss a report; complete an
 * inspection task with result, note and photo. Each action is offered only to a person whose
 * roles allow it (README "Roles and rights", mirrored from ledger/hazard_flow.c: the API still
 * decides, and its 403/409 are shown in the page's language). Who the token belongs to comes
 * from GET /api/v1/whoami. Loaded after app.js, whose helpers (t, h, $, label, app, I18N,
 * postJSON, getJSON, showMessage, personName, TOKEN_KEY) it uses. */
'use strict';

const PHOTO_MAX_BYTES = 8 * 1024 * 1024;
const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
const PHOTO_MAX_SIDE = 2560;   /* a photo re-encoded to fit the upload limit keeps this many pixels */
const DAY_MS = 86400000;

Object.assign(I18N.zh, {
  'action.assign': '指派', 'action.photo': '照片', 'action.confirm': '审核确认', 'action.dismiss': '撤销',
  'hz.noToken': '请先登录后再操作。', 'me.as': '当前用户：{n}', 'me.label': '当前用户：', 'me.none': '未登录：只能查看。请先登录后操作。',
  'hz.report': '上报隐患', 'hz.reportTitle': '上报隐患', 'hz.photo': '照片', 'hz.photoHelp': '可用手机直接拍照',
  'hz.unit': '风险单元', 'hz.src': '排查类型', 'hz.reason': '原因（选填）', 'hz.descReq': '隐患描述（必填）',
  'hz.rectifyTitle': '整改', 'hz.assignTitle': '指派整改人', 'hz.submitTitle': '提交验收',
  'hz.verifyTitle': '验收通过', 'hz.rejectTitle': '验收退回', 'hz.confirmTitle': '确认隐患', 'hz.dismissTitle': '撤销（不是隐患）',
  'hz.photoTitle': '添加照片',
  'hz.act.rectify': '整改', 'hz.act.assign': '指派', 'hz.act.submit': '提交验收', 'hz.act.verify': '验收通过',
  'hz.act.reject': '退回', 'hz.act.confirm': '确认', 'hz.act.dismiss': '撤销', 'hz.act.photo': '添加照片',
  'hz.f.measures': '整改措施', 'hz.f.cost': '资金（元）', 'hz.f.liable': '责任人', 'hz.f.deadline': '整改期限',
  'hz.f.plan': '应急预案', 'hz.f.assignee': '整改人', 'hz.f.comment': '意见', 'hz.f.commentReq': '意见（必填）',
  'hz.f.note': '说明', 'hz.five': '重大隐患须落实“五到位”：责任、措施、资金、时限、预案',
  'hz.ok': '提交', 'hz.done.report': '隐患 {c} 已上报', 'hz.done.rectify': '隐患 {c} 已记录整改',
  'hz.done.assign': '隐患 {c} 已指派给 {p}', 'hz.done.submit': '隐患 {c} 已提交验收', 'hz.done.verify': '隐患 {c} 已验收销号',
  'hz.done.reject': '隐患 {c} 已退回整改', 'hz.done.confirm': '隐患 {c} 已确认', 'hz.done.dismiss': '隐患 {c} 已撤销',
  'hz.done.photo': '照片已上传', 'hz.required': '请填写：{f}', 'hz.attachments': '照片', 'hz.assignee': '指派整改人',
  'hz.photoStage.discover': '发现', 'hz.photoStage.rectify': '整改', 'hz.photoStage.verify': '验收',
  'hz.err.403': '无权限：{p}不能执行“{a}”。', 'hz.err.403.verifyMajor': '重大隐患只能由安全总监、主要负责人或管理员验收。',
  'hz.err.five': '重大隐患尚未落实五到位，缺少：{f}', 'hz.err.norectify': '尚未记录整改（整改措施和整改人），不能提交。',
  'hz.err.verifier': '验收人不能是整改人（{p}）。', 'hz.err.reviewer': '审核人不能是上报人（{p}）。',
  'hz.err.state': '隐患状态已变化，不能执行“{a}”，页面已刷新。', 'hz.err.review': '隐患待审核确认，确认后才能整改。',
  'hz.err.closed': '隐患已关闭，不能再操作。', 'hz.err.field': '填写有误：{f}',
  'ph.err.413': '照片太大（上限 8 MiB）。', 'ph.err.415': '照片格式不支持（JPEG、PNG 或 WebP）。',
  'ph.err.400': '文件不是有效的图片。', 'ph.err.429': '今天的上传配额已用完。', 'ph.err.507': '附件存储已满，请联系管理员。',
  'ph.err.partial': '记录已保存，但照片未上传：{m}',
  'five.liable_person': '责任人', 'five.rectify_measures': '措施', 'five.cost': '资金', 'five.deadline_ms': '时限',
  'five.contingency_plan': '预案',
  'ip.annual': '全年排查计划', 'ip.special': '专项排查', 'ip.seasonal': '季节性排查', 'ip.holiday': '节假日排查',
  'insp.mine': '今日我的任务', 'insp.all': '全部任务', 'insp.complete': '完成排查', 'insp.completeTitle': '完成排查',
  'insp.result': '排查结果', 'insp.note': '说明', 'insp.what': '排查内容：{w}', 'insp.actions': '操作',
  'insp.done': '排查任务已完成：{m}', 'insp.noneMine': '今天没有分配给您的待排查任务',
  'insp.mineNeedsToken': '设置令牌后显示分配给您的任务', 'insp.err.409': '该任务已完成或尚未开始。',
  'insp.opensHazard': '选择“存在隐患”会登记一条隐患。', 'insp.responsible': '负责人：{p}',
});
Object.assign(I18N.en, {
  'action.assign': 'assigned', 'action.photo': 'photo', 'action.confirm': 'confirmed', 'action.dismiss': 'dismissed',
  'hz.noToken': 'Log in first.', 'me.as': 'Signed in as {n}', 'me.label': 'Signed in as ', 'me.none': 'Not logged in: read only. Log in to act.',
  'hz.report': 'Report a hazard', 'hz.reportTitle': 'Report a hazard', 'hz.photo': 'Photo', 'hz.photoHelp': 'a phone can take it directly',
  'hz.unit': 'Risk unit', 'hz.src': 'Found by', 'hz.reason': 'Cause (optional)', 'hz.descReq': 'Description (required)',
  'hz.rectifyTitle': 'Rectify', 'hz.assignTitle': 'Assign the rectification', 'hz.submitTitle': 'Submit for acceptance',
  'hz.verifyTitle': 'Accept', 'hz.rejectTitle': 'Reject', 'hz.confirmTitle': 'Confirm the report',
  'hz.dismissTitle': 'Dismiss (not a hazard)', 'hz.photoTitle': 'Add a photo',
  'hz.act.rectify': 'Rectify', 'hz.act.assign': 'Assign', 'hz.act.submit': 'Submit', 'hz.act.verify': 'Accept',
  'hz.act.reject': 'Reject', 'hz.act.confirm': 'Confirm', 'hz.act.dismiss': 'Dismiss', 'hz.act.photo': 'Add photo',
  'hz.f.measures': 'Rectification measures', 'hz.f.cost': 'Cost (CNY)', 'hz.f.liable': 'Liable person',
  'hz.f.deadline': 'Deadline', 'hz.f.plan': 'Contingency plan', 'hz.f.assignee': 'Rectified by',
  'hz.f.comment': 'Comment', 'hz.f.commentReq': 'Comment (required)', 'hz.f.note': 'Note',
  'hz.five': 'A major hazard needs all five in place: person, measures, cost, deadline, contingency plan',
  'hz.ok': 'Submit', 'hz.done.report': 'Hazard {c} reported', 'hz.done.rectify': 'Rectification of {c} recorded',
  'hz.done.assign': 'Hazard {c} assigned to {p}', 'hz.done.submit': 'Hazard {c} submitted for acceptance',
  'hz.done.verify': 'Hazard {c} accepted and closed', 'hz.done.reject': 'Hazard {c} sent back for rectification',
  'hz.done.confirm': 'Hazard {c} confirmed', 'hz.done.dismiss': 'Report {c} dismissed', 'hz.done.photo': 'Photo uploaded',
  'hz.required': 'Please fill in: {f}', 'hz.attachments': 'Photos', 'hz.assignee': 'Assigned to',
  'hz.photoStage.discover': 'found', 'hz.photoStage.rectify': 'rectified', 'hz.photoStage.verify': 'accepted',
  'hz.err.403': 'Not allowed: {p} may not {a}.', 'hz.err.403.verifyMajor': 'A major hazard is accepted only by the safety director, the principal or an admin.',
  'hz.err.five': 'Major hazard: the five-in-place are incomplete, missing: {f}',
  'hz.err.norectify': 'No rectification recorded yet (measures and rectifier): cannot submit.',
  'hz.err.verifier': 'The person accepting must differ from the rectifier ({p}).',
  'hz.err.reviewer': 'The reviewer must differ from the reporter ({p}).',
  'hz.err.state': 'The hazard has changed: "{a}" no longer applies; the page is refreshed.',
  'hz.err.review': 'The report awaits confirmation before it can be rectified.',
  'hz.err.closed': 'The hazard is closed.', 'hz.err.field': 'Invalid input: {f}',
  'ph.err.413': 'Photo too large (8 MiB at most).', 'ph.err.415': 'Unsupported photo type (JPEG, PNG or WebP).',
  'ph.err.400': 'The file is not a valid image.', 'ph.err.429': 'Your upload quota for today is used up.',
  'ph.err.507': 'Photo storage is full: tell an administrator.', 'ph.err.partial': 'Saved, but the photo was not uploaded: {m}',
  'five.liable_person': 'person', 'five.rectify_measures': 'measures', 'five.cost': 'cost', 'five.deadline_ms': 'deadline',
  'five.contingency_plan': 'contingency plan',
  'ip.annual': 'Annual plan', 'ip.special': 'Special inspection', 'ip.seasonal': 'Seasonal inspection',
  'ip.holiday': 'Holiday inspection',
  'insp.mine': 'My tasks today', 'insp.all': 'All tasks', 'insp.complete': 'Complete', 'insp.completeTitle': 'Complete the inspection',
  'insp.result': 'Result', 'insp.note': 'Note', 'insp.what': 'What to check: {w}', 'insp.actions': 'Actions',
  'insp.done': 'Inspection completed: {m}', 'insp.noneMine': 'No open tasks assigned to you today',
  'insp.mineNeedsToken': 'Enter a token to see the tasks assigned to you', 'insp.err.409': 'The task is already completed or not yet open.',
  'insp.opensHazard': '"Hazard found" registers a hazard.', 'insp.responsible': 'Responsible: {p}',
});

/* ---- who am I, and what may I do ------------------------------------------------------------- */

const RIGHTS = {
  report: ['operator', 'workshop_director', 'engineer', 'safety_director', 'principal', 'admin'],
  manage: ['workshop_director', 'engineer', 'safety_director', 'principal', 'admin'],
  review: ['engineer', 'safety_director', 'principal', 'admin'],
  verifyMajor: ['safety_director', 'principal', 'admin'],
};

function may(right) {
  return !!app.me && app.me.roles.some((r) => RIGHTS[right].includes(r));
}

async function loadMe() {
  const me = await whoami(); /* a token, or the session cookie */
  app.data.mineIds = me ? await loadMine() : null;
  app.me = me;
  renderMe();
  if (app.me) $('settings').hidden = true;
  render();
  renderDetail();
}

/* The signed-in person's tasks today (GET /api/v1/inspections?mine=1) as a set of task ids, at
 * once on signing in; the ledger poll keeps them fresh. */
async function loadMine() {
  try {
    const mine = await getJSON('/api/v1/inspections?mine=1');
    return new Set(mine.inspections.map((task) => task.id));
  } catch (e) { return null; }
}

function renderMe() {
  const el = $('me');
  el.replaceChildren(...(app.me ? [h('span', {class: 'me-label'}, t('me.label')), app.me.name || app.me.id] : []));
  el.hidden = !app.me;
  renderLogin();
  $('hazard-report').hidden = app.me ? !may('report') : false;
  $('token-status').textContent = app.me ? t('me.as', {n: app.me.name || app.me.id})
    : sessionStorage.getItem(TOKEN_KEY) ? t('settings.set') : t('settings.unset');
}

/* The actions the signed-in person may take on a hazard in its present state. */
function hazardActions(hz) {
  if (!app.me || hz.dismissed || hz.danger_state === 9) return [];
  const me = app.me.id, manage = may('manage');
  const assigned = hz.assignee === me, liable = hz.liable_person === me;
  const acts = [];
  if (hz.danger_state === -1) {
    if (may('review') && hz.reporter !== me) acts.push('confirm', 'dismiss');
  } else if (hz.danger_state === 0) {
    if (manage || assigned || liable) acts.push('rectify');
    if (manage || liable) acts.push('assign');
    if (manage || assigned || liable || hz.rectifier === me) acts.push('submit');
  } else if (hz.danger_state === 1) {
    if ((hz.danger_level === 1 ? isPrincipal() : may('manage')) && hz.rectifier !== me) acts.push('verify', 'reject');
  }
  if (may('report')) acts.push('photo');
  return acts;
}

/* ---- errors in the page's language ----------------------------------------------------------- */

function hazardError(res, action) {
  const m = (res.body && res.body.error) || '';
  let x;
  if (res.status === 0) return t('err.network');
  if (res.status === 401) return t('err.401');
  if (res.status === 403) {
    if (/major hazard/.test(m)) return t('hz.err.403.verifyMajor');
    return t('hz.err.403', {p: app.me ? app.me.name || app.me.id : '—', a: t('hz.act.' + action)});
  }
  if (res.status === 409) {
    if ((x = /five-in-place fields missing: (.*)$/.exec(m))) {
      return t('hz.err.five', {f: x[1].split(/,\s*/).map((f) => label('five', f)).join(app.lang === 'zh' ? '、' : ', ')});
    }
    if (/no rectification recorded/.test(m)) return t('hz.err.norectify');
    if ((x = /verifier must differ from the rectifier \((.*)\)/.exec(m))) return t('hz.err.verifier', {p: personName(x[1])});
    if ((x = /reviewer must differ from the reporter \((.*)\)/.exec(m))) return t('hz.err.reviewer', {p: personName(x[1])});
    if (/awaiting confirmation/.test(m)) return t('hz.err.review');
    if (/dismissed|closed/.test(m)) return t('hz.err.closed');
    return t('hz.err.state', {a: t('hz.act.' + action)});
  }
  if (res.status === 400 && (x = /^([a-z_]+):/.exec(m))) return t('hz.err.field', {f: fieldName(x[1])});
  if ([413, 415, 429, 507].includes(res.status) || (res.status === 400 && action === 'photo')) {
    return t('ph.err.' + res.status);
  }
  return errorText(res);
}

function fieldName(key) {
  const names = {rectify_measures: 'hz.f.measures', cost: 'hz.f.cost', liable_person: 'hz.f.liable',
    deadline_ms: 'hz.f.deadline', contingency_plan: 'hz.f.plan', assignee: 'hz.f.assignee', comment: 'hz.f.comment',
    description: 'hazards.desc', danger_src: 'hz.src', unit: 'hz.unit', note: 'hz.f.note'};
  return names[key] ? t(names[key]) : key;
}

/* ---- photos ---------------------------------------------------------------------------------- */

/* A camera photo as the API takes it: JPEG, PNG or WebP up to 8 MiB. Anything else (a huge or
 * HEIC picture) is re-encoded to JPEG through a canvas, at most PHOTO_MAX_SIDE pixels a side. */
async function photoBlob(file) {
  if (PHOTO_TYPES.includes(file.type) && file.size <= PHOTO_MAX_BYTES) return file;
  const bmp = await createImageBitmap(file);
  const k = Math.min(1, PHOTO_MAX_SIDE / Math.max(bmp.width, bmp.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bmp.width * k);
  canvas.height = Math.round(bmp.height * k);
  canvas.getContext('2d').drawImage(bmp, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
}

async function uploadPhoto(kind, id, file, query) {
  try {
    const blob = await photoBlob(file);
    const qs = new URLSearchParams(query || {}).toString();
    const r = await fetch(`/api/v1/${kind}/${encodeURIComponent(id)}/photos${qs ? '?' + qs : ''}`, {
      method: 'POST', body: blob, headers: {'Content-Type': blob.type || 'image/jpeg', ...authHeaders()},
    });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    return {status: r.status, body};
  } catch (e) {
    return {status: 415, body: null};
  }
}

/* ---- one dialog for every ledger action ------------------------------------------------------ */

/* A labelled form control; `name` is the key the action's body takes. */
function formField(labelText, control, extra) {
  return h('label', {class: 'ff'}, h('span', null, labelText), control, extra);
}

function personSelect(name, value, withRole) {
  const persons = (app.persons || []).filter((p) => !withRole || p.roles.some((r) => RIGHTS.report.includes(r)));
  return h('select', {name}, h('option', {value: ''}, '—'),
    ...persons.map((p) => h('option', {value: p.id, selected: p.id === value}, p.name || p.id)));
}

function photoInput() {
  return formField(t('hz.photo'), h('input', {type: 'file', name: 'photo', accept: 'image/*', capture: 'environment'}),
    h('span', {class: 'sub'}, t('hz.photoHelp')));
}

function dateValue(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/* The fields of each action's form. */
function actionFields(action, hz) {
  const major = hz && hz.danger_level === 1;
  const req = (on) => (on ? {required: true} : {});
  switch (action) {
  case 'report':
    return [
      formField(t('hz.descReq'), h('textarea', {name: 'description', rows: 3, maxlength: 2000, required: true})),
      formField(t('hz.unit'), h('select', {name: 'unit'}, h('option', {value: ''}, '—'),
        ...Object.entries(app.names.units).map(([id, name]) => h('option', {value: id}, name)))),
      formField(t('hazards.level'), h('select', {name: 'danger_level'},
        h('option', {value: '0'}, label('hlevel', 0)), h('option', {value: '1'}, label('hlevel', 1)))),
      formField(t('hz.src'), h('select', {name: 'danger_src'},
        ...[1, 2, 3, 4, 5, 6, 7, 8, 10].map((c) => h('option', {value: String(c)}, label('dsrc', c))))),
      formField(t('hz.reason'), h('input', {type: 'text', name: 'reason', maxlength: 500})),
      photoInput()];
  case 'rectify':
    return [
      major && h('p', {class: 'five'}, t('hz.five')),
      formField(t('hz.f.measures'), h('textarea', Object.assign({name: 'rectify_measures', rows: 3, maxlength: 2000},
        req(true)), hz.rectify_measures || '')),
      formField(t('hz.f.liable'), Object.assign(personSelect('liable_person', hz.liable_person, true), req(major))),
      formField(t('hz.f.cost'), h('input', Object.assign({type: 'number', name: 'cost', min: 0, step: 'any',
        inputmode: 'decimal', value: hz.cost === null || hz.cost === undefined ? '' : hz.cost}, req(major)))),
      formField(t('hz.f.deadline'), h('input', Object.assign({type: 'date', name: 'deadline_ms',
        value: dateValue(hz.deadline_ms)}, req(major)))),
      formField(t('hz.f.plan'), h('textarea', Object.assign({name: 'contingency_plan', rows: 2, maxlength: 2000},
        req(major)), hz.contingency_plan || '')),
      photoInput()];
  case 'assign':
    return [formField(t('hz.f.assignee'), Object.assign(personSelect('assignee', hz.assignee, true), {required: true}))];
  case 'reject':
  case 'dismiss':
    return [formField(t('hz.f.commentReq'), h('textarea', {name: 'comment', rows: 2, maxlength: 500, required: true}))];
  case 'verify':
    return [formField(t('hz.f.comment'), h('textarea', {name: 'comment', rows: 2, maxlength: 500})), photoInput()];
  case 'confirm':
    return [formField(t('hz.f.comment'), h('textarea', {name: 'comment', rows: 2, maxlength: 500}))];
  case 'photo':
    return [photoInput(), formField(t('hz.f.note'), h('input', {type: 'text', name: 'note', maxlength: 200}))];
  case 'complete':
    if (hz.plan) return planFields(hz.plan);
    return [
      h('p', {class: 'what-check'}, measureText(hz.measure)),
      h('fieldset', {class: 'results'}, h('legend', null, t('insp.result')),
        ...[0, 1, 3].map((c) => h('label', {class: 'radio'},
          h('input', {type: 'radio', name: 'check_status', value: String(c), required: true, checked: c === 0}),
          ' ', label('cs', c)))),
      h('p', {class: 'sub'}, t('insp.opensHazard')),
      formField(t('insp.note'), h('textarea', {name: 'note', rows: 2, maxlength: 500})),
      photoInput()];
  default:
    return [];
  }
}

/* The JSON body of an action from its form; numbers and dates as the API takes them. */
function actionBody(action, form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.type === 'file' || (el.type === 'radio' && !el.checked)) continue;
    const v = el.value.trim();
    if (!v) continue;
    if (['danger_level', 'danger_src', 'check_status'].includes(el.name)) body[el.name] = Number(v);
    else if (el.name === 'cost') body.cost = Number(v);
    else if (el.name === 'deadline_ms') body.deadline_ms = new Date(v + 'T23:59:59').getTime();
    else body[el.name] = v;
  }
  return body;
}

const ledgerUi = {target: null, action: null};

function openAction(action, target) {
  if (needToken('hz.noToken')) return;
  ledgerUi.target = target;
  ledgerUi.action = action;
  const titleKey = action === 'complete' ? 'insp.completeTitle' : 'hz.' + action + 'Title';
  $('hz-title').textContent = t(titleKey);
  $('hz-what').textContent = action === 'report' ? '' : action === 'complete'
    ? `${app.names.units[target.unit] || target.unit || ''} · ${t('insp.period')} ${fmtDate(target.start_ms)} – ${fmtDate(target.due_ms)}`
    : `${target.code} · ${target.description || ''}`;
  $('hz-fields').replaceChildren(...actionFields(action, target).filter(Boolean));
  $('hz-form').dataset.action = action;
  $('hz-dialog').returnValue = '';
  $('hz-dialog').showModal();
}

async function sendAction() {
  const action = ledgerUi.action, target = ledgerUi.target, form = $('hz-form');
  const body = action === 'complete' && target.plan ? planBody(target.plan, form) : actionBody(action, form);
  const file = form.elements.photo && form.elements.photo.files[0];
  let res;
  if (action === 'complete') {
    res = file ? await uploadPhoto('inspections', target.id, file, body.note ? {note: body.note} : null) : null;
    if (res && res.status !== 201) return showMessage(hazardError(res, 'photo'), 'error');
    res = await postJSON(`/api/v1/inspections/${encodeURIComponent(target.id)}/complete`, body).catch(() => ({status: 0}));
    if (res.status === 409) showMessage(t('insp.err.409'), 'error');
    else if (res.status !== 200 && res.status !== 201) showMessage(hazardError(res, 'complete'), 'error');
    else showMessage(t('insp.done', {m: taskTitle(target)}), 'info');
    return refreshLedger();
  }
  if (action === 'photo') {
    res = file ? await uploadPhoto('hazards', target.id, file, body.note ? {note: body.note} : null) : {status: 400};
    showMessage(res.status === 201 ? t('hz.done.photo') : hazardError(res, 'photo'), res.status === 201 ? 'info' : 'error');
    return refreshLedger();
  }
  const path = action === 'report' ? '/api/v1/hazards' : `/api/v1/hazards/${encodeURIComponent(target.id)}/${action}`;
  res = await postJSON(path, body).catch(() => ({status: 0}));
  if (res.status !== 200 && res.status !== 201) {
    showMessage(hazardError(res, action), 'error');
    return refreshLedger();
  }
  const hz = res.body || target;
  let msg = t('hz.done.' + action, {c: hz.code || (target && target.code) || '', p: personName(body.assignee)});
  if (file) {
    const stage = {report: 'discover', rectify: 'rectify', verify: 'verify'}[action];
    const up = await uploadPhoto('hazards', hz.id, file, {stage});
    if (up.status !== 201) return showMessage(msg + ' — ' + t('ph.err.partial', {m: hazardError(up, 'photo')}), 'error');
  }
  showMessage(msg, 'info');
  if (action === 'report') location.hash = 'hazards/' + hz.id;
  return refreshLedger();
}

/* The hazards, the tasks and the open hazard's detail, at once after an action. */
async function refreshLedger() {
  try {
    const [hazards, tasks] = await Promise.all([getJSON('/api/v1/hazards?state=all&limit=200'),
      getJSON('/api/v1/inspections?status=all')]);
    app.data.hazards = hazards.hazards;
    app.data.inspections = tasks.inspections;
    const id = app.detail && app.detail.id;
    if (id) {
      const body = await getJSON(`/api/v1/hazards/${encodeURIComponent(id)}`);
      if (app.detail && app.detail.id === id) app.detail.body = body;
    }
  } catch (e) { /* the next poll will tell */ }
  render();
  renderDetail();
}

/* The buttons under a hazard's detail, only those the person may use. */
function hazardActionBar(hz) {
  if (!app.me) return h('p', {class: 'muted me-none'}, t('me.none'));
  const acts = hazardActions(hz);
  if (!acts.length) return null;
  return h('div', {class: 'hz-actions'}, ...acts.map((a) =>
    h('button', {type: 'button', class: 'hz-act' + (a === 'verify' || a === 'submit' ? ' primary' : ''),
      'data-hz-action': a, onclick: () => openAction(a, hz)}, t('hz.act.' + a))));
}

function attachmentList(list) {
  if (!list || !list.length) return null;
  return h('div', {class: 'photos'}, ...list.map((a) =>
    h('a', {href: `/api/v1/attachments/${a.id}`, target: '_blank', rel: 'noopener', class: 'photo', 'data-attachment': a.id},
      h('img', {src: `/api/v1/attachments/${a.id}`, alt: label('hz.photoStage', a.stage), loading: 'lazy'}),
      h('span', {class: 'sub'}, [label('hz.photoStage', a.stage), personName(a.uploader)].filter(Boolean).join(' · ')))));
}

/* ---- inspections: my tasks today, complete --------------------------------------------------- */

function measureText(id) { return app.names.measures[id] || id || '—'; }

/* What a task checks: its measure, or its plan (专项/季节性/节假日排查, 全年计划) by kind and name. */
function taskTitle(task) {
  if (!task.plan) return measureText(task.measure);
  return `${label('ip', task.plan.kind)} · ${task.plan.name || task.plan.id}`;
}

/* A plan task's checklist: a result (正常 / 存在隐患 / 其他) and a note per item. */
function planFields(plan) {
  return [h('p', {class: 'what-check'}, `${label('ip', plan.kind)} · ${plan.name || plan.id}`),
    ...(plan.checklist || []).map((item, i) => h('fieldset', {class: 'results'}, h('legend', null, `${i + 1}. ${item}`),
      ...[0, 1, 3].map((c) => h('label', {class: 'radio'},
        h('input', {type: 'radio', name: 'item-' + i, value: String(c), required: true, checked: c === 0}),
        ' ', label('cs', c))),
      h('input', {type: 'text', name: 'itemnote-' + i, maxlength: 200, placeholder: t('insp.note'),
        'aria-label': t('insp.note')}))),
    h('p', {class: 'sub'}, t('insp.opensHazard')),
    formField(t('insp.note'), h('textarea', {name: 'note', rows: 2, maxlength: 500})),
    photoInput()];
}

/* The per-item results of a plan task's form, as POST .../complete takes them. */
function planBody(plan, form) {
  const items = (plan.checklist || []).map((_, i) => {
    const r = [...form.elements['item-' + i]].find((e) => e.checked);
    const note = form.elements['itemnote-' + i].value.trim();
    return note ? {result: Number(r ? r.value : 0), note} : {result: Number(r ? r.value : 0)};
  });
  const note = form.elements.note.value.trim();
  return note ? {items, note} : {items};
}

/* Who the task is assigned to (the API's answer), else its measure's responsible person. */
function taskOwner(task) {
  const m = app.names.measureInfo[task.measure];
  return (task.assigned && task.assigned.person) || (m && m.person) || null;
}

/* The signed-in person's tasks today, as the API assigns them (GET /api/v1/inspections?mine=1:
 * by post and control level, the measure's responsible person, deputies). */
function isMineToday(task) {
  return !!app.me && !!app.data.mineIds && app.data.mineIds.has(task.id);
}

/* Signed in, "my tasks today" unless the person chose otherwise; without a token, every task. */
function inspectionView() { return app.inspView || (app.me ? 'mine' : 'all'); }

function inspectionFilter(list) {
  if (inspectionView() !== 'mine') return list;
  return list.filter(isMineToday);
}

function inspectionAction(task) {
  const pending = task.check_status === null || task.check_status === undefined;
  if (!pending || !may('report') || task.start_ms > Date.now()) return null;
  return h('button', {type: 'button', class: 'complete primary', 'data-complete': task.id,
    onclick: () => openAction('complete', task)}, t('insp.complete'));
}

function renderInspectionTools() {
  for (const b of document.querySelectorAll('#insp-views [data-insp-view]')) {
    b.setAttribute('aria-pressed', b.dataset.inspView === inspectionView() ? 'true' : 'false');
  }
}

function initLedger() {
  app.inspView = localStorage.getItem('dg.inspView'); /* null: by whether a token is set */
  $('hazard-report').addEventListener('click', () => openAction('report', null));
  $('hz-dialog').addEventListener('close', () => {
    if ($('hz-dialog').returnValue === 'ok') sendAction();
  });
  for (const b of document.querySelectorAll('#insp-views [data-insp-view]')) {
    b.addEventListener('click', () => {
      app.inspView = b.dataset.inspView;
      localStorage.setItem('dg.inspView', app.inspView);
      renderInspections();
    });
  }
  loadMe();
}
