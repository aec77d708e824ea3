/* dualguard: the four-colour spatial map (风险四色空间分布图) on the site plan.
 * GET /api/v1/site-plan gives the plan image's size and every risk unit with its polygon (image
 * pixels), assessed and current level and counts; the map draws each placed unit in its current
 * colour with the level as text. An engineer or admin uploads the plan and places units: click
 * to add a vertex, drag a vertex to move it, save (PUT /api/v1/site-plan/units/{id}).
 * The drawing part (PLAN_I18N, planSvg, planLegend) needs nothing else and also serves the
 * printable page (plan-print.html); the dashboard part uses app.js's helpers (t, h, $, app,
 * I18N, getJSON, authHeaders, showMessage, errorText, personName). Text only, never markup. */
'use strict';

const PLAN_LEVELS = ['red', 'orange', 'yellow', 'blue'];
const PLAN_SVG_NS = 'http://www.w3.org/2000/svg';
const PLAN_MAX_BYTES = 8 * 1024 * 1024;

const PLAN_I18N = {
  zh: {
    'plan.title': '风险四色空间分布图', 'plan.print': '打印（A3）', 'plan.edit': '编辑平面图', 'plan.done': '完成编辑',
    'plan.none': '尚未上传厂区平面图。', 'plan.noneEdit': '尚未上传厂区平面图：请在“编辑平面图”中上传 PNG 或 JPEG。',
    'plan.upload': '上传平面图（PNG/JPEG，≤ 8 MiB）', 'plan.unit': '风险单元', 'plan.save': '保存多边形',
    'plan.reset': '重画', 'plan.undo': '撤销顶点', 'plan.delete': '删除多边形',
    'plan.help': '选择风险单元，在平面图上依次点击添加顶点（至少 3 个），拖动顶点调整位置，然后保存。',
    'plan.saved': '风险单元 {u} 的多边形已保存', 'plan.deleted': '风险单元 {u} 的多边形已删除',
    'plan.uploaded': '平面图已上传（{w} × {h} 像素）', 'plan.dropped': '；{n} 个超出新图范围的多边形已删除',
    'plan.tooBig': '文件超过 8 MiB', 'plan.badType': '平面图须为 PNG 或 JPEG',
    'plan.placed': '已标注', 'plan.unplaced': '未标注', 'plan.needPoints': '至少需要 3 个顶点',
    'plan.assessed': '评估等级', 'plan.current': '当前等级', 'plan.alarms': '报警 {n}', 'plan.hazards': '隐患 {n}',
    'plan.cause': '升级原因', 'plan.legend': '图例', 'plan.unitsNotPlaced': '未在图上标注：{l}',
    'plan.printed': '打印时间：{t}', 'plan.site': '企业：{s}', 'plan.listTitle': '风险单元一览',
    'plan.col.unit': '风险单元', 'plan.col.current': '当前等级', 'plan.col.assessed': '评估等级',
    'plan.col.counts': '报警 / 隐患', 'plan.col.owner': '责任部门 / 责任人', 'plan.noAccess': '无法读取平面图：请先在仪表盘中登录（或设置令牌），再从“打印”按钮打开。',
    'level.red': '重大风险', 'level.orange': '较大风险', 'level.yellow': '一般风险', 'level.blue': '低风险',
    'cause.assessment': '评估', 'cause.alarm': '报警', 'cause.major_hazard': '重大隐患', 'plan.kv': '{k}：{v}',
  },
  en: {
    'plan.title': 'Four-colour risk map of the site', 'plan.print': 'Print (A3)', 'plan.edit': 'Edit site plan',
    'plan.done': 'Done', 'plan.none': 'No site plan uploaded yet.',
    'plan.noneEdit': 'No site plan yet: upload a PNG or JPEG under "Edit site plan".',
    'plan.upload': 'Upload the site plan (PNG/JPEG, ≤ 8 MiB)', 'plan.unit': 'Risk unit', 'plan.save': 'Save polygon',
    'plan.reset': 'Redraw', 'plan.undo': 'Undo vertex', 'plan.delete': 'Delete polygon',
    'plan.help': 'Pick a risk unit, click on the plan to add vertices (at least 3), drag a vertex to move it, then save.',
    'plan.saved': 'Polygon of risk unit {u} saved', 'plan.deleted': 'Polygon of risk unit {u} deleted',
    'plan.uploaded': 'Site plan uploaded ({w} × {h} px)', 'plan.dropped': '; {n} polygon(s) outside the new image removed',
    'plan.tooBig': 'The file is larger than 8 MiB', 'plan.badType': 'The site plan must be PNG or JPEG',
    'plan.placed': 'placed', 'plan.unplaced': 'not placed', 'plan.needPoints': 'A polygon needs at least 3 vertices',
    'plan.assessed': 'Assessed level', 'plan.current': 'Current level', 'plan.alarms': 'alarms {n}',
    'plan.hazards': 'open hazards {n}', 'plan.cause': 'raised by', 'plan.legend': 'Legend',
    'plan.unitsNotPlaced': 'Not placed on the plan: {l}', 'plan.printed': 'Printed {t}', 'plan.site': 'Enterprise: {s}',
    'plan.listTitle': 'Risk units', 'plan.col.unit': 'Risk unit', 'plan.col.current': 'Current level',
    'plan.col.assessed': 'Assessed level', 'plan.col.counts': 'Alarms / hazards', 'plan.col.owner': 'Department / person',
    'plan.noAccess': 'The site plan cannot be read: log in on the dashboard (or set a token) and open this page with its Print button.',
    'level.red': 'Major (red)', 'level.orange': 'Significant (orange)', 'level.yellow': 'General (yellow)',
    'level.blue': 'Low (blue)', 'cause.assessment': 'assessment', 'cause.alarm': 'alarm', 'cause.major_hazard': 'major hazard',
    'plan.kv': '{k}: {v}',
  },
};

function planTr(lang) {
  const table = PLAN_I18N[lang] || PLAN_I18N.zh;
  return (key, vars) => {
    let s = key in table ? table[key] : key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.replace('{' + k + '}', String(v));
    return s;
  };
}

function svgEl(tag, attrs, ...children) {
  const e = document.createElementNS(PLAN_SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

/* Where a unit's label goes: the centroid of its polygon (the vertices' mean when the area is tiny). */
function planCentroid(pts) {
  let a = 0, cx = 0, cy = 0;
  for (let i = 0; i < pts.length; i++) {
    const [x0, y0] = pts[i], [x1, y1] = pts[(i + 1) % pts.length], f = x0 * y1 - x1 * y0;
    a += f; cx += (x0 + x1) * f; cy += (y0 + y1) * f;
  }
  if (Math.abs(a) < 1e-6) return pts.reduce(([sx, sy], [x, y]) => [sx + x / pts.length, sy + y / pts.length], [0, 0]);
  return [cx / (3 * a), cy / (3 * a)];
}

function planKv(tr, key, value) { return tr('plan.kv', {k: tr(key), v: value}); }

function planUnitTitle(u, tr) {
  return [u.name || u.id, planKv(tr, 'plan.current', tr('level.' + u.current.level)),
    planKv(tr, 'plan.assessed', tr('level.' + u.assessed.level)),
    u.raised ? planKv(tr, 'plan.cause', tr('cause.' + u.cause)) : null,
    tr('plan.alarms', {n: u.alarms_active}) + ' · ' + tr('plan.hazards', {n: u.hazards_open})].filter(Boolean).join('\n');
}

/* One placed unit: its polygon in the current colour, and its name, level and counts as text. */
function planUnitGroup(u, size, fs, tr) {
  const cur = u.current.level, [cx, cy] = planCentroid(u.points);
  const lines = [u.name || u.id, tr('level.' + cur), tr('plan.alarms', {n: u.alarms_active}) + ' · ' +
    tr('plan.hazards', {n: u.hazards_open})];
  const label = svgEl('text', {class: 'plan-label', x: cx, y: cy - fs * 1.1, 'font-size': fs, 'text-anchor': 'middle'},
    ...lines.map((line, i) => svgEl('tspan', {x: cx, dy: i ? fs * 1.15 : 0, class: 'plan-line-' + i}, line)));
  return svgEl('g', {class: 'plan-unit lvl-' + cur + (u.raised ? ' raised' : ''), 'data-unit': u.id, 'data-level': cur,
    'data-assessed': u.assessed.level, tabindex: 0, role: 'img', 'aria-label': planUnitTitle(u, tr).replace(/\n/g, '; ')},
  svgEl('title', null, planUnitTitle(u, tr)),
  svgEl('polygon', {class: 'plan-poly', points: u.points.map((p) => p.join(',')).join(' '),
    'stroke-width': size / 400}),
  label);
}

/* The map: the plan image (imageUrl, may be null while loading) and the placed units on it.
 * Labels are a 55th of the plan's longer side, and no smaller than 11 CSS px when the map is
 * shown displayWidth px wide (a phone). */
function planSvg(plan, imageUrl, tr, displayWidth) {
  const {width, height} = plan.image, size = Math.max(width, height);
  const fs = Math.max(size / 55, displayWidth ? 11 * width / displayWidth : 0);
  const svg = svgEl('svg', {class: 'plan-svg', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'xMidYMid meet',
    role: 'group', 'aria-label': tr('plan.title')});
  svg.append(svgEl('rect', {class: 'plan-bg', x: 0, y: 0, width, height}));
  svg.append(svgEl('image', {class: 'plan-image', href: imageUrl || null, x: 0, y: 0, width, height}));
  const layer = svgEl('g', {class: 'plan-units'});
  for (const u of plan.units) if (u.points) layer.append(planUnitGroup(u, size, fs, tr));
  svg.append(layer);
  return svg;
}

/* Legend: each colour with its level in words and how many placed units are at it now. */
function planLegend(plan, tr) {
  const n = {red: 0, orange: 0, yellow: 0, blue: 0};
  for (const u of plan.units) if (u.points && u.current.level in n) n[u.current.level]++;
  const box = document.createElement('div');
  box.className = 'plan-legend';
  box.setAttribute('role', 'list');
  for (const l of PLAN_LEVELS) {
    const item = document.createElement('span');
    item.className = 'plan-key lvl-' + l;
    item.dataset.level = l;
    item.setAttribute('role', 'listitem');
    const sw = document.createElement('span');
    sw.className = 'plan-swatch';
    item.append(sw, tr('level.' + l) + ' ' + n[l]);
    box.append(item);
  }
  return box;
}

/* The image's bytes as an object URL (the API needs the token, an <image href> cannot send it). */
async function planImageUrl(headers) {
  const r = await fetch('/api/v1/site-plan/image', {headers, cache: 'no-store'});
  if (!r.ok) throw new Error('site plan image: HTTP ' + r.status);
  return URL.createObjectURL(await r.blob());
}

/* ---- the dashboard's map and editor (app.js helpers) ------------------------------------------ */

function planMayEdit() { return !!app.me && app.me.roles.some((r) => r === 'engineer' || r === 'admin'); }

async function planRefresh() {
  try { app.data.sitePlan = await getJSON('/api/v1/site-plan'); } catch (e) { /* the poll marks staleness */ }
  renderPlan();
}

async function planSend(method, path, body, ctype) {
  const headers = {'Content-Type': ctype || 'application/json', ...authHeaders()};
  const r = await fetch(path, {method, headers, body: ctype ? body : JSON.stringify(body)});
  let payload = null;
  try { payload = await r.json(); } catch (e) { payload = null; }
  return {status: r.status, body: payload};
}

/* Loads the image when the plan in force changed. */
function planLoadImage(image) {
  if (app.plan.imgKey === image.sha256) return;
  app.plan.imgKey = image.sha256;
  planImageUrl(authHeaders()).then((url) => {
    if (app.plan.imgUrl) URL.revokeObjectURL(app.plan.imgUrl);
    app.plan.imgUrl = url;
    renderPlan();
  }, () => { app.plan.imgKey = null; });
}

function planSvgPoint(svg, ev) {
  const p = svg.createSVGPoint();
  p.x = ev.clientX;
  p.y = ev.clientY;
  const q = p.matrixTransform(svg.getScreenCTM().inverse()), {width, height} = app.data.sitePlan.image;
  const clamp = (v, max) => Math.round(Math.min(Math.max(v, 0), max) * 10) / 10;
  return [clamp(q.x, width), clamp(q.y, height)];
}

/* The polygon being drawn: its outline and a handle per vertex. */
function planDraft(svg) {
  const old = svg.querySelector('.plan-edit');
  if (old) old.remove();
  if (!app.plan.editing || !app.plan.unit) return;
  const {width, height} = app.data.sitePlan.image, size = Math.max(width, height), pts = app.plan.points;
  const g = svgEl('g', {class: 'plan-edit', 'data-unit': app.plan.unit});
  g.append(svgEl(pts.length > 2 ? 'polygon' : 'polyline', {class: 'plan-draft', points: pts.map((p) => p.join(',')).join(' '),
    'stroke-width': size / 300}));
  pts.forEach(([x, y], i) => g.append(svgEl('circle', {class: 'plan-vertex', cx: x, cy: y, r: size / 120, 'data-i': i})));
  svg.append(g);
}

function planWireEditor(svg) {
  svg.addEventListener('pointerdown', (ev) => {
    if (!app.plan.editing || !app.plan.unit) return;
    const v = ev.target.closest && ev.target.closest('.plan-vertex');
    if (v) {
      app.plan.drag = Number(v.dataset.i);
      svg.setPointerCapture(ev.pointerId);
    } else {
      app.plan.points.push(planSvgPoint(svg, ev));
      planDraft(svg);
    }
    ev.preventDefault();
  });
  svg.addEventListener('pointermove', (ev) => {
    if (app.plan.drag < 0) return;
    app.plan.points[app.plan.drag] = planSvgPoint(svg, ev);
    planDraft(svg);
  });
  const end = () => { app.plan.drag = -1; };
  svg.addEventListener('pointerup', end);
  svg.addEventListener('pointercancel', end);
}

function planSelect(id) {
  app.plan.selected = id;
  renderPlanInfo();
}

function renderPlanInfo() {
  const box = $('plan-info'), plan = app.data.sitePlan;
  const u = plan && plan.units.find((x) => x.id === app.plan.selected);
  box.hidden = !u;
  if (!u) return;
  const tr = planTr(app.lang);
  box.replaceChildren(h('strong', null, u.name || u.id), ' ',
    h('span', {class: 'chip lvl-' + u.current.level}, planKv(tr, 'plan.current', tr('level.' + u.current.level))), ' ',
    h('span', {class: 'chip lvl-' + u.assessed.level}, planKv(tr, 'plan.assessed', tr('level.' + u.assessed.level))), ' ',
    u.raised ? planKv(tr, 'plan.cause', tr('cause.' + u.cause)) + ' · ' : '',
    tr('plan.alarms', {n: u.alarms_active}) + ' · ' + tr('plan.hazards', {n: u.hazards_open}));
}

function renderPlanEditor(plan) {
  const may = planMayEdit();
  $('plan-edit-toggle').hidden = !may;
  if (!may) app.plan.editing = false;
  $('plan-edit-toggle').textContent = t(app.plan.editing ? 'plan.done' : 'plan.edit');
  $('plan-editor').hidden = !app.plan.editing;
  if (!app.plan.editing) return;
  const sel = $('plan-unit');
  const opts = [h('option', {value: ''}, '—')].concat(plan.units.map((u) => h('option', {value: u.id},
    `${u.name || u.id} (${u.id}) · ${t(u.points ? 'plan.placed' : 'plan.unplaced')}`)));
  sel.replaceChildren(...opts);
  sel.value = app.plan.unit;
  for (const id of ['plan-save', 'plan-undo', 'plan-reset', 'plan-unit']) $(id).disabled = !plan.image;
  const stored = plan.units.find((u) => u.id === app.plan.unit);
  $('plan-delete').disabled = !(stored && stored.points);
}

function renderPlan() {
  const plan = app.data.sitePlan;
  if (!plan || app.plan.drag >= 0) return;
  const tr = planTr(app.lang);
  renderPlanEditor(plan);
  $('plan-none').hidden = !!plan.image;
  $('plan-none').textContent = t(planMayEdit() ? 'plan.noneEdit' : 'plan.none');
  $('plan-print').hidden = !plan.image;
  if (!plan.image) {
    $('plan-map').replaceChildren();
    $('plan-legend-box').replaceChildren();
    return;
  }
  planLoadImage(plan.image);
  const svg = planSvg(plan, app.plan.imgUrl, tr, $('plan-map').clientWidth || $('main').clientWidth);
  svg.classList.toggle('editing', app.plan.editing);
  for (const g of svg.querySelectorAll('.plan-unit')) {
    g.addEventListener('click', () => planSelect(g.dataset.unit));
    g.addEventListener('focus', () => planSelect(g.dataset.unit));
  }
  planWireEditor(svg);
  planDraft(svg);
  $('plan-map').replaceChildren(svg);
  const unplaced = plan.units.filter((u) => !u.points).map((u) => u.name || u.id);
  $('plan-legend-box').replaceChildren(planLegend(plan, tr),
    unplaced.length ? h('p', {class: 'sub'}, tr('plan.unitsNotPlaced', {l: unplaced.join('、')})) : '');
  renderPlanInfo();
}

function planPickUnit(id) {
  app.plan.unit = id;
  const u = (app.data.sitePlan.units || []).find((x) => x.id === id);
  app.plan.points = u && u.points ? u.points.map((p) => p.slice()) : [];
  renderPlan();
}

async function planSave() {
  const unit = app.plan.unit;
  if (app.plan.points.length < 3) { showMessage(t('plan.needPoints'), 'error'); return; }
  const res = await planSend('PUT', '/api/v1/site-plan/units/' + encodeURIComponent(unit), {points: app.plan.points});
  if (res.status !== 200) { showMessage(errorText(res), 'error'); return; }
  showMessage(t('plan.saved', {u: unit}));
  await planRefresh();
}

async function planDelete() {
  const unit = app.plan.unit;
  const res = await planSend('DELETE', '/api/v1/site-plan/units/' + encodeURIComponent(unit));
  if (res.status !== 200) { showMessage(errorText(res), 'error'); return; }
  app.plan.points = [];
  showMessage(t('plan.deleted', {u: unit}));
  await planRefresh();
}

async function planUpload(file) {
  if (!file) return;
  if (!['image/png', 'image/jpeg'].includes(file.type)) { showMessage(t('plan.badType'), 'error'); return; }
  if (file.size > PLAN_MAX_BYTES) { showMessage(t('plan.tooBig'), 'error'); return; }
  const res = await planSend('POST', '/api/v1/site-plan/image', file, file.type);
  if (res.status !== 201) { showMessage(errorText(res), 'error'); return; }
  const img = res.body.image;
  showMessage(t('plan.uploaded', {w: img.width, h: img.height}) + (res.body.dropped ? t('plan.dropped', {n: res.body.dropped}) : ''));
  await planRefresh();
}

function initPlan() {
  app.plan = {imgKey: null, imgUrl: null, editing: false, unit: '', points: [], drag: -1, selected: null};
  Object.assign(I18N.zh, PLAN_I18N.zh);
  Object.assign(I18N.en, PLAN_I18N.en);
  $('plan-edit-toggle').addEventListener('click', () => {
    app.plan.editing = !app.plan.editing;
    renderPlan();
  });
  $('plan-unit').addEventListener('change', (ev) => planPickUnit(ev.target.value));
  $('plan-save').addEventListener('click', planSave);
  $('plan-delete').addEventListener('click', planDelete);
  $('plan-undo').addEventListener('click', () => { app.plan.points.pop(); renderPlan(); });
  $('plan-reset').addEventListener('click', () => { app.plan.points = []; renderPlan(); });
  $('plan-file').addEventListener('change', (ev) => { planUpload(ev.target.files[0]); ev.target.value = ''; });
  window.addEventListener('resize', renderPlan); /* labels keep a legible size on the new width */
  $('plan-print').addEventListener('click', () => window.open('plan-print.html?lang=' + app.lang, '_blank'));
}
