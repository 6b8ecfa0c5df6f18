// Tuatención — «Anotaciones»: the content team's inbox of masked citizen messages.
// Uses the desk's session (same tab: sessionStorage). Keyboard first: j/k move, 1–5 pick one of
// the assistant's alternatives, c saves, n marks noise, s skips, / searches the intent.

const TOKEN_KEY = 'tuatencion.desk.token';
const AGENT_KEY = 'tuatencion.desk.agent';
const API = '/api/desk/nlu';
const EDITORS = ['contenidos', 'admin'];
const READERS = [...EDITORS, 'analista'];
const PLACEHOLDER = /\[[A-Z][A-Z0-9_]*\]/g;
const OUTCOMES = { answered: 'Respondido', fallback: 'No entendido', handoff: 'Derivado a persona' };
const STATUSES = { pending: 'Pendiente', annotated: 'Anotado', noise: 'Ruido' };
const CHANNELS = { webchat: 'Chat web', telegram: 'Telegram', whatsapp: 'WhatsApp', voice: 'Teléfono', email: 'Correo' };

const $ = (id) => document.getElementById(id);
const decimal = new Intl.NumberFormat('es-ES', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const when = new Intl.DateTimeFormat('es-ES', { dateStyle: 'short', timeStyle: 'short' });

const state = {
  token: null,
  agent: null,
  canEdit: false,
  items: [],
  index: -1,
  cursor: null,
  current: null,
  spans: [],
  skipped: [],
  catalogue: { intents: [], entities: [] },
  busy: false,
};

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function session() {
  try {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const agent = JSON.parse(sessionStorage.getItem(AGENT_KEY) || 'null');
    return token ? { token, agent } : null;
  } catch {
    return null;
  }
}

function showLogin() {
  $('ann-app').hidden = true;
  $('ann-login').hidden = false;
}

function showError(text) {
  $('ann-error').textContent = text || '';
  $('ann-error').hidden = !text;
}

function notice(text) {
  $('ann-notice').textContent = text || '';
}

async function api(method, path, body) {
  const options = { method, headers: { Authorization: `Bearer ${state.token}` } };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`${API}${path}`, options);
  } catch {
    throw new ApiError(-1, 'No hay conexión con el servidor. Inténtelo de nuevo.');
  }
  if (response.status === 401) {
    showLogin();
    throw new ApiError(401, 'Sesión caducada.');
  }
  if (!response.ok) {
    let detail = 'No se ha podido completar la operación. Inténtelo de nuevo.';
    try {
      const data = await response.json();
      if (typeof data.detail === 'string') detail = data.detail;
      else if (Array.isArray(data.detail) && data.detail[0]?.msg) detail = data.detail[0].msg;
    } catch {
      // not JSON: keep the general sentence
    }
    throw new ApiError(response.status, detail);
  }
  if (response.status === 204) return null;
  return response;
}

async function json(method, path, body) {
  const response = await api(method, path, body);
  return response ? response.json() : null;
}

function filterParams() {
  const params = new URLSearchParams();
  for (const [name, id] of [['status', 'f-status'], ['outcome', 'f-outcome'], ['intent', 'f-intent'],
    ['channel', 'f-channel'], ['from', 'f-from'], ['to', 'f-to'], ['q', 'f-q'], ['max_confidence', 'f-max']]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function pct(value) {
  return value === null || value === undefined ? '—' : decimal.format(value);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children);
  return node;
}

/* ------------------------------------------------------------------ header */

async function loadStats() {
  const s = await json('GET', '/stats');
  const r = s.pending_by_reason;
  $('ann-stats').textContent =
    `Pendientes: ${s.pending} (no entendidos ${r.fallback}, derivados ${r.handoff}, ` +
    `baja confianza ${r.low_confidence}, mal valorados ${r.bad_rating}, ` +
    `tema corregido ${r.topic_corrected}) · Hechos hoy: usted ${s.done_today_by_me}, ` +
    `equipo ${s.done_today_by_team}`;
}

async function loadCatalogue() {
  state.catalogue = await json('GET', '/catalogue');
  const list = $('ann-intents');
  list.replaceChildren(...state.catalogue.intents.map((name) => el('option', { value: name })));
  const filter = $('f-intent');
  filter.append(...state.catalogue.intents.map((name) => el('option', { value: name, text: name })));
  $('ann-entity').replaceChildren(
    ...state.catalogue.entities.map((name) => el('option', { value: name, text: name })),
  );
}

/* ------------------------------------------------------------------ list */

function itemButton(item, position) {
  const meta = [OUTCOMES[item.outcome] || item.outcome, item.intent || 'sin intención',
    pct(item.confidence), STATUSES[item.status]];
  if (item.claimed_by_other) meta.push('en revisión por otra persona');
  const button = el('button', {
    type: 'button',
    class: 'item',
    'data-id': String(item.id),
    'aria-current': position === state.index ? 'true' : 'false',
  },
  el('span', { class: 'item-text', text: item.text }),
  el('span', { class: 'item-meta', text: meta.join(' · ') }));
  button.addEventListener('click', () => select(position));
  return el('li', {}, button);
}

function renderList() {
  const list = $('ann-list');
  list.replaceChildren(...state.items.map((item, i) => itemButton(item, i)));
  $('ann-empty').hidden = state.items.length > 0;
  $('ann-more').hidden = !state.cursor;
}

async function loadList({ more = false } = {}) {
  const params = filterParams();
  params.set('limit', '50');
  if (more && state.cursor) params.set('after', state.cursor);
  const page = await json('GET', `/turns?${params}`);
  state.items = more ? [...state.items, ...page.items] : page.items;
  state.cursor = page.next_cursor;
  if (state.current) state.index = state.items.findIndex((i) => i.id === state.current.id);
  renderList();
}

function select(position) {
  if (position < 0 || position >= state.items.length) return;
  state.index = position;
  open(state.items[position]);
  for (const button of $('ann-list').querySelectorAll('.item')) {
    button.setAttribute('aria-current', button.dataset.id === String(state.current.id) ? 'true' : 'false');
  }
  const active = $('ann-list').querySelector('.item[aria-current="true"]');
  if (active) active.scrollIntoView({ block: 'nearest' });
}

/* ------------------------------------------------------------------ editor */

function textNodes(text) {
  // Placeholders ([DNI], [EMAIL_1]…) stand out: they are not words the citizen wrote.
  const nodes = [];
  let position = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (match.index > position) nodes.push(document.createTextNode(text.slice(position, match.index)));
    nodes.push(el('span', { class: 'ph', title: 'Dato personal oculto', text: match[0] }));
    position = match.index + match[0].length;
  }
  if (position < text.length) nodes.push(document.createTextNode(text.slice(position)));
  return nodes;
}

function renderText() {
  const text = state.current.text;
  const nodes = [];
  let position = 0;
  for (const span of [...state.spans].sort((a, b) => a.start - b.start)) {
    nodes.push(...textNodes(text.slice(position, span.start)));
    nodes.push(el('mark', { class: 'entity', 'data-entity': span.entity }, text.slice(span.start, span.end)));
    position = span.end;
  }
  nodes.push(...textNodes(text.slice(position)));
  $('ann-text').replaceChildren(...nodes);
  const spans = $('ann-spans');
  spans.replaceChildren(...state.spans.map((span, i) => {
    const remove = el('button', { type: 'button', class: 'secondary', text: 'Quitar',
      'aria-label': `Quitar la entidad ${span.entity} «${text.slice(span.start, span.end)}»` });
    remove.addEventListener('click', () => {
      state.spans.splice(i, 1);
      renderText();
    });
    return el('li', {}, el('span', { text: `${span.entity}: «${text.slice(span.start, span.end)}»` }), remove);
  }));
}

function open(item) {
  state.current = item;
  showError('');
  $('ann-editor').hidden = false;
  const badges = item.badges.map((b) => el('li', { class: `badge badge--${b.kind}`, text: b.label }));
  if (item.claimed_by_other) badges.push(el('li', { class: 'badge badge--claimed', text: 'En revisión por otra persona' }));
  $('ann-badges').replaceChildren(...badges);
  $('ann-badges').hidden = badges.length === 0;
  const reviewed = item.reviewed_by ? ` · anotado por ${item.reviewed_by}` : '';
  $('ann-meta').textContent = `${CHANNELS[item.channel] || item.channel} · ${when.format(new Date(item.created_at))} · ` +
    `${OUTCOMES[item.outcome] || item.outcome} · ${STATUSES[item.status]}${reviewed}`;
  $('ann-predicted').textContent = item.intent || 'ninguna';
  $('ann-confidence').value = item.confidence ?? 0;
  $('ann-confidence-text').textContent = pct(item.confidence);
  $('ann-ranking').replaceChildren(...item.ranking.map((r, i) => {
    const choose = el('button', { type: 'button', class: 'secondary', text: `${i + 1}. ${r.intent}` });
    choose.addEventListener('click', () => chooseRanking(i));
    return el('li', {}, choose,
      el('span', { class: 'bar', style: `width:${Math.round(r.confidence * 8)}rem`, 'aria-hidden': 'true' }),
      el('span', { text: pct(r.confidence) }));
  }));
  const predicted = item.intent && item.intent !== 'nlu_fallback' ? item.intent : '';
  $('ann-intent').value = item.reviewed_intent || predicted;
  const source = item.reviewed_entities ?? item.entities;
  state.spans = source
    .filter((s) => item.text.slice(s.start, s.end) === (s.value ?? item.text.slice(s.start, s.end)))
    .filter((s) => state.catalogue.entities.includes(s.entity))
    .map((s) => ({ entity: s.entity, start: s.start, end: s.end }));
  renderText();
  $('ann-reopen').hidden = !state.canEdit || item.status === 'pending';
}

function chooseRanking(i) {
  const ranked = state.current?.ranking[i];
  if (!ranked || ranked.intent === 'nlu_fallback') return;
  $('ann-intent').value = ranked.intent;
  notice(`Intención elegida: ${ranked.intent}.`);
}

function offsetIn(container, node, offset) {
  const range = document.createRange();
  range.selectNodeContents(container);
  range.setEnd(node, offset);
  return range.toString().length;
}

function markEntity() {
  const selection = window.getSelection();
  const container = $('ann-text');
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed
      || !container.contains(selection.anchorNode) || !container.contains(selection.focusNode)) {
    showError('Seleccione primero las palabras del mensaje que forman la entidad.');
    return;
  }
  const range = selection.getRangeAt(0);
  let start = offsetIn(container, range.startContainer, range.startOffset);
  let end = offsetIn(container, range.endContainer, range.endOffset);
  const text = state.current.text;
  while (start < end && /\s/.test(text[start])) start += 1;
  while (end > start && /\s/.test(text[end - 1])) end -= 1;
  if (start >= end) return;
  if (state.spans.some((s) => s.start < end && start < s.end)) {
    showError('Esas palabras ya forman parte de otra entidad: quítela antes.');
    return;
  }
  state.spans.push({ entity: $('ann-entity').value, start, end });
  selection.removeAllRanges();
  showError('');
  renderText();
  notice(`Entidad ${$('ann-entity').value} marcada: «${text.slice(start, end)}».`);
}

/* ------------------------------------------------------------------ actions */

async function refresh() {
  await Promise.all([loadStats(), loadList()]);
}

async function next() {
  if (!state.canEdit) {
    if (state.items.length) select(0);
    return;
  }
  const params = filterParams();
  params.delete('status');
  const found = await json('POST', `/next?${params}`, { skip: state.skipped.slice(-500) });
  if (!found.item) {
    state.current = null;
    $('ann-editor').hidden = true;
    notice('No quedan mensajes pendientes con estos filtros.');
    return;
  }
  open(found.item);
  state.index = state.items.findIndex((i) => i.id === found.item.id);
  renderList();
}

async function run(work) {
  if (state.busy) return;
  state.busy = true;
  try {
    await work();
  } catch (error) {
    if (error.status !== 401) showError(error.message);
    if (error.status === 409 && state.current) {
      try {
        const fresh = await json('GET', `/turns/${state.current.id}`);
        open(fresh);
        showError(error.message);
        await refresh();
      } catch {
        // the error above is what matters
      }
    }
  } finally {
    state.busy = false;
  }
}

async function annotate(body, done) {
  const item = state.current;
  await json('POST', `/turns/${item.id}/annotation`, { version: item.version, ...body });
  notice(done);
  await refresh();
  await next();
}

function save() {
  if (!state.current || !state.canEdit) return;
  const intent = $('ann-intent').value.trim();
  if (!intent) {
    showError('Elija la intención correcta del mensaje.');
    $('ann-intent').focus();
    return;
  }
  if (!state.catalogue.intents.includes(intent)) {
    showError(`«${intent}» no es una intención del asistente. Elija una de la lista.`);
    $('ann-intent').focus();
    return;
  }
  const action = intent === state.current.intent ? 'confirm' : 'correct';
  const label = action === 'confirm' ? 'Confirmado' : 'Corregido';
  run(() => annotate({ action, intent, entities: state.spans }, `${label}: ${intent}.`));
}

function noise() {
  if (!state.current || !state.canEdit) return;
  run(() => annotate({ action: 'noise' }, 'Marcado como ruido.'));
}

function reopen() {
  if (!state.current || !state.canEdit) return;
  run(async () => {
    const item = state.current;
    const saved = await json('POST', `/turns/${item.id}/annotation`, { action: 'reopen', version: item.version });
    open(saved);
    notice('Reabierto: vuelve a estar pendiente.');
    await refresh();
  });
}

function skip() {
  if (!state.current || !state.canEdit) return;
  run(async () => {
    const id = state.current.id;
    state.skipped.push(id);
    await api('POST', `/turns/${id}/release`);
    notice('Saltado.');
    await next();
  });
}

async function download() {
  const response = await api('GET', '/export.yml');
  const blob = await response.blob();
  const link = el('a', { href: URL.createObjectURL(blob), download: 'anotaciones.yml' });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  notice('anotaciones.yml descargado.');
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = event.target.closest('input, select, textarea');
  if (typing) {
    if (event.key === 'Escape') event.target.blur();
    return;
  }
  if (event.target.closest('summary')) return;
  const key = event.key;
  if (key === 'j') select(state.index + 1);
  else if (key === 'k') select(state.index - 1);
  else if (/^[1-5]$/.test(key)) chooseRanking(Number(key) - 1);
  else if (key === 'c') save();
  else if (key === 'n') noise();
  else if (key === 's') skip();
  else if (key === '/') $('ann-intent').focus();
  else return;
  event.preventDefault();
}

function bind() {
  $('ann-form').addEventListener('submit', (event) => {
    event.preventDefault();
    save();
  });
  $('ann-noise').addEventListener('click', noise);
  $('ann-skip').addEventListener('click', skip);
  $('ann-reopen').addEventListener('click', reopen);
  $('ann-mark').addEventListener('click', markEntity);
  $('ann-more').addEventListener('click', () => run(() => loadList({ more: true })));
  $('ann-download').addEventListener('click', () => run(download));
  $('ann-filters').addEventListener('submit', (event) => {
    event.preventDefault();
    state.skipped = [];
    run(async () => {
      await refresh();
      await next();
    });
  });
  $('ann-logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(AGENT_KEY);
    window.location.assign('/desk');
  });
  document.addEventListener('keydown', onKey);
}

async function start() {
  const auth = session();
  if (!auth) {
    showLogin();
    return;
  }
  state.token = auth.token;
  state.agent = auth.agent;
  const role = auth.agent?.role;
  $('ann-app').hidden = false;
  $('ann-desk-link').hidden = role !== 'admin';
  if (!READERS.includes(role)) {
    showError('Su perfil no puede usar esta página: la usan el equipo de contenidos y la administración.');
    return;
  }
  state.canEdit = EDITORS.includes(role);
  for (const id of ['ann-confirm', 'ann-noise', 'ann-skip', 'ann-mark']) $(id).hidden = !state.canEdit;
  $('ann-download').hidden = !state.canEdit;
  if (!state.canEdit) $('ann-intent').readOnly = true;
  bind();
  await run(async () => {
    await loadCatalogue();
    await refresh();
    await next();
  });
}

start();
