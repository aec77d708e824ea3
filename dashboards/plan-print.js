/* The printable four-colour map (plan-print.html): the same drawing as the dashboard (siteplan.js)
 * on white paper, with title, enterprise, date, legend and the list of units, for A3 landscape.
 * Reads with the login session's cookie, or the dashboard tab's token (sessionStorage, copied to a
 * window it opens). */
'use strict';

function ppText(id, s) { document.getElementById(id).textContent = s; }

function ppCell(text, level) {
  const td = document.createElement('td');
  if (level) {
    const chip = document.createElement('span');
    chip.className = 'chip lvl-' + level;
    chip.textContent = text;
    td.append(chip);
  } else {
    td.textContent = text;
  }
  return td;
}

async function ppLoad() {
  const q = new URLSearchParams(location.search).get('lang');
  const lang = q === 'en' || q === 'zh' ? q : (localStorage.getItem('dg.lang') === 'en' ? 'en' : 'zh');
  const tr = planTr(lang), token = sessionStorage.getItem('dg.token');
  const headers = token ? {Authorization: 'Bearer ' + token} : {};
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  ppText('pp-title', tr('plan.title'));
  document.title = tr('plan.title');
  for (const [id, key] of [['pp-legend-title', 'plan.legend'], ['pp-list-title', 'plan.listTitle'],
    ['pp-col-unit', 'plan.col.unit'], ['pp-col-current', 'plan.col.current'], ['pp-col-assessed', 'plan.col.assessed'],
    ['pp-col-counts', 'plan.col.counts'], ['pp-col-owner', 'plan.col.owner']]) ppText(id, tr(key));
  const now = new Date().toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', {hour12: false});
  ppText('pp-date', tr('plan.printed', {t: now}));
  const r = await fetch('/api/v1/site-plan', {headers, cache: 'no-store'});
  if (!r.ok) throw new Error(tr('plan.noAccess'));
  const plan = await r.json();
  ppText('pp-site', tr('plan.site', {s: (plan.site && plan.site.name) || ''}));
  if (!plan.image) throw new Error(tr('plan.none'));
  const url = await planImageUrl(headers);
  document.getElementById('pp-map').replaceChildren(planSvg(plan, url, tr));
  document.getElementById('pp-legend').replaceChildren(planLegend(plan, tr));
  document.getElementById('pp-rows').replaceChildren(...plan.units.map((u) => {
    const tr_ = document.createElement('tr');
    tr_.dataset.unit = u.id;
    tr_.append(ppCell(`${u.name || u.id} (${u.id})`), ppCell(tr('level.' + u.current.level), u.current.level),
      ppCell(tr('level.' + u.assessed.level), u.assessed.level),
      ppCell(`${u.alarms_active} / ${u.hazards_open}`),
      ppCell([u.dept, u.person_name || u.person].filter(Boolean).join(' · ') || '—'));
    return tr_;
  }));
  document.body.dataset.ready = '1';
}

document.addEventListener('DOMContentLoaded', () => {
  ppLoad().catch((e) => {
    const p = document.getElementById('pp-error');
    p.textContent = e.message;
    p.hidden = false;
  });
});
