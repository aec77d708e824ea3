/* 绩效考核 performance assessment: the monthly ranking per person, post or department from
 * GET /api/v1/assessment, and its CSV export. Figures come from the journals, never typed in. */
'use strict';

Object.assign(I18N.zh, {
  'tab.assess': '绩效考核',
  'as.title': '考核排名',
  'as.month': '月份',
  'as.by': '统计维度',
  'as.by.person': '人员',
  'as.by.post': '岗位',
  'as.by.department': '部门',
  'as.export': '导出 CSV',
  'as.exportXlsx': '导出 XLSX',
  'as.rank': '排名',
  'as.name': '名称',
  'as.due': '应排查',
  'as.onTime': '按时完成',
  'as.late': '逾期完成',
  'as.missed': '未排查',
  'as.rate': '按时率',
  'as.reported': '上报隐患',
  'as.rectOnTime': '按期整改',
  'as.rectOverdue': '逾期整改',
  'as.overdueOpen': '逾期未改',
  'as.acks': '确认报警',
  'as.ackMean': '平均确认时间',
  'as.participation': '参与率',
  'as.none': '本月无考核数据',
  'as.note': '数据取自排查、隐患和报警记录，按按时率、未排查数、上报隐患数排名。',
  'as.loading': '加载中…',
});

Object.assign(I18N.en, {
  'tab.assess': 'Assessment',
  'as.title': 'Performance ranking',
  'as.month': 'Month',
  'as.by': 'By',
  'as.by.person': 'Person',
  'as.by.post': 'Post',
  'as.by.department': 'Department',
  'as.export': 'Export CSV',
  'as.exportXlsx': 'Export XLSX',
  'as.rank': 'Rank',
  'as.name': 'Name',
  'as.due': 'Due',
  'as.onTime': 'On time',
  'as.late': 'Late',
  'as.missed': 'Missed',
  'as.rate': 'On-time rate',
  'as.reported': 'Hazards reported',
  'as.rectOnTime': 'Rectified on time',
  'as.rectOverdue': 'Rectified overdue',
  'as.overdueOpen': 'Overdue open',
  'as.acks': 'Alarms acknowledged',
  'as.ackMean': 'Mean time to acknowledge',
  'as.participation': 'Participation',
  'as.none': 'No figures for this month',
  'as.note': 'Taken from the inspection, hazard and alarm records; ranked by on-time rate, then fewest missed, then most hazards reported.',
  'as.loading': 'Loading…',
});

const assess = {month: null, by: 'person', body: null, busy: false, seq: 0};

function assessMonthNow() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}

function assessQuery(format) {
  return `/api/v1/assessment?month=${encodeURIComponent(assess.month)}&by=${assess.by}` + (format ? `&format=${format}` : '');
}

/* Only the answer to the latest request is shown (a slower earlier one must not overwrite it). */
async function loadAssessment() {
  if (!assess.month) assess.month = assessMonthNow();
  const seq = ++assess.seq;
  assess.busy = true;
  renderAssessment();
  let body = null;
  try {
    body = await getJSON(assessQuery());
  } catch (e) {
    if (seq === assess.seq && !/HTTP 401$/.test(String(e.message))) showMessage(String(e.message || e), 'error');
  }
  if (seq !== assess.seq) return;
  assess.body = body;
  assess.busy = false;
  renderAssessment();
}

function pct(v) { return v === null || v === undefined ? '—' : `${Math.round(v * 1000) / 10}%`; }

function secs(v) {
  if (v === null || v === undefined) return '—';
  return v < 120 ? `${fmtNum(Math.round(v * 10) / 10)} s` : `${fmtNum(Math.round(v / 6) / 10)} min`;
}

function assessCells(r) {
  const name = r.name || (assess.by === 'person' ? personName(r.id) : r.id);
  return [
    ['as.rank', r.rank, 'num rank'], ['as.name', name, 'name'], ['as.due', r.inspections_due, 'num'],
    ['as.onTime', r.inspections_on_time, 'num'], ['as.late', r.inspections_late, 'num'],
    ['as.missed', r.inspections_missed, 'num'], ['as.rate', pct(r.on_time_rate), 'num'],
    ['as.reported', r.hazards_reported, 'num'], ['as.rectOnTime', r.rectified_on_time, 'num'],
    ['as.rectOverdue', r.rectified_overdue, 'num'], ['as.overdueOpen', r.overdue_open, 'num'],
    ['as.acks', r.alarms_acknowledged, 'num'], ['as.ackMean', secs(r.ack_mean_s), 'num'],
    ['as.participation', `${pct(r.participation_rate)} (${r.participants}/${r.members})`, 'num'],
  ];
}

function renderAssessment() {
  const head = $('assess-head');
  if (!head) return;
  head.replaceChildren(...assessCells({}).map(([k, , cls]) => h('th', {class: cls}, t(k))));
  for (const o of $('assess-by').options) o.textContent = t('as.by.' + o.value);
  const rows = (assess.body ? assess.body.rows : []).map((r) => h('tr', {class: 'assess-row', 'data-id': r.id},
    ...assessCells(r).map(([k, v, cls]) => h('td', {class: cls, 'data-label': t(k)}, v))));
  $('assess-rows').replaceChildren(...rows);
  const empty = $('assess-empty');
  empty.hidden = rows.length > 0;
  empty.textContent = assess.busy ? t('as.loading') : t('as.none');
}

async function exportAssessment(format) {
  const r = await fetch(assessQuery(format), {headers: authHeaders(), cache: 'no-store'});
  if (!r.ok) {
    showMessage(errorText({status: r.status, body: null}), 'error');
    return;
  }
  const url = URL.createObjectURL(await r.blob());
  const a = h('a', {href: url, download: `assessment-${assess.month}-${assess.by}.${format}`});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function initAssess() {
  assess.month = assessMonthNow();
  $('assess-month').value = assess.month;
  $('assess-month').addEventListener('change', (ev) => {
    if (/^\d{4}-\d{2}$/.test(ev.target.value)) { assess.month = ev.target.value; loadAssessment(); }
  });
  $('assess-by').addEventListener('change', (ev) => { assess.by = ev.target.value; loadAssessment(); });
  $('assess-export').addEventListener('click', () => exportAssessment('csv'));
  $('assess-export-xlsx').addEventListener('click', () => exportAssessment('xlsx'));
}
