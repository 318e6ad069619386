// The audit log viewer: one page, no dependencies, no build step.
//
// It reads a viewer token from the URL fragment (`#token=vt_...`), keeps it in sessionStorage and
// sends it as a bearer credential to the read endpoints of /api/v1. Filters live in the query
// string so that a view can be shared (the token never is).
'use strict';

// --- Error collection (read by the browser test) -------------------------------------------------
window.__viewerErrors = [];
(function collectErrors() {
  const record = (kind, detail) => {
    window.__viewerErrors.push(`${kind}: ${detail}`);
  };
  const originalError = console.error.bind(console);
  console.error = (...args) => {
    record('console.error', args.map((arg) => (arg instanceof Error ? arg.stack || arg.message : String(arg))).join(' '));
    originalError(...args);
  };
  window.addEventListener('error', (event) => {
    record('error', `${event.message} at ${event.filename}:${event.lineno}:${event.colno}`);
  });
  window.addEventListener('unhandledrejection', (event) => {
    const reason = event.reason;
    record('unhandledrejection', reason instanceof Error ? reason.stack || reason.message : String(reason));
  });
})();

// --- Constants and state -------------------------------------------------------------------------
const TOKEN_KEY = 'auditViewer.token';
const FILTER_NAMES = ['range', 'from', 'to', 'projectId', 'userId', 'apiKeyId', 'resourceType', 'resourceId', 'action',
  'onBehalfOf', 'impersonatedBy'];
const PRESETS = {
  '1h': 60 * 60 * 1000,
  '24h': 24 * 60 * 60 * 1000,
  '7d': 7 * 24 * 60 * 60 * 1000,
  '30d': 30 * 24 * 60 * 60 * 1000,
};
const PAGE_SIZES = [10, 25, 50, 100, 200];
const DEFAULT_LIMIT = 50;
const RECORD_FIELDS = [
  'id', 'seq', 'createdAt', 'occurredAt', 'type', 'userId', 'apiKeyId', 'userOrgRole', 'projectId',
  'userProjectRole', 'resourceType', 'resourceId', 'action', 'ipAddress', 'userAgent', 'requestId',
  'traceId', 'onBehalfOf', 'impersonatedBy', 'recordedBy', 'orgId', 'prevHash', 'hash',
];
const STATE_FIELDS = ['before', 'after', 'metadata'];

const state = {
  token: null,
  grant: null,
  catalog: [],
  filters: {},
  limit: DEFAULT_LIMIT,
  eventId: null,
  cursors: [null],
  page: 0,
  records: [],
  nextCursor: null,
  loadSeq: 0,
  opener: null,
  expiryTimer: null,
  reloading: false,
};
let memoryToken = null;

const $ = (id) => document.getElementById(id);

/** A failed API call, classified for the user. */
class ViewerError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

// --- Small DOM helpers ---------------------------------------------------------------------------
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'text') element.textContent = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function announce(message) {
  $('status').textContent = message;
}

function showError(message) {
  const banner = $('error');
  banner.textContent = message;
  banner.hidden = !message;
}

// --- Token ---------------------------------------------------------------------------------------
function takeToken() {
  const fromFragment = hashToken();
  if (fromFragment) {
    memoryToken = fromFragment;
    try {
      sessionStorage.setItem(TOKEN_KEY, fromFragment);
    } catch (_) {
      // Storage may be disabled; the token then lasts for this page only.
    }
    history.replaceState(history.state, '', location.pathname + location.search);
    return fromFragment;
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY) || memoryToken;
  } catch (_) {
    return memoryToken;
  }
}

/** Forgets `token` (a refused one), unless a newer link has replaced it meanwhile. */
function forgetToken(token) {
  if (memoryToken === token) memoryToken = null;
  try {
    if (sessionStorage.getItem(TOKEN_KEY) === token) sessionStorage.removeItem(TOKEN_KEY);
  } catch (_) {
    // Nothing stored.
  }
}

const hashToken = () => new URLSearchParams(location.hash.replace(/^#/, '')).get('token');

/** The claims of a viewer token, for display only (the server checks the signature). */
function decodeGrant(token) {
  if (!token || !token.startsWith('vt_')) return null;
  try {
    const part = token.slice(3).split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    const padded = part + '='.repeat((4 - (part.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return {
      userId: typeof claims.u === 'string' ? claims.u : null,
      orgRole: typeof claims.r === 'string' ? claims.r : null,
      projectId: typeof claims.p === 'string' ? claims.p : null,
      projectRole: typeof claims.pr === 'string' ? claims.pr : null,
      expires: typeof claims.e === 'number' ? claims.e * 1000 : null,
    };
  } catch (_) {
    return null;
  }
}

// --- Time ----------------------------------------------------------------------------------------
const pad = (n, width = 2) => String(n).padStart(width, '0');

function localTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso || '';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function shortTime(ms) {
  const date = new Date(ms);
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** `YYYY-MM-DDTHH:MM:SS` in local time, for datetime-local inputs. */
function toLocalInput(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return localTime(iso).replace(' ', 'T');
}

function fromLocalInput(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function timeZoneName() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  } catch (_) {
    return 'local time';
  }
}

// --- URL state -----------------------------------------------------------------------------------
function readUrl() {
  const query = new URLSearchParams(location.search);
  const filters = {};
  for (const name of FILTER_NAMES) {
    const value = query.get(name);
    if (value) filters[name] = value;
  }
  if (filters.range && filters.range !== 'custom' && !PRESETS[filters.range]) delete filters.range;
  if (!filters.range && (filters.from || filters.to)) filters.range = 'custom';
  if (filters.range !== 'custom') {
    delete filters.from;
    delete filters.to;
  }
  const limit = Number(query.get('limit'));
  state.limit = PAGE_SIZES.includes(limit) ? limit : DEFAULT_LIMIT;
  state.filters = filters;
  state.eventId = query.get('event');
}

function writeUrl(push) {
  const query = new URLSearchParams();
  for (const name of FILTER_NAMES) {
    if (state.filters[name]) query.set(name, state.filters[name]);
  }
  if (state.limit !== DEFAULT_LIMIT) query.set('limit', String(state.limit));
  if (state.eventId) query.set('event', state.eventId);
  const search = query.toString();
  const url = location.pathname + (search ? `?${search}` : '');
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

/** The API query for the current filters (without paging). */
function apiQuery() {
  const filters = state.filters;
  const query = new URLSearchParams();
  if (filters.range && PRESETS[filters.range]) {
    query.set('from', new Date(Date.now() - PRESETS[filters.range]).toISOString());
  } else if (filters.range === 'custom') {
    if (filters.from) query.set('from', filters.from);
    if (filters.to) query.set('to', filters.to);
  }
  if (state.grant && state.grant.projectId) {
    query.set('projectId', state.grant.projectId);
  } else if (filters.projectId) {
    query.set('projectId', filters.projectId);
  }
  for (const name of ['userId', 'apiKeyId', 'resourceType', 'resourceId', 'action', 'onBehalfOf', 'impersonatedBy']) {
    if (filters[name]) query.set(name, filters[name]);
  }
  return query;
}

function rangeProblem() {
  const { range, from, to } = state.filters;
  if (range === 'custom' && from && to && new Date(from) >= new Date(to)) {
    return '“From” must be before “To”.';
  }
  return null;
}

// --- Form ----------------------------------------------------------------------------------------
/** API key ids look like `key_...`, `ak_...`, `sk_...`, `pk_...` or a UUID; anything else is a user. */
function looksLikeApiKey(id) {
  return /^(api[_-]?key|key|ak|sk|pk)[_-]/i.test(id) ||
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}

function ensureOption(select, value) {
  if (!value) return;
  if (![...select.options].some((option) => option.value === value)) {
    select.append(h('option', { value }, value));
  }
}

function fillActions() {
  const select = $('f-action');
  const type = $('f-type').value;
  const current = state.filters.action || '';
  const actions = new Set();
  for (const entry of state.catalog) {
    if (!type || entry.resourceType === type) entry.actions.forEach((action) => actions.add(action));
  }
  select.replaceChildren(h('option', { value: '' }, type ? `All ${type} actions` : 'All actions'));
  for (const action of [...actions].sort()) select.append(h('option', { value: action }, action));
  ensureOption(select, current);
  select.value = current;
}

function fillTypes() {
  const select = $('f-type');
  select.replaceChildren(h('option', { value: '' }, 'All types'));
  for (const entry of state.catalog) {
    select.append(h('option', { value: entry.resourceType }, entry.resourceType));
  }
  ensureOption(select, state.filters.resourceType);
  select.value = state.filters.resourceType || '';
  fillActions();
}

function fillForm() {
  const filters = state.filters;
  $('f-range').value = filters.range || '';
  const custom = filters.range === 'custom';
  $('custom-from').hidden = !custom;
  $('custom-to').hidden = !custom;
  $('f-from').value = filters.from ? toLocalInput(filters.from) : '';
  $('f-to').value = filters.to ? toLocalInput(filters.to) : '';
  const project = $('f-project');
  if (state.grant && state.grant.projectId) {
    project.value = state.grant.projectId;
    project.disabled = true;
    project.title = 'This link shows one project only';
  } else {
    project.value = filters.projectId || '';
  }
  $('f-actor').value = filters.userId || filters.apiKeyId || '';
  $('f-resource').value = filters.resourceId || '';
  fillTypes();
  $('page-size').value = String(state.limit);
}

function readForm() {
  const filters = {};
  const range = $('f-range').value;
  if (range) filters.range = range;
  if (range === 'custom') {
    const from = fromLocalInput($('f-from').value);
    const to = fromLocalInput($('f-to').value);
    if (from) filters.from = from;
    if (to) filters.to = to;
  }
  const project = $('f-project').value.trim();
  if (project && !(state.grant && state.grant.projectId)) filters.projectId = project;
  const actor = $('f-actor').value.trim();
  if (actor) filters[looksLikeApiKey(actor) ? 'apiKeyId' : 'userId'] = actor;
  const type = $('f-type').value;
  if (type) filters.resourceType = type;
  const resource = $('f-resource').value.trim();
  if (resource) filters.resourceId = resource;
  const action = $('f-action').value;
  if (action) filters.action = action;
  return filters;
}

function applyFilters(filters) {
  state.filters = filters;
  state.eventId = null;
  writeUrl(true);
  resetPaging();
  load();
}

function resetPaging() {
  state.cursors = [null];
  state.page = 0;
}

// --- API -----------------------------------------------------------------------------------------
async function api(path) {
  let response;
  try {
    response = await fetch(path, {
      headers: { Authorization: `Bearer ${state.token}`, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (_) {
    throw new ViewerError('network', 'Could not reach the audit log server. Check the connection and try again.');
  }
  if (response.ok) return response;
  let detail = response.statusText || `HTTP ${response.status}`;
  try {
    const problem = await response.json();
    if (problem && typeof problem.detail === 'string') detail = problem.detail;
  } catch (_) {
    // Not a problem document; keep the status text.
  }
  if (response.status === 401) throw new ViewerError(/expired/i.test(detail) ? 'expired' : 'invalid', detail);
  if (response.status === 403) throw new ViewerError('forbidden', `Not allowed: ${detail}`);
  if (response.status === 404) throw new ViewerError('notFound', detail);
  throw new ViewerError('http', `The server answered ${response.status}: ${detail}`);
}

function handleFailure(error, what = 'Could not load events.') {
  if (state.reloading) return;
  if (!(error instanceof ViewerError)) throw error;
  if (error.kind === 'expired' || error.kind === 'invalid') {
    showGate(error.kind);
    return;
  }
  showError(error.message);
  announce(what);
}

// --- Gate (no token, expired, invalid) -----------------------------------------------------------
const GATES = {
  missing: ['No viewer link', 'Open the audit log from the link your app gives you. The link carries a short-lived access token.'],
  expired: ['Link expired', 'This link has expired. Ask the app for a new one.'],
  invalid: ['Link not valid', 'This link is not valid. Ask the app for a new one.'],
};

function showGate(kind) {
  if (state.reloading) return;
  if (kind !== 'missing') forgetToken(state.token);
  if (state.expiryTimer) clearTimeout(state.expiryTimer);
  state.loadSeq += 1;
  const [title, text] = GATES[kind];
  const dialog = $('detail');
  if (dialog.open) dialog.close();
  $('app').hidden = true;
  $('scope').textContent = '';
  const gate = $('gate');
  gate.hidden = false;
  gate.dataset.kind = kind;
  $('gate-title').textContent = title;
  $('gate-text').textContent = text;
  $('gate-title').setAttribute('tabindex', '-1');
  $('gate-title').focus();
  document.title = `${title} · Audit log`;
}

function showScope() {
  const grant = state.grant;
  const scope = $('scope');
  scope.replaceChildren();
  if (!grant) return;
  const parts = [];
  if (grant.userId) parts.push(h('span', {}, 'Viewing as ', h('strong', {}, grant.userId)));
  parts.push(grant.projectId
    ? h('span', {}, 'Project ', h('strong', {}, grant.projectId))
    : h('span', {}, 'Whole organization'));
  if (grant.expires) {
    parts.push(h('span', {}, 'Link expires at ', h('time', { datetime: new Date(grant.expires).toISOString() }, shortTime(grant.expires))));
  }
  parts.forEach((part, index) => {
    if (index > 0) scope.append(h('span', { class: 'sep', 'aria-hidden': 'true' }, '·'));
    scope.append(part);
  });
}

function watchExpiry() {
  if (!state.grant || !state.grant.expires) return;
  const remaining = Math.max(0, state.grant.expires - Date.now());
  // The server decides (clocks may differ): reload when the link should have expired.
  state.expiryTimer = setTimeout(() => load(), Math.min(remaining + 1000, 2 ** 31 - 1));
}

// --- Diff ----------------------------------------------------------------------------------------
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

function joinPath(base, key) {
  const segment = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (!base) return segment;
  return segment.startsWith('[') ? base + segment : `${base}.${segment}`;
}

function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Field-level changes from `before` to `after`: added, removed and changed leaves, dotted paths. */
function diffStates(before, after) {
  const changes = [];
  const leaves = (kind, value, path) => {
    if (isObject(value) && Object.keys(value).length > 0) {
      for (const key of Object.keys(value)) leaves(kind, value[key], joinPath(path, key));
    } else {
      changes.push(kind === 'added'
        ? { kind, path: path || '(value)', after: value }
        : { kind, path: path || '(value)', before: value });
    }
  };
  const walk = (a, b, path) => {
    if (isObject(a) && isObject(b)) {
      const keys = [...Object.keys(a), ...Object.keys(b).filter((key) => !Object.hasOwn(a, key))];
      for (const key of keys) {
        const child = joinPath(path, key);
        if (!Object.hasOwn(b, key)) leaves('removed', a[key], child);
        else if (!Object.hasOwn(a, key)) leaves('added', b[key], child);
        else walk(a[key], b[key], child);
      }
    } else if (canonical(a) !== canonical(b)) {
      changes.push({ kind: 'changed', path: path || '(value)', before: a, after: b });
    }
  };
  const absent = (value) => value === null || value === undefined;
  if (absent(before) && absent(after)) return changes;
  if (absent(before)) leaves('added', after, '');
  else if (absent(after)) leaves('removed', before, '');
  else walk(before, after, '');
  return changes;
}

function displayValue(value) {
  if (value === undefined) return '';
  if (typeof value === 'string') return value === '' ? '""' : value;
  return JSON.stringify(value);
}

function clip(text, max = 40) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function summary(record) {
  const changes = diffStates(record.before, record.after);
  const cell = h('span', { class: 'summary' });
  if (changes.length === 0) {
    cell.append(h('span', { class: 'muted' }, record.before || record.after ? 'no change' : '—'));
    return cell;
  }
  if (changes.length === 1) {
    const change = changes[0];
    if (change.kind === 'changed') {
      cell.append(
        h('span', { class: 'path' }, change.path), ': ',
        h('span', { class: 'old' }, clip(displayValue(change.before))), ' → ',
        h('span', { class: 'new' }, clip(displayValue(change.after))),
      );
    } else {
      const added = change.kind === 'added';
      cell.append(
        h('span', { class: added ? 'add' : 'del' }, added ? '+ ' : '− '),
        h('span', { class: 'path' }, change.path), ': ',
        h('span', { class: added ? 'new' : 'old' }, clip(displayValue(added ? change.after : change.before))),
      );
    }
    return cell;
  }
  const count = (kind) => changes.filter((change) => change.kind === kind).length;
  const parts = [['add', '+', count('added')], ['del', '−', count('removed')], ['chg', '~', count('changed')]];
  for (const [cls, sign, n] of parts) {
    if (n > 0) cell.append(h('span', { class: cls }, `${sign}${n}`), ' ');
  }
  cell.append(h('span', { class: 'muted' }, 'fields'));
  cell.title = changes.map((change) => `${change.kind} ${change.path}`).join('\n');
  return cell;
}

// --- Table ---------------------------------------------------------------------------------------
const titleCase = (text) => (text ? text.charAt(0) + text.slice(1).toLowerCase() : '');

// Who else stood behind the actor: the user an agent acted for, the staff member impersonating.
function delegations(record) {
  const parts = [];
  if (record.onBehalfOf) parts.push(['on behalf of', record.onBehalfOf, 'on-behalf-of']);
  if (record.impersonatedBy) parts.push(['impersonated by', record.impersonatedBy, 'impersonated-by']);
  return parts;
}

function delegationLine(record) {
  const parts = delegations(record);
  if (!parts.length) return null;
  return h('div', { class: 'delegation' }, ...parts.flatMap(([label, id, cls], index) => [
    index ? ' · ' : '', `${label} `, h('span', { class: `mono ${cls}`, title: id }, id)]));
}

function actorCell(record) {
  const type = record.type || 'SYSTEM';
  const label = { USER: 'User', API_KEY: 'API key', SYSTEM: 'System' }[type] || type;
  const id = type === 'API_KEY' ? record.apiKeyId : record.userId || record.apiKeyId;
  const roles = [];
  if (record.userOrgRole) roles.push(`Org ${titleCase(record.userOrgRole)}`);
  if (record.userProjectRole) roles.push(`Project ${titleCase(record.userProjectRole)}`);
  return h('td', { class: 'col-actor' },
    h('div', { class: 'actor' },
      h('span', { class: `badge badge-${type.toLowerCase().replace('_', '-')}` }, label),
      id ? h('span', { class: 'mono', title: id }, id) : null),
    roles.length ? h('div', { class: 'roles' }, roles.join(' · ')) : null,
    delegationLine(record));
}

function actionClass(action) {
  if (/^(create|add|invite|import|restore)/i.test(action)) return 'action action-create';
  if (/^(delete|remove|revoke|void|purge)/i.test(action)) return 'action action-delete';
  if (/^(update|set|change|edit|promote|rename)/i.test(action)) return 'action action-update';
  return 'action';
}

function timeTitle(record) {
  let title = `${record.occurredAt} (UTC)`;
  if (record.createdAt && record.createdAt !== record.occurredAt) title += `\nrecorded ${record.createdAt} (UTC)`;
  return title;
}

function renderRow(record, index) {
  const time = localTime(record.occurredAt || record.createdAt);
  const description = `${record.action} ${record.resourceType} ${record.resourceId}, ${time}`;
  return h('tr', { 'data-index': index, 'data-id': record.id },
    h('td', { class: 'col-time' },
      h('button', { type: 'button', class: 'row-open', 'aria-label': `Details: ${description}` },
        h('time', { datetime: record.occurredAt, title: timeTitle(record) }, time))),
    actorCell(record),
    h('td', { class: 'col-project' },
      record.projectId ? h('span', { class: 'mono' }, record.projectId) : h('span', { class: 'muted', title: 'Organization level' }, '—')),
    h('td', { class: 'col-rtype' }, record.resourceType),
    h('td', { class: 'col-rid' }, h('span', { class: 'mono', title: record.resourceId }, record.resourceId)),
    h('td', { class: 'col-action' }, h('span', { class: actionClass(record.action) }, record.action)),
    h('td', { class: 'col-changes' }, summary(record)));
}

function render() {
  const rows = $('rows');
  rows.replaceChildren(...state.records.map(renderRow));
  const empty = state.records.length === 0;
  $('empty').hidden = !empty;
  $('events').classList.toggle('is-empty', empty);
  const first = state.page * state.limit + 1;
  const last = state.page * state.limit + state.records.length;
  $('page-info').textContent = empty ? '' : `Page ${state.page + 1} · events ${first}–${last}`;
  $('prev').disabled = state.page === 0;
  $('next').disabled = !state.nextCursor;
  $('empty-title').textContent = state.page === 0 ? 'No events match these filters' : 'No more events';
  $('empty-hint').textContent = state.page === 0
    ? 'Widen the time range or clear a filter.'
    : 'Go back to the previous page.';
  if (empty) {
    announce($('empty-title').textContent);
  } else {
    const more = state.nextCursor ? ', more on the next page' : '';
    announce(`Showing events ${first}–${last}${more}.`);
  }
}

/** Nothing to show because something failed: no rows, and no "no events" claim either. */
function renderFailure() {
  state.records = [];
  state.nextCursor = null;
  render();
  $('empty').hidden = true;
  $('events').classList.remove('is-empty');
  $('page-info').textContent = '';
}

function setBusy(busy) {
  $('results').setAttribute('aria-busy', busy ? 'true' : 'false');
  $('results').classList.toggle('is-loading', busy);
  if (busy && state.records.length === 0) {
    $('empty').hidden = true;
    $('rows').replaceChildren(h('tr', { class: 'loading-row' },
      h('td', { colspan: 7 }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading events…')));
  }
}

async function load() {
  const seq = ++state.loadSeq;
  stopLive();
  showError('');
  const problem = rangeProblem();
  if (problem) {
    renderFailure();
    showError(problem);
    announce(problem);
    return;
  }
  setBusy(true);
  announce('Loading events…');
  const query = apiQuery();
  query.set('limit', String(state.limit));
  const cursor = state.cursors[state.page];
  if (cursor) query.set('cursor', cursor);
  try {
    const response = await api(`/api/v1/audit-logs?${query}`);
    const page = await response.json();
    if (seq !== state.loadSeq) return;
    state.records = Array.isArray(page.data) ? page.data : [];
    state.nextCursor = page.nextCursor || null;
    render();
    startLive();
  } catch (error) {
    if (seq !== state.loadSeq) return;
    renderFailure();
    handleFailure(error);
  } finally {
    if (seq === state.loadSeq) setBusy(false);
  }
}

// --- Live tail ---------------------------------------------------------------------------------
// New events arrive from GET /api/v1/audit-logs/stream (server-sent events). It is read with
// fetch rather than EventSource because EventSource cannot send the Authorization header, and
// the token must not travel in a URL. Reconnections resume after the last event shown
// (Last-Event-ID), so nothing is missed or shown twice.
const live = { controller: null, lastSeq: null, retryTimer: null, retries: 0 };

function setLiveState(kind) {
  const toggle = $('live-toggle');
  toggle.classList.toggle('is-live', kind === 'on');
  toggle.classList.toggle('is-retrying', kind === 'retrying');
  const text = { on: 'Live: new events appear at the top', retrying: 'Live: reconnecting…', paused: 'Live shows the newest page only', off: '' }[kind] || '';
  $('live-state').textContent = text;
  toggle.title = text || 'Add new events at the top as they are recorded';
}

function stopLive() {
  if (live.controller) live.controller.abort();
  live.controller = null;
  clearTimeout(live.retryTimer);
  live.retryTimer = null;
  setLiveState('off');
}

/** (Re)starts the tail after the newest record shown, when Live is on and the newest page is shown. */
function startLive() {
  stopLive();
  if (!$('live').checked) return;
  if (state.page !== 0 || rangeProblem()) {
    setLiveState('paused');
    return;
  }
  const newest = state.records.reduce((max, record) => Math.max(max, Number(record.seq) || 0), 0);
  live.lastSeq = newest > 0 ? newest : null;
  live.retries = 0;
  connectLive();
}

function parseSse(block) {
  const event = { event: 'message', data: [] };
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event.event = value;
    else if (field === 'data') event.data.push(value);
  }
  return event.data.length ? { event: event.event, data: event.data.join('\n') } : null;
}

function receiveLive(record) {
  if (!record || typeof record.seq !== 'number') return;
  live.lastSeq = Math.max(live.lastSeq || 0, record.seq);
  if (state.records.some((shown) => shown.id === record.id)) return;
  state.records.unshift(record);
  render();
  const first = $('rows').querySelector('tr[data-id]');
  if (first) first.classList.add('is-new');
  announce(`New event: ${record.action} ${record.resourceType} ${record.resourceId}`);
}

async function connectLive() {
  const controller = new AbortController();
  live.controller = controller;
  const headers = { Authorization: `Bearer ${state.token}`, Accept: 'text/event-stream' };
  if (live.lastSeq !== null) headers['Last-Event-ID'] = String(live.lastSeq);
  try {
    const response = await fetch(`/api/v1/audit-logs/stream?${apiQuery()}`, {
      headers, cache: 'no-store', credentials: 'omit', signal: controller.signal,
    });
    if (response.status === 401 || response.status === 403) {
      $('live').checked = false;
      stopLive();
      handleFailure(new ViewerError(response.status === 401 ? 'expired' : 'forbidden', 'Live updates are not allowed with this link.'), 'Live updates stopped.');
      return;
    }
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    setLiveState('on');
    live.retries = 0;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      buffer = buffer.replace(/\r\n/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = parseSse(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event && event.event === 'auditLog') {
          try {
            receiveLive(JSON.parse(event.data));
          } catch (_) {
            // Not a record; skip it.
          }
        }
      }
    }
  } catch (_) {
    if (controller.signal.aborted) return;
  }
  if (live.controller !== controller) return;
  // The connection ended (server restart, network): try again, a little later each time.
  live.retries += 1;
  setLiveState('retrying');
  live.retryTimer = setTimeout(connectLive, Math.min(1000 * live.retries, 10000));
}

// --- Detail dialog -------------------------------------------------------------------------------
function jsonBlock(value, label) {
  if (value === null || value === undefined) return h('p', { class: 'muted none' }, 'none');
  return h('pre', { class: 'json', tabindex: '0', 'aria-label': label }, JSON.stringify(value, null, 2));
}

function diffTable(record) {
  const changes = diffStates(record.before, record.after);
  if (changes.length === 0) {
    return h('p', { class: 'muted' }, record.before || record.after ? 'No field changed.' : 'This event records no state.');
  }
  const labels = { added: ['+', 'added'], removed: ['−', 'removed'], changed: ['~', 'changed'] };
  const value = (present, v, cls) => (present ? h('code', { class: cls }, displayValue(v)) : h('span', { class: 'muted' }, '—'));
  return h('table', { class: 'diff' },
    h('caption', { class: 'visually-hidden' }, 'Field-level changes'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', class: 'diff-kind' }, h('span', { class: 'visually-hidden' }, 'Change')),
      h('th', { scope: 'col' }, 'Field'),
      h('th', { scope: 'col' }, 'Before'),
      h('th', { scope: 'col' }, 'After'))),
    h('tbody', {}, changes.map((change) => {
      const [sign, word] = labels[change.kind];
      return h('tr', { class: `diff-${change.kind}`, 'data-path': change.path },
        h('td', { class: 'diff-kind' }, h('span', { 'aria-hidden': 'true' }, sign), h('span', { class: 'visually-hidden' }, word)),
        h('th', { scope: 'row', class: 'mono' }, change.path),
        h('td', {}, value(change.kind !== 'added', change.before, 'old')),
        h('td', {}, value(change.kind !== 'removed', change.after, 'new')));
    })));
}

function fieldValue(name, value) {
  if (value === null || value === undefined || value === '') return h('span', { class: 'muted' }, '—');
  if (name === 'createdAt' || name === 'occurredAt') {
    return h('span', {}, h('time', { datetime: value }, localTime(value)), h('span', { class: 'utc' }, `${value} UTC`));
  }
  if (typeof value === 'object') return h('code', {}, JSON.stringify(value));
  return h('span', { class: /Id$|^id$|[Hh]ash$|^recordedBy$/.test(name) ? 'mono' : '' }, String(value));
}

function detailContent(record) {
  const fields = h('dl', { class: 'fields' });
  const names = [...RECORD_FIELDS, ...Object.keys(record).filter((key) => !RECORD_FIELDS.includes(key) && !STATE_FIELDS.includes(key))];
  for (const name of names) {
    if (!Object.hasOwn(record, name)) continue;
    fields.append(h('div', { class: 'field-row' }, h('dt', {}, name), h('dd', {}, fieldValue(name, record[name]))));
  }
  return [
    h('section', { class: 'detail-section', 'aria-labelledby': 'detail-changes' },
      h('h3', { id: 'detail-changes' }, 'Changes'),
      diffTable(record)),
    h('section', { class: 'detail-section', 'aria-labelledby': 'detail-states' },
      h('h3', { id: 'detail-states' }, 'Before and after'),
      h('div', { class: 'side-by-side' },
        h('div', {}, h('h4', {}, 'Before'), jsonBlock(record.before, 'State before')),
        h('div', {}, h('h4', {}, 'After'), jsonBlock(record.after, 'State after')))),
    proofSection(record),
    h('section', { class: 'detail-section', 'aria-labelledby': 'detail-fields' },
      h('h3', { id: 'detail-fields' }, 'All fields'),
      fields,
      record.metadata ? h('div', {}, h('h4', {}, 'metadata'), jsonBlock(record.metadata, 'Metadata')) : null),
  ];
}

// --- Record proof --------------------------------------------------------------------------------
// The record's c2sp.org/tlog-proof@v1 file: downloaded for audit-verify, or checked here with
// WebCrypto: the record in the file is the one shown, its content matches its chain hash
// (SHA-256(prevHash || JCS(record without hash)); `canonical` is JCS for JSON data), its leaf (SHA-256(0x00 || chain hash)) leads
// through the inclusion proof (RFC 9162 2.1.3.2) to the checkpoint's root, the log's Ed25519
// signature verifies, and so does each witness's cosignature/v1. The keys come from this server.

const PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
const NOTE_SIGNATURE = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/;

class ProofError extends Error {}

function base64Bytes(text) {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch (_) {
    throw new ProofError(`not base64: ${clip(text)}`);
  }
}

function hexBytes(hex) {
  if (!/^([0-9a-f]{2})+$/.test(hex)) throw new ProofError(`not hex: ${clip(hex)}`);
  return Uint8Array.from(hex.match(/../g), (pair) => parseInt(pair, 16));
}

function joinBytes(...parts) {
  const joined = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

async function sha256(...parts) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', joinBytes(...parts)));
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** The parts of a tlog-proof file: extra bytes, leaf index, audit path, checkpoint note. */
function parseTlogProof(text) {
  const lines = text.split('\n');
  if (lines[0] !== PROOF_HEADER) throw new ProofError(`the file does not start with ${PROOF_HEADER}`);
  let at = 1;
  let extra = null;
  if (lines[at]?.startsWith('extra ')) extra = base64Bytes(lines[at++].slice(6));
  const index = /^index (\d{1,15})$/.exec(lines[at++] ?? '');
  if (!index) throw new ProofError('no index line');
  const path = [];
  while (at < lines.length && lines[at] !== '') path.push(base64Bytes(lines[at++]));
  if (at >= lines.length) throw new ProofError('the file ends before the checkpoint');
  return { extra, index: Number(index[1]), path, note: lines.slice(at + 1).join('\n') };
}

/** A signed note's body and signature lines, and the checkpoint in the body. */
function parseCheckpointNote(note) {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new ProofError('the checkpoint is not a signed note');
  const body = note.slice(0, split + 1);
  const [origin, size, root] = body.split('\n');
  if (!/^\d{1,15}$/.test(size ?? '')) throw new ProofError('the checkpoint has no tree size');
  const signatures = note.slice(split + 2).split('\n').filter(Boolean).map((line) => {
    const match = NOTE_SIGNATURE.exec(line);
    if (!match) throw new ProofError(`not a signature line: ${clip(line)}`);
    return { name: match[1], bytes: base64Bytes(match[2]) };
  });
  return { body, origin, size: Number(size), root: base64Bytes(root ?? ''), signatures };
}

/** A vkey `<name>+<key id>+<base64(type || key)>`. */
function parseVkey(vkey) {
  // The base64 key may itself hold '+': split at the first two only.
  const [, name, keyId, key] = /^([^+]*)\+([^+]*)\+(.*)$/.exec(vkey) ?? [];
  const bytes = base64Bytes(key ?? '');
  if (!name || !/^[0-9a-f]{8}$/.test(keyId ?? '') || bytes.length !== 33) throw new ProofError(`not a verifier key: ${clip(vkey)}`);
  return { name, keyId: hexBytes(keyId), type: bytes[0], key: bytes.slice(1) };
}

async function ed25519Verifies(key, signature, message) {
  const imported = await crypto.subtle.importKey('raw', key, { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, imported, signature, new TextEncoder().encode(message));
}

/** The signature lines of `note` by `vkey` (its name and key id) that verify over `message(line)`. */
async function signedBy(note, vkey, signatureLength, message) {
  for (const line of note.signatures) {
    const { bytes } = line;
    if (line.name !== vkey.name || bytes.length !== 4 + signatureLength || !sameBytes(bytes.slice(0, 4), vkey.keyId)) continue;
    const signed = message(bytes.slice(4));
    if (signed && await ed25519Verifies(vkey.key, bytes.slice(-64), signed)) return true;
  }
  return false;
}

/** The root the audit path leads to from leaf `index` of a tree of `size` leaves. */
async function rootFromInclusion(leaf, index, size, path) {
  if (index >= size) throw new ProofError(`leaf ${index} is beyond the tree of ${size}`);
  let fn = index;
  let sn = size - 1;
  let root = leaf;
  const node = Uint8Array.of(1);
  for (const sibling of path) {
    if (sn === 0) throw new ProofError('the inclusion proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      root = await sha256(node, sibling, root);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      root = await sha256(node, root, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new ProofError('the inclusion proof is too short');
  return root;
}

/** The witnesses (`witness <name> <vkey> [url]` lines) of a tlog-policy text. */
function policyWitnesses(policyText) {
  return policyText.split('\n').map((line) => line.trim().split(/\s+/))
    .filter((words) => words[0] === 'witness' && words.length >= 3)
    .map((words) => ({ name: words[1], vkey: parseVkey(words[2]) }));
}

/**
 * Checks the proof file `text` of `record` with the log's verifier key `logVkey` and the
 * witnesses of `policyText`: what was checked, or a ProofError saying what failed.
 */
async function verifyRecordProof(text, record, logVkey, policyText) {
  if (!globalThis.crypto?.subtle) throw new ProofError('this page is not a secure context (HTTPS or localhost), so the browser offers no WebCrypto');
  const proof = parseTlogProof(text);
  let proven;
  try {
    proven = JSON.parse(new TextDecoder().decode(proof.extra ?? new Uint8Array()));
  } catch (_) {
    throw new ProofError('the file carries no record');
  }
  if (canonical(proven) !== canonical(record)) throw new ProofError('the record in the file is not the record shown');
  const { hash: stated, ...content } = proven;
  const computed = await sha256(new TextEncoder().encode(`${proven.prevHash}${canonical(content)}`));
  if (!sameBytes(computed, hexBytes(stated))) throw new ProofError('the record was modified: its content does not match its hash');
  if (proof.index !== record.seq - 1) throw new ProofError(`the file proves leaf ${proof.index}, not this record's (${record.seq - 1})`);
  const note = parseCheckpointNote(proof.note);
  const log = parseVkey(logVkey);
  if (note.origin !== log.name) throw new ProofError(`the checkpoint is of ${note.origin}, not of ${log.name}`);
  if (!await signedBy(note, log, 64, () => note.body)) throw new ProofError(`the checkpoint is not signed by ${log.name}`);
  const leaf = await sha256(Uint8Array.of(0), hexBytes(record.hash));
  const root = await rootFromInclusion(leaf, proof.index, note.size, proof.path);
  if (!sameBytes(root, note.root)) throw new ProofError('the inclusion proof does not lead to the checkpoint\'s root');
  const witnesses = policyWitnesses(policyText);
  const cosigned = [];
  for (const witness of witnesses) {
    const cosignature = (bytes) => {
      const time = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
      return `cosignature/v1\ntime ${time}\n${note.body}`;
    };
    if (await signedBy(note, witness.vkey, 72, cosignature)) cosigned.push(witness.name);
  }
  return { size: note.size, origin: note.origin, keyId: hexKeyId(log.keyId), cosigned, witnesses: witnesses.length };
}

function hexKeyId(bytes) {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

function proofOutcome(outcome) {
  const witnessed = outcome.witnesses === 0
    ? 'The server names no witnesses.'
    : `Cosigned by ${outcome.cosigned.length} of the ${outcome.witnesses} witnesses the server names${outcome.cosigned.length ? `: ${outcome.cosigned.join(', ')}` : ''}.`;
  return `Verified: this record is in the checkpoint of ${outcome.size} records signed by ${outcome.origin} (key ${outcome.keyId}). ${witnessed} `
    + 'The keys come from this server: compare the key id with the one you keep, or run audit-verify --proof on the downloaded file.';
}

async function fetchText(path) {
  return (await api(path)).text();
}

async function proofAction(record, kind, status) {
  status.textContent = kind === 'download' ? 'Preparing the proof…' : 'Verifying…';
  status.dataset.outcome = 'busy';
  try {
    const text = await fetchText(`/api/v1/audit-logs/${encodeURIComponent(record.id)}/tlog-proof`);
    if (kind === 'download') {
      const name = saveBlob(new Blob([text], { type: 'text/plain' }), `audit-record-${record.id}.tlog-proof`);
      status.textContent = `Downloaded ${name}. Check it with: audit-verify --proof ${name} --policy POLICY`;
      status.dataset.outcome = 'downloaded';
      return;
    }
    const org = encodeURIComponent(record.orgId);
    const key = await (await api(`/api/v1/checkpoints/public-key?orgId=${org}`)).json();
    const policy = await fetchText(`/api/v1/checkpoints/policy?orgId=${org}`);
    status.textContent = proofOutcome(await verifyRecordProof(text, record, key.vkey, policy));
    status.dataset.outcome = 'verified';
  } catch (error) {
    const reason = error instanceof ProofError ? `Not verified: ${error.message}.` : (error.message || String(error));
    status.textContent = reason;
    status.dataset.outcome = error instanceof ProofError ? 'refused' : 'failed';
  }
}

function proofSection(record) {
  const status = h('p', { id: 'proof-status', class: 'proof-status', role: 'status' });
  const download = h('button', { type: 'button', id: 'proof-download' }, 'Download proof');
  const verify = h('button', { type: 'button', id: 'proof-verify' }, 'Verify in browser');
  download.addEventListener('click', () => proofAction(record, 'download', status));
  verify.addEventListener('click', () => proofAction(record, 'verify', status));
  return h('section', { class: 'detail-section', 'aria-labelledby': 'detail-proof' },
    h('h3', { id: 'detail-proof' }, 'Proof'),
    h('p', { class: 'muted' }, 'A tlog-proof file proves this record is in the organization\'s Merkle log, against a signed and witnessed checkpoint.'),
    h('div', { class: 'proof-actions' }, download, verify),
    status);
}

function openDetail(record, opener) {
  const dialog = $('detail');
  state.opener = opener || document.activeElement;
  const actor = record.userId || record.apiKeyId || titleCase(record.type);
  $('detail-title').textContent = `${record.resourceType} ${record.action}`;
  $('detail-subtitle').replaceChildren(
    h('span', { class: 'mono' }, record.resourceId), ' · by ', h('span', { class: 'mono' }, actor),
    ...delegations(record).flatMap(([label, id]) => [` ${label} `, h('span', { class: 'mono' }, id)]), ' · ',
    h('time', { datetime: record.occurredAt, title: timeTitle(record) }, localTime(record.occurredAt)));
  $('detail-body').replaceChildren(...detailContent(record));
  $('detail-body').scrollTop = 0;
  if (!dialog.open) dialog.showModal();
  $('detail-close').focus();
  if (state.eventId !== record.id) {
    state.eventId = record.id;
    writeUrl(false);
  }
}

function closedDetail() {
  if (state.eventId) {
    state.eventId = null;
    writeUrl(false);
  }
  const opener = state.opener;
  state.opener = null;
  if (opener && opener.isConnected) opener.focus();
  else $('results').focus();
}

async function openDeepLinkedEvent(id) {
  try {
    const response = await api(`/api/v1/audit-logs/${encodeURIComponent(id)}`);
    openDetail(await response.json(), $('results'));
  } catch (error) {
    if (error instanceof ViewerError && error.kind === 'notFound') {
      state.eventId = null;
      writeUrl(false);
      showError('The linked event was not found, or this link may not show it.');
      return;
    }
    handleFailure(error, 'Could not load the linked event.');
  }
}

// --- Download ------------------------------------------------------------------------------------
function fileNameFrom(disposition) {
  const match = /filename="?([^";]+)"?/i.exec(disposition || '');
  return match ? match[1] : null;
}

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Offers `blob` as a download named `name`; returns the name. */
function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
  return name;
}

async function download(format, button) {
  const problem = rangeProblem();
  if (problem) {
    showError(problem);
    return;
  }
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  showError('');
  announce(`Preparing the ${format.toUpperCase()} download…`);
  try {
    const query = apiQuery();
    query.set('format', format);
    const response = await api(`/api/v1/audit-logs/export?${query}`);
    const blob = await response.blob();
    const name = saveBlob(blob, fileNameFrom(response.headers.get('Content-Disposition')) || `audit-logs.${format}`);
    announce(`Downloaded ${name} (${formatBytes(blob.size)}).`);
  } catch (error) {
    handleFailure(error, 'Could not download the events.');
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

// --- Sharing -------------------------------------------------------------------------------------
/** Copies this view's address: the filters, never the token (it is not in the URL). */
async function copyLink() {
  const url = location.origin + location.pathname + location.search;
  try {
    await navigator.clipboard.writeText(url);
    announce('Link to this view copied. It opens with a viewer link of its own.');
  } catch (_) {
    announce(`Copy this link to share the view: ${url}`);
  }
}

// --- Wiring --------------------------------------------------------------------------------------
function wire() {
  const form = $('filters');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    applyFilters(readForm());
  });
  $('reset').addEventListener('click', () => {
    form.reset();
    state.filters = {};
    fillForm();
    applyFilters({});
  });
  $('f-range').addEventListener('change', () => {
    const range = $('f-range').value;
    const custom = range === 'custom';
    $('custom-from').hidden = !custom;
    $('custom-to').hidden = !custom;
    if (custom) {
      if (!$('f-from').value) {
        const span = PRESETS[state.filters.range] || PRESETS['24h'];
        $('f-from').value = toLocalInput(new Date(Date.now() - span).toISOString());
      }
      $('f-from').focus();
    } else {
      applyFilters(readForm());
    }
  });
  $('f-type').addEventListener('change', () => {
    state.filters.action = '';
    fillActions();
    applyFilters(readForm());
  });
  $('f-action').addEventListener('change', () => applyFilters(readForm()));
  $('page-size').addEventListener('change', () => {
    state.limit = Number($('page-size').value) || DEFAULT_LIMIT;
    writeUrl(true);
    resetPaging();
    load();
  });
  $('next').addEventListener('click', () => {
    if (!state.nextCursor) return;
    state.cursors[state.page + 1] = state.nextCursor;
    state.cursors.length = state.page + 2;
    state.page += 1;
    load().then(() => $('results').focus());
  });
  $('prev').addEventListener('click', () => {
    if (state.page === 0) return;
    state.page -= 1;
    load().then(() => $('results').focus());
  });
  $('rows').addEventListener('click', (event) => {
    const row = event.target.closest('tr[data-index]');
    if (!row) return;
    const record = state.records[Number(row.dataset.index)];
    if (record) openDetail(record, row.querySelector('.row-open'));
  });
  const dialog = $('detail');
  $('detail-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', closedDetail);
  dialog.addEventListener('click', (event) => {
    // A click on the backdrop (the dialog element itself, outside its content) closes it.
    if (event.target === dialog) dialog.close();
  });
  $('live').addEventListener('change', () => {
    if (!$('live').checked) {
      stopLive();
      announce('Live updates off.');
    } else if (state.page !== 0) {
      resetPaging();
      load();
    } else {
      startLive();
      announce('Live updates on.');
    }
  });
  $('copy-link').addEventListener('click', copyLink);
  $('download-csv').addEventListener('click', (event) => download('csv', event.currentTarget));
  $('download-jsonl').addEventListener('click', (event) => download('jsonl', event.currentTarget));
  window.addEventListener('popstate', () => {
    if (state.reloading || hashToken()) return;
    readUrl();
    fillForm();
    resetPaging();
    if (!state.eventId && dialog.open) dialog.close();
    load();
    if (state.eventId && !dialog.open) openDeepLinkedEvent(state.eventId);
  });
}

async function loadCatalog() {
  try {
    const response = await api('/api/v1/catalog');
    const catalog = await response.json();
    state.catalog = (catalog.resourceTypes || [])
      .filter((entry) => entry && typeof entry.resourceType === 'string')
      .map((entry) => ({ resourceType: entry.resourceType, actions: Array.isArray(entry.actions) ? entry.actions : [] }))
      .sort((a, b) => a.resourceType.localeCompare(b.resourceType));
  } catch (error) {
    if (error instanceof ViewerError && (error.kind === 'expired' || error.kind === 'invalid')) throw error;
    state.catalog = [];
  }
  fillTypes();
}

/** A new link opened in the same tab only changes the fragment: start over with its token. */
function watchNewLinks() {
  const adopt = () => {
    if (!hashToken() || state.reloading) return;
    state.reloading = true;
    state.loadSeq += 1;
    takeToken();
    location.reload();
  };
  window.addEventListener('hashchange', adopt);
  // A fragment navigation fires popstate first; the new link wins over the filter handling.
  window.addEventListener('popstate', adopt);
}

async function start() {
  watchNewLinks();
  state.token = takeToken();
  if (!state.token) {
    showGate('missing');
    return;
  }
  state.grant = decodeGrant(state.token);
  readUrl();
  $('app').hidden = false;
  $('gate').hidden = true;
  $('events').querySelector('.col-time').textContent = `Time (${timeZoneName()})`;
  showScope();
  watchExpiry();
  wire();
  fillForm();
  try {
    await loadCatalog();
  } catch (error) {
    handleFailure(error);
    return;
  }
  await load();
  if (state.eventId && $('gate').hidden) await openDeepLinkedEvent(state.eventId);
}

start();
