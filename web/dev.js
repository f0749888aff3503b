// The developer's page: their own tasks, kept current by the live stream.
import { api, debounce, follow, formatTime, setUpSession, showError, showState } from './common.js';

const list = document.getElementById('tasks');
const empty = document.getElementById('empty');
const count = document.getElementById('count');
let state = 'open';
let editing = null;  // id of the task being edited: a refresh leaves it alone
let stopFollowing = null;
let session = null;

async function load() {
  const tasks = [];
  let after = 0;
  for (;;) {
    const page = await api('GET', `/v1/tasks?state=${state}&limit=1000&after=${after}`);
    tasks.push(...page.tasks);
    if (page.next === null) break;
    after = page.next;
  }
  render(tasks);
  return tasks;
}

// Reloads, reporting failures in the alert area.
async function refresh() {
  try {
    await load();
    showError('');
  } catch (e) {
    handle(e);
  }
}
const refreshSoon = debounce(refresh, 100);

function handle(e) {
  if (e.kind === 'unauthenticated') {
    if (stopFollowing) stopFollowing();
    session.showSignIn(e.message);
    return;
  }
  showError(e.message);
}

function render(tasks) {
  count.textContent = state === 'all' ? `(${tasks.length})` : `(${tasks.length} ${state})`;
  empty.hidden = tasks.length > 0;
  const keep = editing !== null ? list.querySelector(`li[data-id="${editing}"]`) : null;
  list.replaceChildren(...tasks.map((t) => (keep && Number(keep.dataset.id) === t.id ? keep : item(t))));
}

function item(task) {
  const li = document.createElement('li');
  li.dataset.id = task.id;
  li.className = task.done ? 'task done' : 'task';

  const box = document.createElement('input');
  box.type = 'checkbox';
  box.checked = task.done !== null;
  box.id = `done-${task.id}`;
  box.setAttribute('aria-label', `Done: ${task.task}`);
  box.addEventListener('change', () => write('PATCH', `/v1/tasks/${task.id}`, { done: box.checked }));

  const text = document.createElement('label');
  text.className = 'text';
  text.htmlFor = box.id;
  text.textContent = task.task;

  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `#${task.id} · ${task.done ? `done ${formatTime(task.done)}` : `added ${formatTime(task.created)}`}`;

  const edit = button('Edit', `Edit: ${task.task}`, () => startEdit(li, task));
  const remove = button('Remove', `Remove: ${task.task}`, () => write('DELETE', `/v1/tasks/${task.id}`));
  remove.classList.add('danger');

  const actions = document.createElement('span');
  actions.className = 'actions';
  actions.append(edit, remove);
  li.append(box, text, meta, actions);
  return li;
}

function button(label, aria, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.setAttribute('aria-label', aria);
  b.addEventListener('click', onClick);
  return b;
}

function startEdit(li, task) {
  editing = task.id;
  const form = document.createElement('form');
  form.className = 'edit row';
  const input = document.createElement('input');
  input.value = task.task;
  input.maxLength = 4096;
  input.setAttribute('aria-label', `New text for task ${task.id}`);
  const save = document.createElement('button');
  save.type = 'submit';
  save.textContent = 'Save';
  const cancel = button('Cancel', 'Cancel editing', () => {
    editing = null;
    refresh();
  });
  form.append(input, save, cancel);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const ok = await write('PATCH', `/v1/tasks/${task.id}`, { task: input.value });
    if (ok) editing = null;
    refresh();
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      editing = null;
      refresh();
    }
  });
  li.replaceChildren(form);
  input.focus();
  input.select();
}

// A write; the list then reloads (the stream would tell us too, a moment later).
async function write(method, path, body) {
  try {
    await api(method, path, body);
    showError('');
    refreshSoon();
    return true;
  } catch (e) {
    handle(e);
    refreshSoon();
    return false;
  }
}

document.getElementById('add').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = document.getElementById('new-task');
  if (await write('POST', '/v1/tasks', { task: input.value })) {
    input.value = '';
  }
  input.focus();
});

document.getElementById('oldest').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const n = Number(document.getElementById('oldest-count').value);
  await write('POST', '/v1/tasks/remove-oldest', { count: n });
});

for (const radio of document.querySelectorAll('input[name="state"]')) {
  radio.addEventListener('change', () => {
    state = radio.value;
    editing = null;
    refresh();
  });
}

session = setUpSession(async () => {
  // A manager's token can read here but write nothing: send them to their dashboard.
  const probe = await api('GET', '/v1/users').then(() => true, (e) => {
    if (e.kind === 'forbidden') return false;
    throw e;
  });
  if (probe) {
    const err = new Error('This page is for developers. With a manager or admin token, open the dashboard at /manager.');
    err.kind = 'forbidden';
    throw err;
  }
  await load();
  if (stopFollowing) stopFollowing();
  stopFollowing = follow(() => refreshSoon(), (s) => {
    if (s === 'unauthenticated') {
      handle({ kind: 'unauthenticated', message: 'Your token is no longer accepted. Sign in again.' });
      return;
    }
    showState(s);
    // Back after a break: whatever the stream replays, the list is read again anyway.
    if (s === 'live') refreshSoon();
  });
});
