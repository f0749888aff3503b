// Shared by the developer's page (dev.js) and the manager's dashboard (manager.js): the
// token kept in the browser session, calls to the API, the live stream, and the messages.
// Plain ES module, no build step, no dependencies.

const TOKEN_KEY = 'todo.token';

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// An API failure: kind is 'unreachable', 'unauthenticated', 'forbidden', 'invalid' or
// 'server'; message is for people.
export class ApiError extends Error {
  constructor(kind, message, status) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

// Read-your-writes when the server reads a replica (todod --read-db): a write's answer
// carries its commit position (Todo-Position); the newest one this session was given goes
// back on every read (Todo-Min-Position), so the answer includes that write.
const POSITION_KEY = 'todo.position';

// A WAL position "16/B374D848" as a number, or null if it is not one.
function positionValue(text) {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text ?? '');
  return match ? (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`) : null;
}

function recordPosition(text) {
  const value = positionValue(text);
  const kept = positionValue(sessionStorage.getItem(POSITION_KEY));
  if (value !== null && (kept === null || value > kept)) sessionStorage.setItem(POSITION_KEY, text);
}

// Calls the API with the session's token; resolves to the parsed JSON body (null for 204),
// or rejects with an ApiError.
export async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${getToken() ?? ''}` };
  const position = sessionStorage.getItem(POSITION_KEY);
  if (method === 'GET' && position) headers['Todo-Min-Position'] = position;
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError('unreachable', 'The server cannot be reached. Check that todod is running; retrying.', 0);
  }
  if (response.ok) recordPosition(response.headers.get('Todo-Position'));
  if (response.status === 204) return null;
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (response.ok) return payload;
  const message = payload?.error?.message ?? `HTTP ${response.status}`;
  if (response.status === 401) {
    throw new ApiError('unauthenticated', 'Your token was not accepted: it is unknown, mistyped or no longer valid. Sign in again.', 401);
  }
  if (response.status === 403) throw new ApiError('forbidden', message, 403);
  if (response.status >= 400 && response.status < 500) throw new ApiError('invalid', `Rejected: ${message}`, response.status);
  throw new ApiError('server', `The server could not do it now (${response.status}): ${message}`, response.status);
}

// Follows GET /v1/events/stream. EventSource cannot send an Authorization header, so the
// token goes in the access_token parameter (accepted on this endpoint only). It reconnects
// by itself, sending Last-Event-ID; when the server refuses a reconnect (401, 503) the
// browser gives up, so we start again, after the last id seen.
// onEvent(event) for each change; onState('live' | 'reconnecting' | 'unauthenticated').
export function follow(onEvent, onState) {
  let source = null;
  let lastId = null;
  let retry = null;
  let stopped = false;
  const open = async () => {
    if (stopped) return;
    const params = new URLSearchParams({ access_token: getToken() ?? '' });
    if (lastId !== null) params.set('after', String(lastId));
    source = new EventSource(`/v1/events/stream?${params}`);
    source.onopen = () => onState('live');
    source.onmessage = (message) => {
      lastId = Number(message.lastEventId);
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      onEvent(event);
    };
    source.onerror = async () => {
      onState('reconnecting');
      if (source.readyState !== EventSource.CLOSED) return;
      source = null;
      // Refused: find out whether the token is still good before trying again.
      try {
        await api('GET', '/v1/events?limit=1');
      } catch (e) {
        if (e.kind === 'unauthenticated') {
          onState('unauthenticated');
          return;
        }
      }
      retry = setTimeout(open, 1500);
    };
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    if (source) source.close();
  };
}

// Shows `message` in the page's alert area (empty: hides it).
export function showError(message) {
  const box = document.getElementById('error');
  box.textContent = message ?? '';
  box.hidden = !message;
}

// Sets the live/reconnecting indicator.
export function showState(state) {
  const pill = document.getElementById('live');
  const text = { live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' }[state] ?? state;
  pill.textContent = text;
  pill.dataset.state = state;
}

// "2026-11-29T08:15:34.859Z" -> a short local time.
export function formatTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

// Calls fn at most once per `ms`, after the last call.
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// Wires the sign-in form (#signin) and the sign-out button (#signout). `start(): Promise`
// checks the token and starts the page; it throws an ApiError if the token is refused.
export function setUpSession(start) {
  const form = document.getElementById('signin');
  const input = document.getElementById('token');
  const signout = document.getElementById('signout');
  const main = document.getElementById('app');
  const reason = document.getElementById('signin-error');

  const showSignIn = (message) => {
    main.hidden = true;
    signout.hidden = true;
    form.hidden = false;
    reason.textContent = message ?? '';
    reason.hidden = !message;
    input.value = '';
    input.focus();
  };

  const begin = async () => {
    try {
      await start();
      form.hidden = true;
      main.hidden = false;
      signout.hidden = false;
    } catch (e) {
      if (e.kind === 'unauthenticated' || e.kind === 'forbidden') {
        clearToken();
        showSignIn(e.message);
      } else {
        showSignIn(e.message);
      }
    }
  };

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      showSignIn('Paste the token that `todod user add` printed.');
      return;
    }
    setToken(token);
    begin();
  });
  signout.addEventListener('click', () => {
    clearToken();
    location.reload();
  });

  if (getToken()) {
    begin();
  } else {
    showSignIn();
  }
  return { showSignIn };
}
