// The manager's dashboard: every developer with counts, one developer's tasks, the change log
// as it happens. Strictly read-only: it sends no writes and has no controls for them.
import { api, debounce, follow, formatTime, setUpSession, showError, showState } from './common.js';

const usersBody = document.querySelector('#users tbody');
const detail = document.getElementById('detail');
const detailUser = document.getElementById('detail-user');
const log = document.getElementById('log');
const kMaxLog = 200;
let selected = null;
let seen = 0;
let stopFollowing = null;
let session = null;

function handle(e) {
  if (e.kind === 'unauthenticated') {
    if (stopFollowing) stopFollowing();
    session.showSignIn(e.message);
    return;
  }
  showError(e.message);
}

async function loadUsers() {
  const { users } = await api('GET', '/v1/users');
  const devs = users.filter((u) => u.role === 'developer');
  document.getElementById('total-devs').textContent = devs.length;
  document.getElementById('total-open').textContent = devs.reduce((n, u) => n + u.open, 0);
  document.getElementById('total-done').textContent = devs.reduce((n, u) => n + u.done, 0);
  usersBody.replaceChildren(...devs.map((u) => {
    const tr = document.createElement('tr');
    tr.dataset.user = u.name;
    if (u.name === selected) tr.className = 'selected';
    const name = document.createElement('td');
    const pick = document.createElement('button');
    pick.type = 'button';
    pick.className = 'link';
    pick.textContent = u.name;
    pick.setAttribute('aria-label', `Show ${u.name}'s tasks`);
    pick.setAttribute('aria-pressed', String(u.name === selected));
    pick.addEventListener('click', () => select(u.name));
    name.append(pick);
    const cells = [u.open, u.done, formatTime(u.last_update)].map((v) => {
      const td = document.createElement('td');
      td.textContent = v;
      return td;
    });
    tr.append(name, ...cells);
    return tr;
  }));
}

async function loadDetail() {
  if (selected === null) return;
  const tasks = [];
  let after = 0;
  for (;;) {
    const page = await api('GET', `/v1/tasks?user=${encodeURIComponent(selected)}&state=all&limit=1000&after=${after}`);
    tasks.push(...page.tasks);
    if (page.next === null) break;
    after = page.next;
  }
  detailUser.textContent = `— ${selected} (${tasks.length})`;
  detail.replaceChildren(...tasks.map((t) => {
    const li = document.createElement('li');
    li.className = t.done ? 'task done' : 'task';
    li.dataset.id = t.id;
    const mark = document.createElement('span');
    mark.className = 'mark';
    mark.textContent = t.done ? '✔' : '○';
    mark.setAttribute('aria-label', t.done ? 'done' : 'open');
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = t.task;
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = `#${t.id} · ${t.done ? `done ${formatTime(t.done)}` : `added ${formatTime(t.created)}`}`;
    li.append(mark, text, meta);
    return li;
  }));
}

async function select(name) {
  selected = name;
  for (const tr of usersBody.querySelectorAll('tr')) {
    const on = tr.dataset.user === name;
    tr.classList.toggle('selected', on);
    tr.querySelector('button').setAttribute('aria-pressed', String(on));
  }
  try {
    await loadDetail();
  } catch (e) {
    handle(e);
  }
}

const refreshUsers = debounce(() => loadUsers().then(() => showError(''), handle), 150);
const refreshDetail = debounce(() => loadDetail().catch(handle), 150);

function addToLog(event) {
  seen += 1;
  document.getElementById('total-events').textContent = seen;
  const li = document.createElement('li');
  li.className = `ev ${event.kind}`;
  li.dataset.id = event.id;
  const when = document.createElement('time');
  when.dateTime = event.at;
  when.textContent = formatTime(event.at);
  const what = document.createElement('span');
  what.textContent = ` ${event.user} ${event.kind} #${event.task_id}: `;
  const text = document.createElement('q');
  text.textContent = event.task;
  li.append(when, what, text);
  log.prepend(li);
  while (log.children.length > kMaxLog) log.lastElementChild.remove();
}

session = setUpSession(async () => {
  await loadUsers();
  if (stopFollowing) stopFollowing();
  stopFollowing = follow((event) => {
    addToLog(event);
    refreshUsers();
    if (event.user === selected) refreshDetail();
  }, (s) => {
    if (s === 'unauthenticated') {
      handle({ kind: 'unauthenticated', message: 'Your token is no longer accepted. Sign in again.' });
      return;
    }
    showState(s);
    if (s === 'live') {
      refreshUsers();
      refreshDetail();
    }
  });
});
