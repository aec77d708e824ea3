/* Log in and out (POST /api/v1/login, /api/v1/logout). The session lives in an HttpOnly cookie
 * the page never sees; GET /api/v1/whoami tells whether someone is signed in. An API token
 * under 设置/Settings still works (it is sent instead of the cookie). Loaded after app.js and
 * ledger.js, whose helpers (t, $, app, I18N, showMessage, postJSON, loadMe) it uses. */
'use strict';

Object.assign(I18N.zh, {
  'login.title': '登录', 'login.help': '使用账号登录后可确认报警、处理隐患和完成排查任务。',
  'login.name': '登录名', 'login.password': '密码', 'login.submit': '登录', 'login.logout': '退出登录',
  'login.busy': '正在验证…', 'login.wrong': '登录名或密码错误。',
  'login.locked': '登录失败次数过多，请 {s} 秒后再试。', 'login.disabled': '该账号已停用或没有可用角色。',
  'login.out': '已退出登录。', 'login.welcome': '欢迎，{n}。',
});
Object.assign(I18N.en, {
  'login.title': 'Log in', 'login.help': 'Log in with your account to acknowledge alarms and act on hazards and inspections.',
  'login.name': 'Login name', 'login.password': 'Password', 'login.submit': 'Log in', 'login.logout': 'Log out',
  'login.busy': 'Checking…', 'login.wrong': 'Wrong login name or password.',
  'login.locked': 'Too many failed logins: try again in {s} s.', 'login.disabled': 'This account is disabled or has no role.',
  'login.out': 'Logged out.', 'login.welcome': 'Welcome, {n}.',
});

/* The person signed in (by session cookie or token), or null; quiet when nobody is. */
async function whoami() {
  try {
    const r = await fetch('/api/v1/whoami', {cache: 'no-store', headers: authHeaders()});
    return r.ok ? await r.json() : null;
  } catch (e) { return null; }
}

/* Whether someone is signed in decides which of the form and the logout button shows. */
function renderLogin() {
  $('login').hidden = !!app.me;
  $('logout').hidden = !app.me || app.me.auth !== 'session';
  const st = app.loginStatus, status = $('login-status');
  status.textContent = !st ? '' : st.key ? t(st.key, st.vars) : errorText(st.res);
  status.className = st && st.error ? 'login-error' : 'muted';
}

/* The form's status line, kept as a key so it follows the language switch. */
function setLoginStatus(st) {
  app.loginStatus = st;
  renderLogin();
}

function loginError(res) {
  if (res.status === 401) return {key: 'login.wrong', error: true};
  if (res.status === 429) return {key: 'login.locked', vars: {s: (res.body && res.body.retry_after_s) || '?'}, error: true};
  if (res.status === 403) return {key: 'login.disabled', error: true};
  return {res, error: true};
}

async function submitLogin(ev) {
  ev.preventDefault();
  const name = $('login-name').value.trim(), pw = $('login-password').value;
  if (!name || !pw) return;
  const button = $('login-submit');
  setLoginStatus({key: 'login.busy'});
  button.disabled = true;
  let res;
  try {
    res = await postJSON('/api/v1/login', {login: name, password: pw});
  } catch (e) {
    res = {status: 0, body: null};
  }
  button.disabled = false;
  if (res.status !== 200) {
    setLoginStatus(loginError(res));
    return;
  }
  $('login-password').value = '';
  setLoginStatus(null);
  app.askedToken = false;
  $('message').hidden = true;
  showMessage(t('login.welcome', {n: res.body.name || res.body.person}), 'info');
  app.tick = 0; /* the next poll (within seconds) reads everything again, the ledger too */
  await loadMe();
}

async function logout() {
  await postJSON('/api/v1/logout', {});
  app.me = null;
  await loadMe();
  showMessage(t('login.out'), 'info');
}

function initLogin() {
  $('login-form').addEventListener('submit', submitLogin);
  $('logout').addEventListener('click', logout);
  renderLogin();
}
