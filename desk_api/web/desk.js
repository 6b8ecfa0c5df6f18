// Tuatención — Escritorio del Informador.
// Contrato: docs/api.md (prefijo /api/desk). JavaScript sin dependencias ni compilación.
// Todo texto recibido se pinta con textContent / nodos de texto: nunca innerHTML.

const API_BASE = '/api/desk';
const TOKEN_KEY = 'tuatencion.desk.token';
const AGENT_KEY = 'tuatencion.desk.agent';
const BASE_TITLE = 'Escritorio del Informador — Tuatención';
const VIEWS = ['queue', 'mine', 'waiting', 'snoozed', 'unit', 'resolved', 'all'];
// Listas que se cargan siempre (con su contador en la pestaña); las demás, al abrirlas.
const COUNTED_VIEWS = ['queue', 'mine', 'waiting'];
const PAGE_SIZE = 50;
const MAX_PAGE = 200;
const TOAST_MS = 9000;
const POLL_MS = 20000;
const TICK_MS = 30000;
const listBadges = []; // (conversation) => element | null, added by feature modules

const ROLE_LABELS = { n1: 'Informador N1', n2: 'Especialista N2', supervisor: 'Supervisión', admin: 'Administrador' };
const TIER_LABELS = { n1: 'N1', n2: 'N2' };
const STATE_LABELS = {
  bot: 'Con el asistente',
  queued: 'En cola',
  assigned: 'Asignada',
  resolved: 'Resuelta',
};
const REASON_LABELS = {
  citizen_request: 'Lo pidió el ciudadano',
  low_confidence: 'El asistente no entendió',
  bot_unavailable: 'El asistente no estaba disponible',
  direct_to_desk: 'Canal sin asistente: directo a atención',
  in_person: 'Atención presencial',
};
const CHANNEL_LABELS = {
  webchat: 'Chat web',
  web: 'Chat web',
  whatsapp: 'WhatsApp',
  telegram: 'Telegram',
  email: 'Correo electrónico',
  sms: 'SMS',
  phone: 'Teléfono',
  voice: 'Teléfono',
  voz: 'Teléfono',
  presencial: 'Presencial',
  app: 'Aplicación móvil',
};
const ACTOR_LABELS = {
  citizen: 'Ciudadano',
  bot: 'Asistente virtual',
  agent: 'Informador',
  system: 'Sistema',
};
const ACTION_LABELS = {
  start: 'Conversación iniciada',
  created: 'Conversación iniciada',
  started: 'Conversación iniciada',
  handoff: 'Traspaso a una persona',
  handed_off: 'Traspaso a una persona',
  handoff_requested: 'Traspaso a una persona',
  queued: 'Puesta en cola',
  take: 'Atendida por un informador',
  taken: 'Atendida por un informador',
  assigned: 'Atendida por un informador',
  reply: 'Respuesta de un informador',
  agent_message: 'Respuesta de un informador',
  agent_reply: 'Respuesta de un informador',
  message: 'Mensaje',
  derive: 'Derivada a N2',
  derived: 'Derivada a N2',
  resolve: 'Resuelta',
  resolved: 'Resuelta',
  login: 'Inicio de sesión',
  'delivery.failed': 'Mensaje no entregado',
  'delivery.retry': 'Reenvío de un mensaje',
  'attention.created': 'Atención presencial registrada',
  'task.created': 'Llamada pendiente creada',
  'task.done': 'Llamada hecha',
  'miespacio.signed_up': 'Alta en Miespacio',
  'note.added': 'Nota interna añadida',
  'label.added': 'Etiqueta añadida',
  'label.removed': 'Etiqueta quitada',
  // Asignación (desk-assignment.js)
  assign: 'Asignada automáticamente',
  reassign: 'Reasignada por la supervisión',
  return: 'Devuelta a N1 por la unidad',
  snooze: 'Pospuesta',
  'snooze.wake': 'Vuelve de «Pospuestas»',
};
const EMPTY_LIST_TEXT = {
  queue: 'No hay conversaciones esperando en su cola.',
  mine: 'No tiene conversaciones abiertas asignadas.',
  waiting: 'Ninguna de sus conversaciones espera la respuesta del ciudadano.',
  snoozed: 'No tiene conversaciones pospuestas.',
  unit: 'No hay conversaciones de su unidad.',
  resolved: 'No hay conversaciones resueltas que pueda ver.',
  all: 'No hay conversaciones que pueda ver.',
};

function emptyLists() {
  return Object.fromEntries(VIEWS.map((v) => [v, []]));
}

/* ================================================================== utilidades */

const $ = (id) => document.getElementById(id);

// Crea un elemento. Los hijos de tipo cadena se añaden como nodos de texto (seguro).
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function genericMessage(status) {
  if (status === 0) return 'No se ha podido conectar con el servidor. Compruebe la conexión.';
  if (status === 401) return 'Su sesión no es válida. Vuelva a iniciar sesión.';
  if (status === 403) return 'No tiene permiso para realizar esta acción.';
  if (status === 404) return 'La conversación no existe o no tiene acceso a ella.';
  if (status === 409) return 'La conversación ha cambiado de estado. Se ha actualizado la vista.';
  if (status === 422) return 'Los datos enviados no son válidos.';
  return 'Error del servidor. Inténtelo de nuevo en unos instantes.';
}

function detailOf(data, status) {
  const detail = data && data.detail;
  if (typeof detail === 'string' && detail.trim()) return detail.trim();
  if (Array.isArray(detail)) {
    const parts = detail.map((d) => (d && typeof d.msg === 'string' ? d.msg : '')).filter(Boolean);
    if (parts.length) return parts.join(' ');
  }
  return genericMessage(status);
}

// Tell the citizen the agent is writing, at most every 3 seconds (best effort).
let lastTypingAt = 0;
function announceTyping() {
  const id = state.selectedId;
  // A private note is not the citizen's business: no «escribiendo…» for it.
  if (!id || state.noteMode || els.replyText.disabled || !els.replyText.value.trim()) return;
  const now = Date.now();
  if (now - lastTypingAt < 3000) return;
  lastTypingAt = now;
  api('POST', `/conversations/${encodeURIComponent(id)}/typing`).catch(() => {});
}

async function api(method, path, { body, auth = true, raw = false } = {}) {
  const session = state.session;
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth && state.token) headers.Authorization = `Bearer ${state.token}`;
  let response;
  try {
    response = await fetch(API_BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, genericMessage(0));
  }
  let data = null;
  try {
    const text = await response.text();
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, detailOf(data, response.status));
    error.data = data;
    if (auth && response.status === 401 && session === state.session && state.token) {
      logout('Su sesión ha caducado o no es válida. Vuelva a iniciar sesión.');
    }
    throw error;
  }
  if (auth && session !== state.session) {
    // La sesión cambió mientras esperábamos: la respuesta ya no interesa.
    throw new ApiError(-1, 'stale');
  }
  return raw ? { data, headers: response.headers } : data;
}

const timeFormat = new Intl.DateTimeFormat('es-ES', { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat('es-ES', {
  day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit',
});
const longFormat = new Intl.DateTimeFormat('es-ES', {
  weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const percentFormat = new Intl.NumberFormat('es-ES', { style: 'percent', maximumFractionDigits: 0 });

function parseDate(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

function isToday(date) {
  const now = new Date();
  return date.getFullYear() === now.getFullYear()
    && date.getMonth() === now.getMonth()
    && date.getDate() === now.getDate();
}

function timeEl(iso, { full = false } = {}) {
  const date = parseDate(iso);
  if (!date) return h('span', {}, '—');
  const text = !full && isToday(date) ? timeFormat.format(date) : dateTimeFormat.format(date);
  return h('time', { datetime: date.toISOString(), title: longFormat.format(date) }, text);
}

function formatAgo(iso) {
  const date = parseDate(iso);
  if (!date) return '';
  const minutes = Math.max(0, Math.floor((Date.now() - date.getTime()) / 60000));
  if (minutes < 1) return 'hace menos de 1 min';
  if (minutes < 60) return `hace ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    const rest = minutes % 60;
    return rest ? `hace ${hours} h ${rest} min` : `hace ${hours} h`;
  }
  const days = Math.floor(hours / 24);
  return days === 1 ? 'hace 1 día' : `hace ${days} días`;
}

// Texto relativo que se refresca solo cada TICK_MS (ver tick()).
function agoEl(prefix, iso) {
  const date = parseDate(iso);
  if (!date) return h('span', {}, '');
  return h(
    'time',
    { class: 'js-ago', datetime: date.toISOString(), title: longFormat.format(date), 'data-prefix': prefix },
    `${prefix}${formatAgo(iso)}`,
  );
}

function label(map, key, fallback = '—') {
  if (key === null || key === undefined || key === '') return fallback;
  return map[key] || String(key);
}

function shortId(id) {
  return String(id || '').slice(0, 8);
}

function slotValue(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'boolean') return value ? 'Sí' : 'No';
  if (typeof value === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

function decodeJwtExp(token) {
  try {
    const part = token.split('.')[1];
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const payload = JSON.parse(json);
    return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

function show(el, visible) {
  el.hidden = !visible;
}

function setAlert(el, text) {
  el.textContent = text || '';
  el.hidden = !text;
}

const sizeFormat = new Intl.NumberFormat('es-ES', { maximumFractionDigits: 1 });

function formatBytes(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${sizeFormat.format(n / 1024)} kB`;
  return `${sizeFormat.format(n / (1024 * 1024))} MB`;
}

const dayFormat = new Intl.DateTimeFormat('es-ES', {
  weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
});

// «2026-12-07» (a day, no time) → «lunes, 7 de diciembre de 2026».
function dayText(isoDay) {
  const [y, m, d] = String(isoDay || '').split('-').map(Number);
  if (!y || !m || !d) return isoDay || '—';
  return dayFormat.format(new Date(y, m - 1, d));
}

// Files are only served with the agent's token: fetch them, never link to them directly.
async function fetchBlob(path) {
  let response;
  try {
    response = await fetch(API_BASE + path, {
      headers: { Authorization: `Bearer ${state.token}` },
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, genericMessage(0));
  }
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    throw new ApiError(response.status, detailOf(data, response.status));
  }
  return response.blob();
}

/* ================================================================== estado */

const els = {
  loginView: $('login-view'),
  loginForm: $('login-form'),
  loginUser: $('login-username'),
  loginPass: $('login-password'),
  loginSubmit: $('login-submit'),
  loginError: $('login-error'),
  loginInfo: $('login-info'),
  appView: $('app-view'),
  agentName: $('agent-name'),
  agentRole: $('agent-role'),
  logout: $('logout-button'),
  wsStatus: $('ws-status'),
  wsStatusText: $('ws-status-text'),
  tabs: VIEWS.map((v) => $(`tab-${v}`)),
  counts: Object.fromEntries(COUNTED_VIEWS.map((v) => [v, $(`count-${v}`)])),
  listMore: $('list-more'),
  inbox: $('inbox'),
  filterChannel: $('filter-channel'),
  filterCategory: $('filter-category'),
  filterLabel: $('filter-label'),
  filterDeadline: $('filter-deadline'),
  searchForm: $('search-form'),
  searchQ: $('search-q'),
  searchError: $('search-error'),
  searchResults: $('search-results'),
  searchTitle: $('search-title'),
  searchStatus: $('search-status'),
  searchList: $('search-list'),
  searchClose: $('search-close'),
  labelsList: $('labels-list'),
  labelAdd: $('label-add'),
  labelAddButton: $('label-add-button'),
  noteToggle: $('note-toggle'),
  replyLabel: $('reply-label'),
  cannedList: $('canned-list'),
  cannedStatus: $('canned-status'),
  panel: $('conversation-panel'),
  listStatus: $('list-status'),
  list: $('conversation-list'),
  detail: $('detail'),
  detailEmpty: $('detail-empty'),
  detailContent: $('detail-content'),
  detailTitle: $('detail-title'),
  detailMeta: $('detail-meta'),
  detailError: $('detail-error'),
  btnTake: $('btn-take'),
  btnDerive: $('btn-derive'),
  btnResolve: $('btn-resolve'),
  handoffBody: $('handoff-body'),
  derivations: $('derivations'),
  derivationsList: $('derivations-list'),
  history: $('history'),
  historyStatus: $('history-status'),
  historyList: $('history-list'),
  historyExtra: $('history-extra'),
  transcript: $('transcript'),
  typing: $('typing-indicator'),
  replyForm: $('reply-form'),
  replyText: $('reply-text'),
  assistForm: $('assist-form'),
  assistQuery: $('assist-query'),
  assistStatus: $('assist-status'),
  assistList: $('assist-list'),
  replySend: $('reply-send'),
  replyHint: $('reply-hint'),
  replyError: $('reply-error'),
  auditPanel: $('audit-panel'),
  auditContent: $('audit-content'),
  toasts: $('toasts-live'),
  deriveDialog: $('derive-dialog'),
  deriveForm: $('derive-form'),
  deriveUnit: $('derive-unit'),
  deriveReason: $('derive-reason'),
  deriveUnitError: $('derive-unit-error'),
  deriveReasonError: $('derive-reason-error'),
  deriveError: $('derive-error'),
  deriveSubmit: $('derive-submit'),
  deriveCancel: $('derive-cancel'),
  resolveDialog: $('resolve-dialog'),
  resolveForm: $('resolve-form'),
  resolveNote: $('resolve-note'),
  resolveError: $('resolve-error'),
  resolveSubmit: $('resolve-submit'),
  resolveCancel: $('resolve-cancel'),
};

const state = {
  session: 0, // cambia en cada inicio / cierre de sesión
  assistRequest: 0, // descarta respuestas de sugerencias de una conversación anterior
  token: null,
  agent: null,
  view: 'queue',
  lists: emptyLists(),
  cursors: {}, // vista → cursor de la página siguiente (cabecera X-Next-Cursor)
  loadedViews: new Set(),
  filters: { channel: '', label: '', deadline: '', category: '' },
  labelCatalogue: [],
  detailLabels: [],
  labelsFor: null,
  notes: [],
  notesFor: null,
  noteMode: false,
  canned: null, // respuestas predefinidas que puede usar (se cargan al escribir «/»)
  cannedMatches: [],
  cannedActive: -1,
  cannedToken: null, // { start, end } del «/atajo» en el texto
  searchRequest: 0,
  pendingScroll: null, // { conversationId, messageId }: abrir un resultado de la búsqueda
  listsLoaded: false,
  listsError: '',
  selectedId: null,
  detail: null,
  detailRequest: 0,
  transcriptFor: null,
  transcriptIds: new Set(),
  transcriptFiles: new Map(), // id del mensaje → n.º de adjuntos pintados
  objectUrls: new Set(), // miniaturas: se liberan al cambiar de conversación
  deliveries: [], // el buzón de salida de la conversación abierta
  retrying: new Set(), // entregas reenviadas desde aquí, aún sin resultado
  deliveryTimer: null,
  typingTimer: null,
  historyFor: null, // «citizen_id|conversation_id» del historial pintado
  historyRequest: 0,
  callbacksTimer: null,
  unread: new Set(),
  drafts: new Map(),
  units: null,
  newQueued: 0,
  busy: false,
  ws: null,
  wsWanted: false,
  wsAttempt: 0,
  wsTimer: null,
  refreshTimer: null,
  detailTimer: null,
  refreshing: null,
  refreshAgain: false,
  pollTimer: null,
  tickTimer: null,
  expiryTimer: null,
};

/* ================================================================== sesión */

function saveSession(token, agent) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(AGENT_KEY, JSON.stringify(agent));
  } catch {
    /* sin almacenamiento: la sesión dura lo que la pestaña */
  }
}

function clearSession() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(AGENT_KEY);
  } catch {
    /* nada */
  }
}

function loadSession() {
  try {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const agent = JSON.parse(sessionStorage.getItem(AGENT_KEY) || 'null');
    return token ? { token, agent } : null;
  } catch {
    return null;
  }
}

function showLogin(info = '') {
  show(els.appView, false);
  show(els.loginView, true);
  setAlert(els.loginInfo, info);
  setAlert(els.loginError, '');
  els.loginPass.value = '';
  els.loginSubmit.disabled = false;
  els.loginSubmit.textContent = 'Iniciar sesión';
  document.title = `Acceso — ${BASE_TITLE}`;
  els.loginUser.focus();
}

function logout(info = '') {
  state.session += 1;
  state.token = null;
  state.agent = null;
  clearSession();
  closeWs();
  for (const t of ['refreshTimer', 'detailTimer', 'expiryTimer', 'wsTimer']) clearTimeout(state[t]);
  clearInterval(state.pollTimer);
  clearInterval(state.tickTimer);
  for (const dialog of [els.deriveDialog, els.resolveDialog]) {
    if (dialog.open) dialog.close();
  }
  state.lists = emptyLists();
  state.cursors = {};
  state.loadedViews = new Set();
  state.filters = { channel: '', label: '', deadline: '', category: '' };
  els.filterChannel.value = '';
  els.filterDeadline.value = '';
  els.filterCategory.value = '';
  els.filterLabel.value = '';
  state.labelCatalogue = [];
  state.detailLabels = [];
  state.labelsFor = null;
  state.notes = [];
  state.notesFor = null;
  state.canned = null;
  closeCanned();
  setNoteMode(false);
  closeSearch({ focus: false });
  state.listsLoaded = false;
  state.selectedId = null;
  state.detail = null;
  state.transcriptFor = null;
  state.transcriptIds = new Set();
  state.transcriptFiles = new Map();
  releaseObjectUrls();
  state.deliveries = [];
  state.retrying.clear();
  state.historyFor = null;
  clearTimeout(state.deliveryTimer);
  clearInterval(state.callbacksTimer);
  hideTyping();
  showSection(null);
  state.unread.clear();
  state.drafts.clear();
  state.units = null;
  state.newQueued = 0;
  els.list.replaceChildren();
  els.transcript.replaceChildren();
  els.toasts.replaceChildren();
  els.replyText.value = '';
  showDetail(false);
  if (window.location.hash) history.replaceState(null, '', window.location.pathname);
  showLogin(info);
}

async function onLoginSubmit(event) {
  event.preventDefault();
  const username = els.loginUser.value.trim();
  const password = els.loginPass.value;
  els.loginUser.removeAttribute('aria-invalid');
  els.loginPass.removeAttribute('aria-invalid');
  setAlert(els.loginInfo, '');
  if (!username || !password) {
    if (!username) els.loginUser.setAttribute('aria-invalid', 'true');
    if (!password) els.loginPass.setAttribute('aria-invalid', 'true');
    setAlert(els.loginError, 'Introduzca su usuario y su contraseña.');
    (username ? els.loginPass : els.loginUser).focus();
    return;
  }
  setAlert(els.loginError, '');
  els.loginSubmit.disabled = true;
  els.loginSubmit.textContent = 'Iniciando sesión…';
  try {
    const data = await api('POST', '/auth/login', { body: { username, password }, auth: false });
    if (!data || !data.access_token) throw new ApiError(500, genericMessage(500));
    els.loginPass.value = '';
    startSession(data.access_token, data.agent);
  } catch (error) {
    const text = error.status === 401
      ? (error.message && error.message !== genericMessage(401)
        ? error.message
        : 'Usuario o contraseña incorrectos.')
      : error.message;
    setAlert(els.loginError, text);
    els.loginPass.value = '';
    els.loginPass.focus();
  } finally {
    els.loginSubmit.disabled = false;
    els.loginSubmit.textContent = 'Iniciar sesión';
  }
}

function startSession(token, agent) {
  state.session += 1;
  state.token = token;
  state.agent = agent || null;
  saveSession(token, agent);
  scheduleExpiry(token);
  if (state.token) showApp({ fromLogin: true });
}

function scheduleExpiry(token) {
  clearTimeout(state.expiryTimer);
  const exp = decodeJwtExp(token);
  if (!exp) return;
  const ms = exp - Date.now();
  if (ms <= 0) {
    logout('Su sesión ha caducado. Vuelva a iniciar sesión.');
    return;
  }
  if (ms < 2 ** 31 - 1) {
    state.expiryTimer = setTimeout(
      () => logout('Su sesión ha caducado. Vuelva a iniciar sesión.'),
      ms,
    );
  }
}

async function boot() {
  bindUi();
  const saved = loadSession();
  if (!saved) {
    showLogin();
    return;
  }
  state.session += 1;
  state.token = saved.token;
  state.agent = saved.agent;
  scheduleExpiry(saved.token);
  if (!state.token) return; // caducado: ya estamos en el acceso
  try {
    const me = await api('GET', '/me');
    state.agent = me;
    saveSession(state.token, me);
    showApp();
  } catch (error) {
    if (error.status === 401 || error.status === -1) return; // api() ya volvió al acceso
    if (state.agent) showApp(); // servidor caído: mostramos y se reintentará
    else logout(error.message);
  }
}

/* ================================================================== escritorio */

function roleText(agent) {
  if (!agent) return '';
  if (agent.role === 'n2') {
    return agent.unit && agent.unit.name ? `Especialista N2 · ${agent.unit.name}` : 'Especialista N2';
  }
  const base = label(ROLE_LABELS, agent.role, '');
  if (agent.role === 'n1' && agent.unit && agent.unit.name) return `${base} · ${agent.unit.name}`;
  return base;
}

// The content team and the analysts do not attend citizens: their pages are elsewhere.
const REVIEW_HOME = { contenidos: '/desk/anotaciones', analista: '/desk/informes' };

function showApp({ fromLogin = false } = {}) {
  const home = state.agent ? REVIEW_HOME[state.agent.role] : null;
  if (home) {
    window.location.replace(home);
    return;
  }
  show(els.loginView, false);
  show(els.appView, true);
  els.agentName.textContent = state.agent ? state.agent.full_name || state.agent.username : '';
  els.agentRole.textContent = roleText(state.agent);
  updateTitle();
  const n2 = Boolean(state.agent && state.agent.role === 'n2');
  show($('tab-unit'), n2);
  show($('audit-link'), Boolean(state.agent && ['admin', 'supervisor'].includes(state.agent.role)));
  show($('informes-link'), Boolean(state.agent && ['admin', 'supervisor'].includes(state.agent.role)));
  // The content team's pages (annotations, models): administrators reach them from here.
  for (const id of ['annotations-link', 'models-link']) {
    show($(id), Boolean(state.agent && state.agent.role === 'admin'));
  }
  if (state.view === 'unit' && !n2) state.view = 'queue';
  setView(state.view, { focus: false });
  showDetail(false);
  refreshLists();
  loadLabelCatalogue();
  connectWs();
  clearInterval(state.pollTimer);
  state.pollTimer = setInterval(() => {
    // Sin conexión en directo, consultamos periódicamente.
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
      refreshLists();
      if (state.selectedId) loadDetail();
    }
  }, POLL_MS);
  clearInterval(state.tickTimer);
  state.tickTimer = setInterval(tick, TICK_MS);
  const informer = isInformer();
  show($('callbacks-toggle'), informer);
  show($('presencial-toggle'), informer);
  clearInterval(state.callbacksTimer);
  if (informer) {
    refreshCallbackCount();
    state.callbacksTimer = setInterval(refreshCallbackCount, CALLBACKS_POLL_MS);
  }

  document.dispatchEvent(new CustomEvent('tua:session', { detail: state.agent })); // desk-assignment.js
  const fromHash = decodeURIComponent(window.location.hash.replace(/^#/, ''));
  if (fromHash) selectConversation(fromHash);
  if (fromLogin) els.tabs.find((t) => t.dataset.view === state.view).focus();
}

function tick() {
  for (const el of document.querySelectorAll('.js-ago')) {
    el.textContent = `${el.dataset.prefix || ''}${formatAgo(el.getAttribute('datetime'))}`;
  }
}

function updateTitle() {
  document.title = state.newQueued > 0 ? `(${state.newQueued}) ${BASE_TITLE}` : BASE_TITLE;
}

function setWsStatus(kind) {
  const texts = {
    connecting: 'Conectando…',
    online: 'En directo',
    offline: 'Sin conexión en directo · reintentando',
  };
  els.wsStatus.dataset.state = kind;
  els.wsStatusText.textContent = texts[kind] || '';
}

/* ------------------------------------------------------------------ listas */

function scheduleRefresh(delay = 250) {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refreshLists, delay);
}

async function refreshLists() {
  if (!state.token) return;
  if (state.refreshing) {
    state.refreshAgain = true;
    return state.refreshing;
  }
  const session = state.session;
  const filters = { ...state.filters };
  const views = [...new Set([...COUNTED_VIEWS, state.view])];
  state.refreshing = (async () => {
    try {
      // Pages already loaded with «Cargar más» stay loaded (up to MAX_PAGE rows).
      const results = await Promise.all(views.map((view) => fetchPage(view, {
        limit: Math.min(MAX_PAGE, Math.max(PAGE_SIZE, state.lists[view].length)),
      })));
      if (session !== state.session) return;
      if (filters.channel !== state.filters.channel || filters.label !== state.filters.label
        || filters.deadline !== state.filters.deadline || filters.category !== state.filters.category) {
        state.refreshAgain = true;
        return;
      }
      views.forEach((view, i) => {
        state.lists[view] = results[i].items;
        state.cursors[view] = results[i].cursor;
        state.loadedViews.add(view);
      });
      state.listsLoaded = true;
      state.listsError = '';
    } catch (error) {
      if (session !== state.session || error.status === 401 || error.status === -1) return;
      state.listsError = `No se han podido cargar las conversaciones. ${error.message}`;
    } finally {
      if (session === state.session) renderLists();
    }
  })();
  try {
    await state.refreshing;
  } finally {
    state.refreshing = null;
    if (state.refreshAgain) {
      state.refreshAgain = false;
      scheduleRefresh(0);
    }
  }
}

function listParams(view, { before = null, limit = PAGE_SIZE } = {}) {
  const params = new URLSearchParams({ view, limit: String(limit) });
  if (state.filters.channel) params.set('channel', state.filters.channel);
  if (state.filters.label) params.set('label', state.filters.label);
  if (state.filters.deadline) params.set('deadline', state.filters.deadline);
  if (state.filters.category) params.set('category', state.filters.category);
  if (before) params.set('before', before);
  return params;
}

// One page of a view: its rows and the cursor of the next page (none: it was the last).
async function fetchPage(view, options = {}) {
  const { data, headers } = await api('GET', `/conversations?${listParams(view, options)}`, { raw: true });
  return { items: Array.isArray(data) ? data : [], cursor: headers.get('X-Next-Cursor') };
}

async function loadMore() {
  const view = state.view;
  const cursor = state.cursors[view];
  if (!cursor) return;
  els.listMore.disabled = true;
  const session = state.session;
  try {
    const page = await fetchPage(view, { before: cursor });
    if (session !== state.session || state.cursors[view] !== cursor) return;
    const known = new Set(state.lists[view].map((c) => c.id));
    state.lists[view] = [...state.lists[view], ...page.items.filter((c) => !known.has(c.id))];
    state.cursors[view] = page.cursor;
    renderLists();
    const first = page.items.find((c) => !known.has(c.id));
    const button = first && els.list.querySelector(`.conv-item[data-id="${CSS.escape(first.id)}"]`);
    if (button) button.focus();
  } catch (error) {
    if (error.status === 401 || error.status === -1) return;
    toast(`No se han podido cargar más conversaciones. ${error.message}`, { kind: 'error' });
  } finally {
    els.listMore.disabled = false;
  }
}

function patchLists(summary) {
  if (!summary || !summary.id) return;
  const patch = { ...summary };
  if (!Array.isArray(patch.labels)) delete patch.labels; // a live event that did not load them
  if (!patch.deadline) delete patch.deadline; // the same for the deadline
  for (const view of VIEWS) {
    const list = state.lists[view];
    const index = list.findIndex((c) => c.id === summary.id);
    if (index >= 0) list[index] = { ...list[index], ...patch };
  }
  renderLists();
}

function renderLists() {
  for (const view of COUNTED_VIEWS) {
    const more = state.cursors[view] ? '+' : '';
    els.counts[view].textContent = `${state.lists[view].length}${more}`;
  }
  renderList();
}

function renderList() {
  const items = state.lists[state.view] || [];
  const focusedId = document.activeElement && document.activeElement.closest
    && document.activeElement.closest('.conv-item')
    ? document.activeElement.closest('.conv-item').dataset.id
    : null;

  const filtered = Boolean(
    state.filters.channel || state.filters.label || state.filters.deadline || state.filters.category,
  );
  if (state.listsError) setAlert(els.listStatus, state.listsError);
  else if (!state.listsLoaded || !state.loadedViews.has(state.view)) {
    setAlert(els.listStatus, 'Cargando conversaciones…');
  } else if (!items.length) {
    setAlert(els.listStatus, filtered
      ? 'No hay conversaciones con estos filtros en esta lista.'
      : EMPTY_LIST_TEXT[state.view]);
  } else setAlert(els.listStatus, '');
  show(els.listMore, Boolean(state.cursors[state.view]) && state.loadedViews.has(state.view));
  els.listStatus.classList.toggle('list-status--error', Boolean(state.listsError));

  els.list.replaceChildren(...items.map((c) => h('li', {}, listItem(c))));
  if (focusedId) {
    const again = els.list.querySelector(`.conv-item[data-id="${CSS.escape(focusedId)}"]`);
    if (again) again.focus();
  }
}

function listItem(c) {
  const selected = c.id === state.selectedId;
  const unread = state.unread.has(c.id);
  const handoff = c.handoff || null;
  const reason = handoff ? label(REASON_LABELS, handoff.reason, '') : '';
  const intent = handoff && handoff.intent ? handoff.intent : '';
  let when;
  if (c.state === 'queued' && c.handed_off_at) when = agoEl('Esperando desde ', c.handed_off_at);
  else if (c.handed_off_at) when = agoEl('Traspasada ', c.handed_off_at);
  else when = agoEl('Actualizada ', c.updated_at);

  const classes = ['conv-item'];
  if (selected) classes.push('is-selected');
  if (unread) classes.push('is-unread');

  return h(
    'button',
    {
      type: 'button',
      class: classes.join(' '),
      dataset: { id: c.id },
      'aria-current': selected ? 'true' : null,
      onclick: (event) => selectConversation(c.id, { focusDetail: event.detail === 0 }),
    },
    h(
      'span',
      { class: 'conv-item__top' },
      h('span', { class: 'badge badge--channel' }, label(CHANNEL_LABELS, c.channel)),
      h('span', { class: `badge badge--state badge--${c.state}` }, label(STATE_LABELS, c.state)),
      c.tier ? h('span', { class: 'badge badge--tier' }, TIER_LABELS[c.tier] || c.tier) : null,
      unread ? h('span', { class: 'badge badge--unread' }, 'Mensaje nuevo') : null,
      window.TuaDeadlines ? window.TuaDeadlines.badge(c.deadline) : null,
      listBadges.map((badge) => badge(c)), // feature modules (desk-assignment.js: «Pospuesta»)
    ),
    reason || intent
      ? h(
        'span',
        { class: 'conv-item__reason' },
        reason ? h('span', {}, reason) : null,
        reason && intent ? ' · ' : null,
        intent ? h('span', { class: 'intent' }, intent) : null,
      )
      : null,
    c.unit && c.unit.name ? h('span', { class: 'conv-item__unit' }, c.unit.name) : null,
    Array.isArray(c.labels) && c.labels.length
      ? h('span', { class: 'conv-item__labels' }, c.labels.map((l) => labelChip(l)))
      : null,
    h(
      'span',
      { class: 'conv-item__preview' },
      c.last_message ? c.last_message : h('em', {}, 'Sin mensajes'),
    ),
    h(
      'span',
      { class: 'conv-item__foot' },
      when,
      c.assigned_agent ? h('span', { class: 'conv-item__agent' }, assignedText(c.assigned_agent)) : null,
    ),
  );
}

function assignedText(agent) {
  if (!agent) return 'Sin asignar';
  if (state.agent && agent.id === state.agent.id) return 'Usted';
  return agent.full_name;
}

function setView(view, { focus = false } = {}) {
  if (!VIEWS.includes(view)) return;
  const changed = state.view !== view;
  state.view = view;
  if (changed && !COUNTED_VIEWS.includes(view) && state.token) refreshLists();
  els.tabs.forEach((tab) => {
    const active = tab.dataset.view === view;
    tab.setAttribute('aria-selected', active ? 'true' : 'false');
    tab.tabIndex = active ? 0 : -1;
    if (active) {
      els.panel.setAttribute('aria-labelledby', tab.id);
      if (focus) tab.focus();
    }
  });
  renderList();
}

function onTabKeydown(event) {
  const tabs = els.tabs.filter((t) => !t.hidden);
  const index = tabs.indexOf(event.currentTarget);
  let next = null;
  if (event.key === 'ArrowRight') next = (index + 1) % tabs.length;
  else if (event.key === 'ArrowLeft') next = (index - 1 + tabs.length) % tabs.length;
  else if (event.key === 'Home') next = 0;
  else if (event.key === 'End') next = tabs.length - 1;
  if (next === null) return;
  event.preventDefault();
  setView(tabs[next].dataset.view, { focus: true });
}

function onListKeydown(event) {
  if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
  const buttons = [...els.list.querySelectorAll('.conv-item')];
  const index = buttons.indexOf(document.activeElement);
  if (index < 0) return;
  event.preventDefault();
  const next = event.key === 'ArrowDown' ? Math.min(buttons.length - 1, index + 1) : Math.max(0, index - 1);
  buttons[next].focus();
}

/* ------------------------------------------------------------------ detalle */

function showDetail(visible) {
  show(els.detailEmpty, !visible);
  show(els.detailContent, visible);
}

function selectConversation(id, { focusDetail = false } = {}) {
  if (!id) return;
  if (state.selectedId && state.selectedId !== id) {
    state.drafts.set(state.selectedId, els.replyText.value);
  }
  const changed = state.selectedId !== id;
  state.selectedId = id;
  state.unread.delete(id);
  if (changed) {
    state.detail = null;
    state.transcriptFor = null;
    els.replyText.value = state.drafts.get(id) || '';
    setAlert(els.detailError, '');
    setAlert(els.replyError, '');
    els.auditContent.replaceChildren();
    els.auditPanel.open = false;
    els.assistQuery.value = '';
    state.deliveries = [];
    state.retrying.clear();
    clearTimeout(state.deliveryTimer);
    hideTyping();
    closeCanned();
    state.canned = null; // answers change: load them again for this conversation
    state.notes = [];
    state.notesFor = null;
    state.detailLabels = [];
    state.labelsFor = null;
    renderDetailLabels();
    loadSuggestions(id);
    loadNotes(id);
  }
  if (window.location.hash !== `#${encodeURIComponent(id)}`) {
    history.replaceState(null, '', `#${encodeURIComponent(id)}`);
  }
  renderList();
  loadDetail().then(() => {
    if (focusDetail && state.detail && state.detail.id === id) {
      els.detailTitle.focus();
    }
  });
}

// Agent assist: procedures for what the citizen asked (or for the informer's own search), each
// with its ready-to-send card; «Usar en la respuesta» puts it in the reply box to review.
async function loadSuggestions(id, query = '') {
  const request = ++state.assistRequest;
  els.assistList.replaceChildren();
  els.assistStatus.textContent = 'Buscando trámites…';
  const params = new URLSearchParams();
  if (query) params.set('q', query);
  try {
    const data = await api('GET', `/conversations/${encodeURIComponent(id)}/suggestions?${params}`);
    if (request !== state.assistRequest || state.selectedId !== id) return;
    renderSuggestions(data);
  } catch (error) {
    if (request !== state.assistRequest) return;
    els.assistStatus.textContent = error.status === 503
      ? 'La base de conocimiento no está disponible ahora.'
      : `No se han podido cargar las sugerencias. ${error.message}`;
  }
}

function renderSuggestions(data) {
  const items = Array.isArray(data.suggestions) ? data.suggestions : [];
  if (!items.length) {
    els.assistStatus.textContent = data.query
      ? 'No hay trámites que encajen con la consulta.'
      : 'El ciudadano todavía no ha escrito nada que buscar.';
    return;
  }
  els.assistStatus.textContent = data.confident
    ? 'El primero responde con bastante seguridad a lo que se ha preguntado.'
    : 'Ninguno encaja con seguridad: revíselos antes de usarlos.';
  els.assistList.replaceChildren(...items.map((item, i) => h(
    'li', { class: 'assist__item' },
    h('p', { class: 'assist__title' },
      item.url
        ? h('a', { href: item.url, target: '_blank', rel: 'noopener noreferrer' }, item.title)
        : item.title),
    h('p', { class: 'assist__summary' }, item.summary),
    item.unit ? h('p', { class: 'assist__unit muted' }, item.unit) : null,
    h('button', {
      type: 'button',
      class: 'btn btn--small',
      'aria-label': `Usar en la respuesta: ${item.title}`,
      onclick: () => useSuggestion(item),
    }, i === 0 && data.confident ? 'Usar en la respuesta (recomendado)' : 'Usar en la respuesta'),
  )));
}

function useSuggestion(item) {
  const current = els.replyText.value.trim();
  els.replyText.value = current ? `${current}\n\n${item.answer}` : item.answer;
  els.replyText.focus();
  toast('Ficha copiada en la respuesta: revísela y pulse «Enviar respuesta».');
}

function onAssistSubmit(event) {
  event.preventDefault();
  if (state.selectedId) loadSuggestions(state.selectedId, els.assistQuery.value.trim());
}

function scheduleDetail(delay = 200) {
  clearTimeout(state.detailTimer);
  state.detailTimer = setTimeout(loadDetail, delay);
}

async function loadDetail() {
  const id = state.selectedId;
  if (!id) return;
  const request = ++state.detailRequest;
  if (!state.detail || state.detail.id !== id) {
    showDetail(true);
    els.detailTitle.textContent = 'Cargando conversación…';
    els.detailMeta.replaceChildren();
    els.transcript.replaceChildren();
    els.handoffBody.replaceChildren();
    show(els.derivations, false);
    show(els.history, false);
    state.historyFor = null;
    updateActions(null);
  }
  try {
    const detail = await api('GET', `/conversations/${encodeURIComponent(id)}`);
    if (request !== state.detailRequest || state.selectedId !== id) return;
    renderDetail(detail);
  } catch (error) {
    if (request !== state.detailRequest || state.selectedId !== id) return;
    if (error.status === 401 || error.status === -1) return;
    if (error.status === 404) {
      state.selectedId = null;
      state.detail = null;
      showDetail(false);
      history.replaceState(null, '', window.location.pathname);
      renderList();
      toast('Esa conversación no existe o ya no tiene acceso a ella.', { kind: 'error' });
      return;
    }
    setAlert(els.detailError, `No se ha podido cargar la conversación. ${error.message}`);
  }
}

function renderDetail(detail) {
  const previous = state.detail;
  state.detail = detail;
  showDetail(true);

  const channel = label(CHANNEL_LABELS, detail.channel);
  els.detailTitle.textContent = `${channel} · Conversación ${shortId(detail.id)}`;
  els.detailTitle.title = detail.id;
  els.detailTitle.tabIndex = -1;

  renderMeta(detail);
  renderHandoff(detail);
  renderDerivations(detail);
  syncTranscript(detail);
  paintNotes();
  if (Array.isArray(detail.labels)) {
    state.labelsFor = detail.id;
    setDetailLabels(detail.labels);
  } else if (state.labelsFor !== detail.id) {
    loadDetailLabels(detail.id);
  }
  scrollToPending();
  setDeliveries(Array.isArray(detail.deliveries) ? detail.deliveries : []);
  renderHistory(detail);
  updateActions(detail);
  document.dispatchEvent(new CustomEvent('tua:detail', { detail })); // desk-assignment.js

  if (els.auditPanel.open && (!previous || previous.updated_at !== detail.updated_at
    || previous.id !== detail.id)) {
    loadAudit();
  }
}

function metaRow(term, ...value) {
  return h('div', { class: 'meta__row' }, h('dt', {}, term), h('dd', {}, ...value));
}

function renderMeta(d) {
  const rows = [
    metaRow('Estado', h('span', { class: `badge badge--state badge--${d.state}` }, label(STATE_LABELS, d.state))),
    metaRow('Nivel', d.tier ? TIER_LABELS[d.tier] || d.tier : '—'),
    metaRow('Unidad', d.unit && d.unit.name ? d.unit.name : '—'),
    metaRow('Atendida por', assignedText(d.assigned_agent)),
  ];
  if (d.deadline && window.TuaDeadlines) rows.push(metaRow('Plazo', ...window.TuaDeadlines.detail(d.deadline)));
  if (d.handed_off_at) {
    rows.push(metaRow('Traspaso', timeEl(d.handed_off_at, { full: true }), ' (', agoEl('', d.handed_off_at), ')'));
  }
  els.detailMeta.replaceChildren(...rows);
}

function renderHandoff(d) {
  const handoff = d.handoff;
  if (!handoff) {
    els.handoffBody.replaceChildren(
      h('p', { class: 'muted' }, 'El asistente no ha traspasado esta conversación a una persona.'),
    );
    return;
  }
  const rows = [];
  const inPerson = handoff.reason === 'in_person';
  rows.push(metaRow('Motivo', label(REASON_LABELS, handoff.reason)));
  const confidence = typeof handoff.confidence === 'number'
    ? ` (confianza ${percentFormat.format(handoff.confidence)})`
    : '';
  if (!inPerson) {
    rows.push(
      metaRow(
        'Intención detectada',
        handoff.intent ? h('span', { class: 'intent' }, handoff.intent) : 'No identificada',
        confidence,
      ),
    );
  }
  const slots = handoff.slots && typeof handoff.slots === 'object'
    ? Object.entries(handoff.slots).filter(([, v]) => v !== null && v !== undefined && v !== '')
    : [];
  const suggested = Array.isArray(handoff.suggestions)
    ? handoff.suggestions.filter((x) => x && x.title)
    : [];
  if (suggested.length) {
    rows.push(metaRow('Trámites que sugiere el asistente', h('ul', { class: 'slots' }, suggested.map(
      (x) => h('li', {}, x.url
        ? h('a', { href: x.url, target: '_blank', rel: 'noopener noreferrer' }, x.title)
        : x.title),
    ))));
  }
  rows.push(
    metaRow(
      inPerson ? 'Datos de la atención' : 'Datos recogidos',
      slots.length
        ? h(
          'ul',
          { class: 'slots' },
          slots.map(([k, v]) => h('li', {}, h('span', { class: 'slots__key' }, k), ': ', slotValue(v))),
        )
        : 'Ninguno',
    ),
  );
  const seen = Array.isArray(handoff.intents_seen) ? handoff.intents_seen.filter(Boolean) : [];
  if (seen.length) {
    rows.push(metaRow('Intenciones en la conversación', [...new Set(seen)].join(', ')));
  }
  const summary = typeof handoff.summary === 'string' && handoff.summary.trim()
    ? h('p', { class: 'summary-text' }, handoff.summary)
    : null;
  els.handoffBody.replaceChildren(h('dl', { class: 'meta meta--stacked' }, rows), summary);
}

function renderDerivations(d) {
  const list = Array.isArray(d.derivations) ? d.derivations : [];
  show(els.derivations, list.length > 0);
  els.derivationsList.replaceChildren(
    ...list.map((x) => h(
      'li',
      { class: 'derivation' },
      h('p', { class: 'derivation__head' },
        h('strong', {}, x.to_unit && x.to_unit.name ? x.to_unit.name : '—'),
        ' · ',
        x.by && x.by.full_name ? `derivada por ${x.by.full_name}` : '—',
        ' · ',
        timeEl(x.created_at, { full: true })),
      h('p', { class: 'derivation__reason' }, x.reason || ''),
    )),
  );
}

function senderText(m) {
  switch (m.sender) {
    case 'citizen':
      return 'Ciudadano';
    case 'bot':
      return 'Asistente virtual';
    case 'agent': {
      const name = m.agent_name || 'Informador';
      const tier = m.tier ? TIER_LABELS[m.tier] || m.tier : '';
      // No repetir el nivel si el nombre ya lo incluye, p. ej. «Lucía (N1)».
      if (!tier || new RegExp(`\\b${tier}\\b`, 'i').test(name)) return name;
      return `${name} (${tier})`;
    }
    default:
      return 'Sistema';
  }
}

function transcriptItem(m) {
  const sender = ['citizen', 'bot', 'agent', 'system'].includes(m.sender) ? m.sender : 'system';
  const buttons = Array.isArray(m.buttons) ? m.buttons.filter((b) => b && b.title) : [];
  return h(
    'div',
    {
      class: `tmsg tmsg--${sender}`,
      dataset: { id: String(m.id), seq: String(m.seq), at: m.created_at || '' },
      tabindex: '-1',
    },
    h(
      'p',
      { class: 'tmsg__head' },
      h('span', { class: 'tmsg__sender' }, senderText(m)),
      ' ',
      timeEl(m.created_at),
    ),
    m.text ? h('p', { class: 'tmsg__text' }, m.text) : null,
    buttons.length
      ? h(
        'p',
        { class: 'tmsg__buttons' },
        'Opciones ofrecidas: ',
        buttons.map((b, i) => [i ? ' ' : null, h('span', { class: 'chip' }, b.title)]),
      )
      : null,
    attachmentList(m),
    sender === 'citizen' ? null : h('div', { class: 'tmsg__delivery' }),
  );
}

/* ------------------------------------------------------------------ adjuntos */

const THUMBNAIL_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
const THUMBNAIL_MAX_BYTES = 3 * 1024 * 1024;

function attachmentList(m) {
  const files = Array.isArray(m.attachments) ? m.attachments.filter((f) => f && f.id) : [];
  if (!files.length) return null;
  return h('ul', { class: 'tmsg__files', 'aria-label': 'Archivos adjuntos' }, files.map((f) => h(
    'li', { class: 'file' },
    THUMBNAIL_TYPES.includes(f.content_type) && f.size_bytes <= THUMBNAIL_MAX_BYTES
      ? thumbnail(f)
      : null,
    h('button', {
      type: 'button',
      class: 'file__link',
      dataset: { attachment: f.id },
      onclick: () => downloadAttachment(f),
    }, `Descargar ${f.filename}`),
    h('span', { class: 'file__size' }, ` (${formatBytes(f.size_bytes)})`),
  )));
}

function thumbnail(f) {
  const img = h('img', { class: 'file__thumb', alt: `Vista previa de ${f.filename}`, width: 96, height: 96 });
  const forConversation = state.transcriptFor;
  fetchBlob(`/attachments/${encodeURIComponent(f.id)}`).then((blob) => {
    if (state.transcriptFor !== forConversation || !img.isConnected) return;
    const url = URL.createObjectURL(blob);
    state.objectUrls.add(url);
    img.src = url;
  }).catch(() => img.remove());
  return img;
}

function releaseObjectUrls() {
  for (const url of state.objectUrls) URL.revokeObjectURL(url);
  state.objectUrls.clear();
}

async function downloadAttachment(f) {
  try {
    const blob = await fetchBlob(`/attachments/${encodeURIComponent(f.id)}`);
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: f.filename, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (error) {
    if (error.status === 401) {
      logout('Su sesión ha caducado o no es válida. Vuelva a iniciar sesión.');
      return;
    }
    toast(`No se ha podido descargar «${f.filename}». ${error.message}`, { kind: 'error' });
  }
}

function transcriptNearBottom() {
  const t = els.transcript;
  return t.scrollHeight - t.scrollTop - t.clientHeight < 120;
}

function addTranscriptMessages(messages, { forceScroll = false } = {}) {
  const stick = forceScroll || transcriptNearBottom();
  let added = false;
  const sorted = [...messages].filter(Boolean).sort((a, b) => a.seq - b.seq);
  for (const m of sorted) {
    const files = Array.isArray(m.attachments) ? m.attachments.length : 0;
    if (state.transcriptIds.has(m.id)) {
      // Live events may carry a message before its files: repaint it when they arrive.
      if (files > (state.transcriptFiles.get(m.id) || 0)) {
        const old = els.transcript.querySelector(`.tmsg[data-id="${CSS.escape(String(m.id))}"]`);
        if (old) old.replaceWith(transcriptItem(m));
        state.transcriptFiles.set(m.id, files);
      }
      continue;
    }
    state.transcriptIds.add(m.id);
    state.transcriptFiles.set(m.id, files);
    const item = transcriptItem(m);
    let before = null;
    for (const child of els.transcript.children) {
      if (Number(child.dataset.seq) > m.seq) {
        before = child;
        break;
      }
    }
    els.transcript.insertBefore(item, before);
    added = true;
  }
  if (added && stick) els.transcript.scrollTop = els.transcript.scrollHeight;
  renderDeliveryMarkers();
  if (!els.transcript.children.length) {
    els.transcript.replaceChildren(h('p', { class: 'muted transcript__empty' }, 'Todavía no hay mensajes.'));
  } else {
    const empty = els.transcript.querySelector('.transcript__empty');
    if (empty && els.transcript.children.length > 1) empty.remove();
  }
}

function syncTranscript(detail) {
  if (state.transcriptFor !== detail.id) {
    state.transcriptFor = detail.id;
    state.transcriptIds = new Set();
    state.transcriptFiles = new Map();
    releaseObjectUrls();
    els.transcript.replaceChildren();
    addTranscriptMessages(detail.messages || [], { forceScroll: true });
  } else {
    addTranscriptMessages(detail.messages || []);
  }
}

function isMine(d) {
  return Boolean(d && d.state === 'assigned' && d.assigned_agent && state.agent
    && d.assigned_agent.id === state.agent.id);
}

function updateActions(d) {
  const mine = isMine(d);
  const role = state.agent ? state.agent.role : '';
  const note = state.noteMode;
  // Atender: solo lo que está en mi cola (N1 → cola N1; N2 → cola de su unidad; admin → todo).
  show(els.btnTake, Boolean(d && inMyQueue(d)));
  // Derivar: solo N1 (o administración) y solo conversaciones que aún están en N1.
  show(els.btnDerive, Boolean(mine && d.tier !== 'n2' && role !== 'n2'));
  show(els.btnResolve, mine);
  for (const b of [els.btnTake, els.btnDerive, els.btnResolve]) b.disabled = state.busy;

  // Anyone who may see the conversation writes notes; only its assignee answers the citizen.
  const canWrite = note ? Boolean(d) : mine;
  els.replyText.disabled = !canWrite;
  els.replySend.disabled = !canWrite || state.busy;
  els.noteToggle.disabled = !d;
  els.replyForm.classList.toggle('is-disabled', !canWrite);
  let hint;
  if (!d) hint = '';
  else if (note) {
    hint = 'Solo la ve el equipo: no llega al ciudadano ni al asistente. Ctrl + Intro o «Guardar nota».';
  } else if (mine) hint = 'Pulse Ctrl + Intro o el botón «Enviar respuesta» para enviar.';
  else if (d.state === 'queued' && inMyQueue(d)) {
    hint = 'Pulse «Atender» para hacerse cargo de la conversación y poder responder.';
  } else if (d.state === 'queued') {
    hint = 'Está en la cola de otro nivel o unidad; no puede atenderla desde su perfil.';
  }
  else if (d.state === 'assigned') {
    hint = `La atiende ${d.assigned_agent ? d.assigned_agent.full_name : 'otra persona'}. Solo puede responder quien la tiene asignada.`;
  } else if (d.state === 'resolved') {
    hint = 'Conversación resuelta. Si el ciudadano vuelve a pedir ayuda, aparecerá de nuevo en la cola.';
  } else hint = 'La atiende el asistente virtual; todavía no se ha traspasado a una persona.';
  els.replyHint.textContent = hint;
  document.dispatchEvent(new CustomEvent('tua:actions', { detail: d })); // desk-assignment.js
}

/* ------------------------------------------------------------------ acciones */

async function runAction(fn) {
  if (state.busy) return;
  state.busy = true;
  updateActions(state.detail);
  try {
    await fn();
  } finally {
    state.busy = false;
    updateActions(state.detail);
  }
}

function takeConversation() {
  const d = state.detail;
  if (!d) return;
  runAction(async () => {
    setAlert(els.detailError, '');
    try {
      const detail = await api('POST', `/conversations/${encodeURIComponent(d.id)}/take`);
      if (state.selectedId !== d.id) return;
      renderDetail(detail);
      toast('Ha tomado la conversación. Ya puede responder al ciudadano.', { kind: 'success' });
      setView('mine');
      refreshLists();
      els.replyText.focus();
    } catch (error) {
      if (error.status === 401 || error.status === -1) return;
      const text = error.status === 409
        ? 'Otro informador ya ha tomado esta conversación'
        : error.message;
      setAlert(els.detailError, text);
      refreshLists();
      loadDetail();
    }
  });
}

async function sendReply(event) {
  if (event) event.preventDefault();
  if (state.noteMode) {
    await saveNote();
    return;
  }
  const d = state.detail;
  const text = els.replyText.value;
  if (!d || !isMine(d) || state.busy) return;
  if (!text.trim()) {
    setAlert(els.replyError, 'Escriba una respuesta antes de enviarla.');
    els.replyText.focus();
    return;
  }
  setAlert(els.replyError, '');
  await runAction(async () => {
    try {
      const message = await api('POST', `/conversations/${encodeURIComponent(d.id)}/messages`, {
        body: { text },
      });
      if (state.selectedId === d.id && message) {
        addTranscriptMessages([message], { forceScroll: true });
        if (els.replyText.value === text) els.replyText.value = '';
        state.drafts.delete(d.id);
        els.cannedStatus.textContent = '';
        loadDeliveries(d.id); // WhatsApp, Telegram, correo: follow it until it leaves
      }
    } catch (error) {
      if (error.status === 401 || error.status === -1) return;
      setAlert(els.replyError, `No se ha enviado la respuesta. ${error.message}`);
      if (error.status === 403 || error.status === 409) loadDetail();
    }
  });
  els.replyText.focus();
}

async function loadUnits() {
  if (state.units) return state.units;
  const units = await api('GET', '/units');
  state.units = Array.isArray(units) ? units : [];
  return state.units;
}

function resetDeriveErrors() {
  setAlert(els.deriveUnitError, '');
  setAlert(els.deriveReasonError, '');
  setAlert(els.deriveError, '');
  els.deriveUnit.removeAttribute('aria-invalid');
  els.deriveReason.removeAttribute('aria-invalid');
}

async function openDerive() {
  if (!state.detail) return;
  resetDeriveErrors();
  els.deriveReason.value = '';
  els.deriveSubmit.disabled = false;
  els.deriveUnit.replaceChildren(h('option', { value: '' }, 'Cargando unidades…'));
  els.deriveDialog.showModal();
  try {
    const units = await loadUnits();
    els.deriveUnit.replaceChildren(
      h('option', { value: '' }, 'Seleccione una unidad'),
      ...units.map((u) => h('option', { value: u.code }, u.name || u.code)),
    );
    if (!units.length) setAlert(els.deriveError, 'No hay unidades especializadas configuradas.');
  } catch (error) {
    if (error.status === 401 || error.status === -1) return;
    els.deriveUnit.replaceChildren(h('option', { value: '' }, 'Seleccione una unidad'));
    setAlert(els.deriveError, `No se han podido cargar las unidades. ${error.message}`);
  }
  els.deriveUnit.focus();
}

async function submitDerive(event) {
  event.preventDefault();
  const d = state.detail;
  if (!d) return;
  resetDeriveErrors();
  const unitCode = els.deriveUnit.value;
  const reason = els.deriveReason.value.trim();
  let firstInvalid = null;
  if (!unitCode) {
    setAlert(els.deriveUnitError, 'Seleccione la unidad a la que deriva la conversación.');
    els.deriveUnit.setAttribute('aria-invalid', 'true');
    firstInvalid = els.deriveUnit;
  }
  if (!reason) {
    setAlert(els.deriveReasonError, 'Indique el motivo de la derivación.');
    els.deriveReason.setAttribute('aria-invalid', 'true');
    firstInvalid = firstInvalid || els.deriveReason;
  }
  if (firstInvalid) {
    firstInvalid.focus();
    return;
  }
  els.deriveSubmit.disabled = true;
  try {
    const detail = await api('POST', `/conversations/${encodeURIComponent(d.id)}/derive`, {
      body: { unit_code: unitCode, reason },
    });
    els.deriveDialog.close();
    const unit = (state.units || []).find((u) => u.code === unitCode);
    toast(`Conversación derivada a ${unit ? unit.name : unitCode}.`, { kind: 'success' });
    if (state.selectedId === d.id) renderDetail(detail);
    refreshLists();
    if (els.btnDerive.hidden) els.detailTitle.focus();
    else els.btnDerive.focus();
  } catch (error) {
    if (error.status === 401 || error.status === -1) return;
    setAlert(els.deriveError, error.message);
    if (error.status === 409 || error.status === 403) loadDetail();
  } finally {
    els.deriveSubmit.disabled = false;
  }
}

function openResolve() {
  if (!state.detail) return;
  els.resolveNote.value = '';
  setAlert(els.resolveError, '');
  els.resolveSubmit.disabled = false;
  els.resolveDialog.showModal();
  els.resolveNote.focus();
}

async function submitResolve(event) {
  event.preventDefault();
  const d = state.detail;
  if (!d) return;
  setAlert(els.resolveError, '');
  els.resolveSubmit.disabled = true;
  const note = els.resolveNote.value.trim();
  try {
    const detail = await api('POST', `/conversations/${encodeURIComponent(d.id)}/resolve`, {
      body: note ? { note } : {},
    });
    els.resolveDialog.close();
    toast('Conversación resuelta. Vuelve a atenderla el asistente virtual.', { kind: 'success' });
    if (state.selectedId === d.id) renderDetail(detail);
    refreshLists();
    els.detailTitle.focus();
  } catch (error) {
    if (error.status === 401 || error.status === -1) return;
    setAlert(els.resolveError, error.message);
    if (error.status === 409 || error.status === 403) loadDetail();
  } finally {
    els.resolveSubmit.disabled = false;
  }
}

/* ------------------------------------------------------------------ auditoría */

function actionLabel(action) {
  const raw = String(action || '');
  const key = raw.toLowerCase().replace(/^conversation[._]/, '');
  return ACTION_LABELS[key] || raw.replace(/[._]/g, ' ');
}

function actorLabel(event) {
  const type = label(ACTOR_LABELS, event.actor_type);
  if (event.actor_type !== 'agent' || event.actor_id === null || event.actor_id === undefined) return type;
  const id = String(event.actor_id);
  if (state.agent && String(state.agent.id) === id) return `${state.agent.full_name} (usted)`;
  const known = new Map();
  const d = state.detail;
  if (d && d.assigned_agent) known.set(String(d.assigned_agent.id), d.assigned_agent.full_name);
  for (const x of (d && d.derivations) || []) {
    if (x.by) known.set(String(x.by.id), x.by.full_name);
  }
  return known.get(id) || `${type} n.º ${id}`;
}

function detailsNode(details) {
  if (!details || typeof details !== 'object') return '—';
  const entries = Object.entries(details);
  if (!entries.length) return '—';
  return h(
    'ul',
    { class: 'audit__details' },
    entries.map(([k, v]) => h('li', {}, h('span', { class: 'slots__key' }, k), ': ', slotValue(v))),
  );
}

async function loadAudit() {
  const d = state.detail;
  if (!d) return;
  const id = d.id;
  els.auditContent.replaceChildren(h('p', { class: 'muted' }, 'Cargando historial…'));
  try {
    const events = await api('GET', `/conversations/${encodeURIComponent(id)}/audit`);
    if (!state.detail || state.detail.id !== id) return;
    const list = Array.isArray(events) ? events : [];
    if (!list.length) {
      els.auditContent.replaceChildren(h('p', { class: 'muted' }, 'No hay eventos registrados.'));
      return;
    }
    els.auditContent.replaceChildren(
      h(
        'ol',
        { class: 'timeline', 'aria-label': 'Eventos de auditoría, del más antiguo al más reciente' },
        list.map((e) => h(
          'li',
          { class: 'timeline__item' },
          h('p', { class: 'timeline__head' },
            h('strong', { title: e.action || '' }, actionLabel(e.action)),
            ' · ',
            timeEl(e.created_at, { full: true })),
          h('p', { class: 'timeline__actor' }, actorLabel(e)),
          e.details && typeof e.details === 'object' && Object.keys(e.details).length
            ? detailsNode(e.details)
            : null,
        )),
      ),
    );
  } catch (error) {
    if (error.status === 401 || error.status === -1) return;
    els.auditContent.replaceChildren(
      h('p', { class: 'alert alert--error' }, `No se ha podido cargar el historial. ${error.message}`),
    );
  }
}

/* ------------------------------------------------------------------ avisos */

function toast(text, { kind = 'info', actionText = '', onAction = null } = {}) {
  const item = h('div', { class: `toast toast--${kind}` });
  const close = () => item.remove();
  item.append(
    h('p', { class: 'toast__text' }, text),
    h('div', { class: 'toast__buttons' },
      actionText && onAction
        ? h('button', {
          type: 'button',
          class: 'btn btn--small btn--primary',
          onclick: () => {
            close();
            onAction();
          },
        }, actionText)
        : null,
      h('button', { type: 'button', class: 'btn btn--small', 'aria-label': 'Cerrar aviso', onclick: close }, 'Cerrar')),
  );
  els.toasts.append(item);
  while (els.toasts.children.length > 4) els.toasts.firstElementChild.remove();
  const expire = () => {
    if (!item.isConnected) return;
    if (item.matches(':hover') || item.contains(document.activeElement)) {
      setTimeout(expire, 2000);
      return;
    }
    item.remove();
  };
  setTimeout(expire, TOAST_MS);
}

/* ------------------------------------------------------------------ en directo */

function closeWs() {
  state.wsWanted = false;
  clearTimeout(state.wsTimer);
  const ws = state.ws;
  state.ws = null;
  if (ws) {
    try {
      ws.close(1000);
    } catch {
      /* ya cerrado */
    }
  }
}

function connectWs() {
  if (!state.token) return;
  state.wsWanted = true;
  clearTimeout(state.wsTimer);
  if (state.ws) return;
  const session = state.session;
  setWsStatus(state.wsAttempt ? 'offline' : 'connecting');
  const protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${protocol}//${window.location.host}${API_BASE}/ws?token=${encodeURIComponent(state.token)}`;
  let ws;
  try {
    ws = new WebSocket(url);
  } catch {
    scheduleWsReconnect();
    return;
  }
  state.ws = ws;
  ws.addEventListener('open', () => {
    if (state.ws !== ws) return;
    const reconnected = state.wsAttempt > 0;
    state.wsAttempt = 0;
    setWsStatus('online');
    // Lo que cambió mientras no había conexión (o entre la carga inicial y la conexión).
    scheduleRefresh(0);
    if (reconnected && state.selectedId) loadDetail();
  });
  ws.addEventListener('message', (event) => {
    if (state.ws !== ws || session !== state.session) return;
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    handleWsEvent(data);
  });
  ws.addEventListener('close', () => {
    if (state.ws !== ws) return;
    state.ws = null;
    if (!state.wsWanted || session !== state.session) return;
    setWsStatus('offline');
    scheduleWsReconnect();
  });
}

function scheduleWsReconnect() {
  clearTimeout(state.wsTimer);
  const attempt = state.wsAttempt;
  state.wsAttempt += 1;
  const base = Math.min(30000, 1000 * 2 ** attempt);
  const delay = base / 2 + Math.random() * (base / 2);
  const session = state.session;
  state.wsTimer = setTimeout(async () => {
    if (session !== state.session || !state.wsWanted) return;
    try {
      await api('GET', '/me'); // un 401 aquí devuelve al acceso
    } catch (error) {
      if (error.status === 401 || error.status === -1 || session !== state.session) return;
    }
    connectWs();
  }, delay);
}

function describeQueued(c) {
  const parts = [label(CHANNEL_LABELS, c.channel)];
  if (c.tier) parts.push(TIER_LABELS[c.tier] || c.tier);
  if (c.handoff && c.handoff.reason) parts.push(label(REASON_LABELS, c.handoff.reason));
  if (c.handoff && c.handoff.intent) parts.push(c.handoff.intent);
  return parts.join(' · ');
}

// ¿Entraría en mi cola? (El servidor envía a N1 también lo derivado a N2, para «Todas».)
function inMyQueue(c) {
  const agent = state.agent;
  if (!agent || c.state !== 'queued') return false;
  if (agent.role === 'admin' || agent.role === 'supervisor') return true;
  if (agent.role === 'n1') return c.tier !== 'n2';
  return c.tier === 'n2' && Boolean(agent.unit && c.unit && agent.unit.code === c.unit.code);
}

function handleWsEvent(data) {
  if (!data || typeof data !== 'object') return;
  document.dispatchEvent(new CustomEvent('tua:live', { detail: data })); // desk-assignment.js
  switch (data.type) {
    case 'conversation.queued': {
      const c = data.conversation;
      if (!c) return;
      patchLists(c);
      scheduleRefresh();
      if (c.id === state.selectedId) scheduleDetail();
      if (!inMyQueue(c)) break;
      if (!document.hasFocus()) {
        state.newQueued += 1;
        updateTitle();
      }
      toast(`Nueva conversación en cola: ${describeQueued(c)}.`, {
        kind: 'info',
        actionText: 'Ver',
        onAction: () => {
          setView('queue');
          selectConversation(c.id, { focusDetail: true });
        },
      });
      break;
    }
    case 'conversation.updated': {
      const c = data.conversation;
      if (!c) return;
      patchLists(c);
      scheduleRefresh();
      if (c.id === state.selectedId) scheduleDetail();
      break;
    }
    case 'message.created': {
      const m = data.message;
      const id = data.conversation_id || (m && m.conversation_id);
      if (!m || !id) return;
      for (const view of VIEWS) {
        const c = state.lists[view].find((x) => x.id === id);
        if (c && m.text) c.last_message = m.text.slice(0, 140);
      }
      // El servidor puede adjuntar el resumen actualizado de la conversación.
      if (data.conversation && data.conversation.id === id) patchLists(data.conversation);
      const fromMe = m.sender === 'agent' && state.agent && m.agent_name === state.agent.full_name;
      if (id === state.selectedId) {
        if (m.sender === 'citizen') {
          hideTyping();
          // The detail brings the message's files, which a live event may lack.
          if (!(m.attachments || []).length) scheduleDetail(400);
        }
        if (state.transcriptFor === id) addTranscriptMessages([m]);
        else scheduleDetail();
      } else if (!fromMe && m.sender === 'citizen') {
        // «Sin leer» solo para lo que el ciudadano escribe después del traspaso; los mensajes
        // que provocaron el traspaso ya están en el resumen.
        const conv = (data.conversation && data.conversation.id === id ? data.conversation : null)
          || VIEWS.map((v) => state.lists[v].find((x) => x.id === id)).find(Boolean);
        const handed = conv ? parseDate(conv.handed_off_at) : null;
        const created = parseDate(m.created_at);
        if (handed && created && created > handed) state.unread.add(id);
        if (state.unread.has(id) && state.lists.mine.some((x) => x.id === id)) {
          toast('Nuevo mensaje del ciudadano en una de sus conversaciones.', {
            actionText: 'Ver',
            onAction: () => {
              setView('mine');
              selectConversation(id, { focusDetail: true });
            },
          });
        }
      }
      // «En espera» depends on who wrote last in my conversations.
      if (state.lists.mine.some((x) => x.id === id)) scheduleRefresh();
      renderList();
      break;
    }
    case 'note.created': {
      const n = data.note;
      if (!n || data.conversation_id !== state.selectedId || state.notesFor !== n.conversation_id) break;
      if (!state.notes.some((x) => x.id === n.id)) {
        state.notes.push(n);
        paintNotes();
      }
      break;
    }
    case 'conversation.labels': {
      if (data.conversation) patchLists(data.conversation);
      if (data.conversation_id === state.selectedId && Array.isArray(data.labels)) {
        setDetailLabels(data.labels);
      }
      break;
    }
    case 'delivery.failed': {
      const id = data.conversation_id;
      const d = data.delivery || {};
      if (!id) return;
      const channel = label(CHANNEL_LABELS, d.channel, 'su canal');
      const where = d.rerouted_to
        ? ` Se intenta de nuevo por ${label(CHANNEL_LABELS, d.rerouted_to)}.`
        : '';
      if (id === state.selectedId) {
        loadDeliveries(id);
        toast(`No se ha podido entregar un mensaje al ciudadano por ${channel}.${where}`, { kind: 'error' });
      } else if (state.lists.mine.some((c) => c.id === id)) {
        toast(`No se ha podido entregar un mensaje de una de sus conversaciones (${channel}).${where}`, {
          kind: 'error',
          actionText: 'Ver',
          onAction: () => {
            showSection(null);
            setView('mine');
            selectConversation(id, { focusDetail: true });
          },
        });
      }
      break;
    }
    case 'delivery.updated': {
      if (data.conversation_id && data.conversation_id === state.selectedId) {
        loadDeliveries(data.conversation_id);
      }
      break;
    }
    case 'typing': {
      if (data.sender === 'citizen' && data.conversation_id
        && data.conversation_id === state.selectedId) {
        showTyping();
      }
      break;
    }
    default:
      if (String(data.type).startsWith('deadline.') && window.TuaDeadlines) {
        window.TuaDeadlines.onEvent(data, { state, toast, patchLists, setView, selectConversation, inMyQueue });
      }
      break;
  }
}

/* ------------------------------------------------------------------ eventos */

function bindUi() {
  els.loginForm.addEventListener('submit', onLoginSubmit);
  els.logout.addEventListener('click', () => logout('Ha cerrado la sesión.'));
  for (const tab of els.tabs) {
    tab.addEventListener('click', () => setView(tab.dataset.view));
    tab.addEventListener('keydown', onTabKeydown);
  }
  els.list.addEventListener('keydown', onListKeydown);
  els.btnTake.addEventListener('click', takeConversation);
  els.btnDerive.addEventListener('click', openDerive);
  els.btnResolve.addEventListener('click', openResolve);
  els.replyForm.addEventListener('submit', sendReply);
  els.assistForm.addEventListener('submit', onAssistSubmit);
  els.replyText.addEventListener('keydown', (event) => {
    if (onCannedKeydown(event)) return;
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      sendReply();
    }
  });
  els.replyText.addEventListener('input', () => {
    if (state.selectedId) state.drafts.set(state.selectedId, els.replyText.value);
    announceTyping();
    updateCanned();
    if (!els.replyError.hidden && els.replyText.value.trim()) setAlert(els.replyError, '');
  });
  els.replyText.addEventListener('blur', () => setTimeout(() => {
    if (document.activeElement !== els.replyText) closeCanned();
  }, 150));
  els.noteToggle.addEventListener('click', () => {
    setNoteMode(!state.noteMode);
    if (!els.replyText.disabled) els.replyText.focus();
  });
  els.listMore.addEventListener('click', loadMore);
  els.filterChannel.addEventListener('change', onFilterChange);
  els.filterCategory.addEventListener('change', onFilterChange);
  els.filterLabel.addEventListener('change', onFilterChange);
  els.filterDeadline.addEventListener('change', onFilterChange);
  els.labelAddButton.addEventListener('click', addDetailLabel);
  els.searchForm.addEventListener('submit', runSearch);
  els.searchClose.addEventListener('click', () => closeSearch({ focus: true }));
  els.auditPanel.addEventListener('toggle', () => {
    if (els.auditPanel.open) loadAudit();
  });
  els.deriveForm.addEventListener('submit', submitDerive);
  els.deriveCancel.addEventListener('click', () => els.deriveDialog.close());
  els.resolveForm.addEventListener('submit', submitResolve);
  els.resolveCancel.addEventListener('click', () => els.resolveDialog.close());
  for (const [dialog, opener] of [[els.deriveDialog, els.btnDerive], [els.resolveDialog, els.btnResolve]]) {
    dialog.addEventListener('close', () => {
      if (!els.appView.hidden && !opener.hidden && document.activeElement === document.body) opener.focus();
    });
  }
  window.addEventListener('focus', () => {
    if (state.newQueued) {
      state.newQueued = 0;
      updateTitle();
    }
  });
  window.addEventListener('online', () => {
    if (state.token && !state.ws) {
      state.wsAttempt = 0;
      connectWs();
    }
  });
  window.addEventListener('hashchange', () => {
    const id = decodeURIComponent(window.location.hash.replace(/^#/, ''));
    if (state.token && id && id !== state.selectedId) selectConversation(id);
  });
}


/* ------------------------------------------------------------------ entregas (buzón de salida) */
// Mensajes que salen por WhatsApp, Telegram o correo: si el proveedor no los acepta, el
// escritorio lo marca en la conversación («No entregado») y permite reintentar.

const DELIVERY_POLL_MS = 3000;

function setDeliveries(list) {
  state.deliveries = list;
  for (const id of [...state.retrying]) {
    const d = list.find((x) => x.id === id);
    if (!d || d.status === 'sent' || d.status === 'failed') state.retrying.delete(id);
  }
  renderDeliveryMarkers();
  clearTimeout(state.deliveryTimer);
  if (list.some((d) => d.status === 'pending' || d.status === 'sending')) {
    const id = state.selectedId;
    state.deliveryTimer = setTimeout(() => {
      if (state.selectedId === id) loadDeliveries(id);
    }, DELIVERY_POLL_MS);
  }
}

async function loadDeliveries(id) {
  try {
    const list = await api('GET', `/conversations/${encodeURIComponent(id)}/deliveries`);
    if (state.selectedId !== id) return;
    setDeliveries(Array.isArray(list) ? list : []);
  } catch {
    /* la próxima carga del detalle lo traerá */
  }
}

function renderDeliveryMarkers() {
  const byMessage = new Map();
  for (const d of state.deliveries) {
    if (!byMessage.has(d.message_id)) byMessage.set(d.message_id, []);
    byMessage.get(d.message_id).push(d);
  }
  for (const slot of els.transcript.querySelectorAll('.tmsg__delivery')) {
    const id = Number(slot.closest('.tmsg').dataset.id);
    const marker = deliveryMarker(byMessage.get(id) || []);
    slot.replaceChildren(...(marker ? [marker] : []));
  }
}

function deliveryMarker(list) {
  const failed = list.filter((d) => d.status === 'failed');
  const sent = list.find((d) => d.status === 'sent');
  const moving = list.find((d) => d.status === 'pending' || d.status === 'sending');
  const channel = (d) => label(CHANNEL_LABELS, d.channel);
  if (moving && (state.retrying.has(moving.id) || moving.attempts > 0 || failed.length)) {
    const via = failed.length && failed[0].channel !== moving.channel
      ? `No se pudo entregar por ${channel(failed[0])}; enviando por ${channel(moving)}…`
      : 'Reintentando el envío…';
    return h('p', { class: 'delivery delivery--pending' }, via);
  }
  if (!failed.length) return null;
  if (sent) {
    return h('p', { class: 'delivery delivery--rerouted' },
      `No se pudo entregar por ${channel(failed[0])}; enviado por ${channel(sent)}.`);
  }
  if (moving) return null;
  const last = failed[failed.length - 1];
  return h(
    'div',
    { class: 'delivery delivery--failed', role: 'group', 'aria-label': 'Mensaje no entregado' },
    h('p', { class: 'delivery__title' }, h('strong', {}, 'No entregado'), ` por ${channel(last)}`),
    last.last_error ? h('p', { class: 'delivery__error' }, `Motivo: ${last.last_error}`) : null,
    h('button', {
      type: 'button',
      class: 'btn btn--small',
      onclick: (event) => retryDelivery(last.id, event.currentTarget),
    }, 'Reintentar'),
  );
}

async function retryDelivery(deliveryId, button) {
  const id = state.selectedId;
  if (button) button.disabled = true;
  try {
    const delivery = await api('POST', `/deliveries/${encodeURIComponent(deliveryId)}/retry`);
    if (state.selectedId !== id) return;
    state.retrying.add(delivery.id);
    setDeliveries(state.deliveries.map((d) => (d.id === delivery.id ? delivery : d)));
    toast('Se está enviando de nuevo el mensaje.', { kind: 'success' });
  } catch (error) {
    if (error.status === 401 || error.status === -1) return;
    toast(`No se ha podido reintentar. ${error.message}`, { kind: 'error' });
    if (button) button.disabled = false;
    if (id) loadDeliveries(id);
  }
}

/* ------------------------------------------------------------------ el ciudadano escribe */

const TYPING_MS = 5000;

function showTyping() {
  els.typing.textContent = 'El ciudadano está escribiendo…';
  els.typing.classList.add('is-active');
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(hideTyping, TYPING_MS);
}

function hideTyping() {
  clearTimeout(state.typingTimer);
  els.typing.textContent = '';
  els.typing.classList.remove('is-active');
}

/* ------------------------------------------------------------------ historial del ciudadano */

const CASE_STATUS_SHORT = { registrada: 'pendiente', respondida: 'respondida', cerrada: 'cerrada' };

function renderHistory(detail) {
  if (!detail.citizen_id) {
    show(els.history, false);
    state.historyFor = null;
    return;
  }
  const key = `${detail.citizen_id}|${detail.id}`;
  if (state.historyFor === key) return;
  state.historyFor = key;
  loadHistory(detail.citizen_id, detail.id);
}

async function loadHistory(citizenId, conversationId) {
  const request = ++state.historyRequest;
  show(els.history, true);
  els.historyStatus.textContent = 'Cargando el historial…';
  els.historyList.replaceChildren();
  els.historyExtra.replaceChildren();
  try {
    const data = await api('GET', `/citizens/${encodeURIComponent(citizenId)}/history`);
    if (request !== state.historyRequest || state.selectedId !== conversationId) return;
    paintHistory(data, conversationId);
  } catch (error) {
    if (request !== state.historyRequest || error.status === 401 || error.status === -1) return;
    els.historyStatus.textContent = error.status === 404
      ? 'No tiene acceso al historial de esta persona.'
      : `No se ha podido cargar el historial. ${error.message}`;
  }
}

function paintHistory(data, currentId) {
  const others = (data.conversations || []).filter((c) => c.id !== currentId);
  els.historyStatus.textContent = others.length
    ? `Persona verificada en Miespacio. Otras conversaciones: ${others.length}.`
    : 'Persona verificada en Miespacio. No tiene otras conversaciones.';
  els.historyList.replaceChildren(...others.map((c) => h(
    'li', { class: 'history__item' },
    h('p', { class: 'history__head' },
      h('span', { class: 'badge badge--channel' }, label(CHANNEL_LABELS, c.channel)),
      ' ',
      h('span', { class: `badge badge--state badge--${c.state}` }, label(STATE_LABELS, c.state)),
      ' ',
      timeEl(c.last_activity_at, { full: true })),
    c.summary ? h('p', { class: 'history__summary' }, c.summary) : null,
    c.unit && c.unit.name ? h('p', { class: 'muted' }, c.unit.name) : null,
    c.can_open
      ? h('a', {
        class: 'history__open',
        href: `#${encodeURIComponent(c.id)}`,
        'aria-label': `Abrir la conversación de ${label(CHANNEL_LABELS, c.channel)} del ${dateTimeFormat.format(parseDate(c.last_activity_at) || new Date())}`,
      }, 'Abrir conversación')
      : h('p', { class: 'muted' }, c.state === 'bot'
        ? 'Solo habló con el asistente.'
        : 'No puede abrirla desde su perfil.'),
  )));
  const extra = [];
  const cases = data.cases || [];
  if (cases.length) {
    extra.push(`Quejas y sugerencias: ${cases.map((c) => `${c.code} (${label(CASE_STATUS_SHORT, c.status)})`).join(', ')}.`);
  }
  const attentions = data.attentions || [];
  if (attentions.length) extra.push(`Atenciones presenciales: ${attentions.length}.`);
  const tasks = data.tasks || [];
  const open = tasks.filter((t) => t.status === 'open').length;
  if (tasks.length) extra.push(`Llamadas: ${tasks.length}${open ? ` (${open} por hacer)` : ''}.`);
  els.historyExtra.textContent = extra.join(' ');
}

/* ------------------------------------------------------------------ secciones */
// Conversaciones (por defecto), quejas y sugerencias, llamadas pendientes y atención presencial.

const SECTIONS = ['cases', 'callbacks', 'presencial'];
const SECTION_LABELS = {
  cases: 'Quejas y sugerencias',
  callbacks: 'Llamadas pendientes',
  presencial: 'Atención presencial',
};
const sectionState = { open: null };

function isInformer() {
  return Boolean(state.agent && (state.agent.role === 'n1' || state.agent.role === 'admin'));
}

function showSection(name) {
  sectionState.open = name;
  for (const key of SECTIONS) {
    const open = key === name;
    const toggle = $(`${key}-toggle`);
    toggle.setAttribute('aria-pressed', String(open));
    toggle.querySelector('.toggle__label').textContent = open ? 'Conversaciones' : SECTION_LABELS[key];
    show($(`${key}-view`), open);
  }
  show(document.querySelector('.layout'), !name);
  paintCallbackCount();
  if (name === 'cases') loadCases();
  if (name === 'callbacks') loadCallbacks();
  if (name === 'presencial') openPresencial();
}

function toggleSection(name) {
  showSection(sectionState.open === name ? null : name);
}

/* ------------------------------------------------------------------ llamadas pendientes */

const CALLBACKS_POLL_MS = 60000;
const callbacksState = { request: 0 };

async function refreshCallbackCount() {
  if (!isInformer()) return;
  try {
    const open = await api('GET', '/tasks?status=open');
    $('callbacks-count').textContent = String(Array.isArray(open) ? open.length : 0);
    paintCallbackCount();
  } catch {
    /* el contador es orientativo */
  }
}

// The count goes with «Llamadas pendientes», not with «Conversaciones» (the section open).
function paintCallbackCount() {
  const badge = $('callbacks-count');
  show(badge, sectionState.open !== 'callbacks' && Number(badge.textContent) > 0);
}

async function loadCallbacks() {
  const request = ++callbacksState.request;
  const status = $('callbacks-status').value;
  setAlert($('callbacks-status-text'), 'Cargando…');
  try {
    const items = await api('GET', `/tasks?status=${encodeURIComponent(status)}`);
    if (request !== callbacksState.request) return;
    const list = Array.isArray(items) ? items : [];
    $('callbacks-list').replaceChildren(...list.map(callbackItem));
    const overdue = list.filter((t) => t.overdue).length;
    let text = '';
    if (!list.length) text = status === 'open' ? 'No hay llamadas pendientes.' : 'Todavía no hay llamadas hechas.';
    else if (overdue) text = `${list.length} llamadas; ${overdue} fuera de plazo.`;
    setAlert($('callbacks-status-text'), text);
    if (status === 'open') {
      $('callbacks-count').textContent = String(list.length);
      paintCallbackCount();
    }
  } catch (error) {
    if (request !== callbacksState.request || error.status === -1) return;
    setAlert($('callbacks-status-text'), `No se han podido cargar las llamadas. ${error.message}`);
  }
}

function callbackItem(t) {
  const phone = t.phone_display || t.phone;
  const titleId = `callback-${t.id}-title`;
  return h(
    'li',
    {
      class: t.overdue ? 'callback card callback--overdue' : 'callback card',
      dataset: { id: String(t.id) },
      'aria-labelledby': titleId,
    },
    h('h3', { class: 'callback__title', id: titleId },
      t.overdue ? h('span', { class: 'badge badge--overdue' }, 'Fuera de plazo') : null,
      t.overdue ? ' ' : null,
      `Llamar el ${dayText(t.due_on)}`),
    h('p', { class: 'callback__phone' },
      t.phone
        ? h('a', { href: `tel:${t.phone}`, 'aria-label': `Llamar al ${phone}` }, phone)
        : h('span', { class: 'muted' }, 'Número no disponible')),
    h('p', { class: 'muted' }, 'Mensaje dejado el ', timeEl(t.created_at, { full: true }),
      t.duration_seconds ? ` · ${t.duration_seconds} s` : ''),
    t.recording_url
      ? h('audio', {
        class: 'callback__audio',
        controls: true,
        preload: 'none',
        src: t.recording_url,
        'aria-label': `Grabación del mensaje de ${phone || 'la persona'}`,
      })
      : null,
    h('p', { class: 'callback__label' }, 'Transcripción'),
    h('blockquote', { class: 'callback__transcription' },
      t.transcription || 'Todavía no hay transcripción de este mensaje.'),
    t.status === 'open' ? callbackForm(t) : callbackDone(t),
  );
}

function callbackDone(t) {
  return h('p', { class: 'callback__done' },
    h('strong', {}, 'Hecha'),
    t.done_by ? ` por ${t.done_by.full_name}` : '',
    t.done_at ? [' el ', timeEl(t.done_at, { full: true })] : null,
    t.outcome ? `. Resultado: ${t.outcome}` : '');
}

function callbackForm(t) {
  const inputId = `callback-${t.id}-outcome`;
  const errorId = `callback-${t.id}-error`;
  const input = h('textarea', {
    id: inputId, rows: 2, maxlength: 2000, class: 'reply__input', 'aria-describedby': errorId,
  });
  const error = h('p', { id: errorId, class: 'field__error', hidden: true });
  const button = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Marcar como hecha');
  return h('form', {
    class: 'callback__form',
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      const outcome = input.value.trim();
      setAlert(error, '');
      input.removeAttribute('aria-invalid');
      if (!outcome) {
        setAlert(error, 'Escriba el resultado de la llamada antes de marcarla como hecha.');
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      button.disabled = true;
      try {
        await api('POST', `/tasks/${encodeURIComponent(t.id)}/done`, { body: { outcome } });
        toast('Llamada marcada como hecha.', { kind: 'success' });
        await loadCallbacks();
        refreshCallbackCount();
        $('callbacks-title').focus();
      } catch (err) {
        if (err.status === 401 || err.status === -1) return;
        setAlert(error, err.message);
        button.disabled = false;
        if (err.status === 409) loadCallbacks();
      }
    },
  },
  h('label', { for: inputId, class: 'section-title' }, 'Resultado de la llamada'),
  input,
  error,
  h('div', { class: 'reply__bar' }, button));
}

/* ------------------------------------------------------------------ atención presencial */

const OUTCOME_LABELS = {
  resuelta: 'Resuelta',
  derivada: 'Derivada a otra unidad',
  cita: 'Con cita',
  pendiente: 'Pendiente',
};
const PRESENCIAL_FIELDS = {
  dni: 'presencial-dni',
  email: 'presencial-email',
  phone: 'presencial-phone',
  topic: 'presencial-topic',
  outcome: 'presencial-outcome',
};
const presencialState = { offices: false, procedure: null, request: 0 };

function openPresencial() {
  loadOffices();
  loadAttentions();
  $('presencial-topic').focus();
}

async function loadOffices() {
  if (presencialState.offices) return;
  try {
    const offices = await api('GET', '/offices');
    presencialState.offices = true;
    $('presencial-office').replaceChildren(
      h('option', { value: '' }, 'Sin indicar'),
      ...offices.map((o) => h('option', { value: o.id }, `${o.municipality} — ${o.name}`)),
    );
  } catch {
    /* sin lista de oficinas: el campo queda en «Sin indicar» */
  }
}

async function loadAttentions() {
  setAlert($('attentions-status'), 'Cargando…');
  try {
    const items = await api('GET', '/attentions?mine=1');
    $('attentions-list').replaceChildren(...items.map((a) => h(
      'li', { class: 'attention' },
      h('p', { class: 'attention__head' }, h('strong', {}, a.topic), ' · ', label(OUTCOME_LABELS, a.outcome)),
      h('p', { class: 'muted' }, timeEl(a.attended_at, { full: true }),
        a.office_code ? ` · ${a.office_code}` : '',
        a.procedure_title ? ` · ${a.procedure_title}` : '',
        a.citizen_id ? ' · Vinculada a Miespacio' : ''),
      h('a', {
        href: `#${encodeURIComponent(a.conversation_id)}`,
        onclick: () => showSection(null),
      }, 'Ver en el escritorio'),
    )));
    setAlert($('attentions-status'), items.length ? '' : 'Todavía no ha registrado atenciones presenciales.');
  } catch (error) {
    if (error.status !== -1) setAlert($('attentions-status'), error.message);
  }
}

async function searchProcedures() {
  const query = $('presencial-procedure-query').value.trim();
  const results = $('presencial-procedure-results');
  const status = $('presencial-procedure-status');
  results.replaceChildren();
  if (!query) {
    status.textContent = 'Escriba qué trámite busca.';
    return;
  }
  const request = ++presencialState.request;
  status.textContent = 'Buscando trámites…';
  try {
    const found = await api('GET', `/procedures?q=${encodeURIComponent(query)}`);
    if (request !== presencialState.request) return;
    status.textContent = found.length
      ? `${found.length} trámites encontrados. Elija uno.`
      : 'No hay trámites que encajen con la búsqueda.';
    results.replaceChildren(...found.map((p) => h(
      'li', {},
      h('button', {
        type: 'button',
        class: 'btn btn--small',
        'aria-label': `Elegir: ${p.title}`,
        onclick: () => chooseProcedure(p),
      }, 'Elegir'),
      ' ',
      h('span', {}, p.title),
      p.unit ? h('span', { class: 'muted' }, ` · ${p.unit}`) : null,
    )));
  } catch (error) {
    if (request !== presencialState.request || error.status === -1) return;
    status.textContent = error.message;
  }
}

function chooseProcedure(p) {
  presencialState.procedure = p;
  $('presencial-procedure-results').replaceChildren();
  $('presencial-procedure-status').textContent = '';
  const chosen = $('presencial-procedure-chosen');
  chosen.replaceChildren(
    'Trámite elegido: ',
    h('strong', {}, p.title),
    ` (${p.id}) `,
    h('button', {
      type: 'button',
      class: 'btn btn--small',
      onclick: () => {
        presencialState.procedure = null;
        show(chosen, false);
        $('presencial-procedure-query').focus();
      },
    }, 'Quitar'),
  );
  show(chosen, true);
  if (!$('presencial-topic').value.trim()) $('presencial-topic').value = p.title;
  $('presencial-procedure-query').focus();
}

function presencialError(field, text) {
  const id = PRESENCIAL_FIELDS[field];
  if (!id) return null;
  setAlert($(`${id}-error`), text);
  const input = field === 'outcome' ? document.querySelector('input[name="outcome"]') : $(id);
  if (field !== 'outcome') input.setAttribute('aria-invalid', 'true');
  return input;
}

function clearPresencialErrors() {
  for (const [field, id] of Object.entries(PRESENCIAL_FIELDS)) {
    setAlert($(`${id}-error`), '');
    if (field !== 'outcome') $(id).removeAttribute('aria-invalid');
  }
  setAlert($('presencial-error'), '');
}

async function submitPresencial(event) {
  event.preventDefault();
  clearPresencialErrors();
  const value = (id) => $(id).value.trim();
  const outcome = document.querySelector('input[name="outcome"]:checked');
  let first = null;
  if (!value('presencial-topic')) first = presencialError('topic', 'Indique el asunto de la atención.');
  if (!outcome) first = first || presencialError('outcome', 'Elija cómo terminó la atención.');
  if (first) {
    first.focus();
    return;
  }
  const body = {
    office_code: value('presencial-office') || null,
    dni: value('presencial-dni') || null,
    email: value('presencial-email') || null,
    phone: value('presencial-phone') || null,
    topic: value('presencial-topic'),
    procedure_code: presencialState.procedure ? presencialState.procedure.id : null,
    procedure_title: presencialState.procedure ? presencialState.procedure.title : null,
    outcome: outcome.value,
    notes: $('presencial-notes').value.trim(),
  };
  const submit = $('presencial-submit');
  submit.disabled = true;
  try {
    const created = await api('POST', '/attentions', { body });
    $('presencial-form').reset();
    presencialState.procedure = null;
    show($('presencial-procedure-chosen'), false);
    toast(created.citizen_id
      ? 'Atención registrada y vinculada a la cuenta de Miespacio de la persona.'
      : 'Atención registrada.', { kind: 'success' });
    loadAttentions();
    $('presencial-topic').focus();
  } catch (error) {
    if (error.status === 401 || error.status === -1) return;
    const fields = (error.data && Array.isArray(error.data.errors) ? error.data.errors : [])
      .map((e) => (Array.isArray(e.loc) ? e.loc[e.loc.length - 1] : null))
      .filter((f) => f in PRESENCIAL_FIELDS);
    if (fields.length === 1) presencialError(fields[0], error.message).focus();
    else setAlert($('presencial-error'), error.message);
  } finally {
    submit.disabled = false;
  }
}

function initSections() {
  for (const key of SECTIONS) {
    $(`${key}-toggle`).addEventListener('click', () => toggleSection(key));
  }
  $('callbacks-status').addEventListener('change', loadCallbacks);
  $('callbacks-refresh').addEventListener('click', loadCallbacks);
  $('presencial-form').addEventListener('submit', submitPresencial);
  $('presencial-procedure-search').addEventListener('click', searchProcedures);
  $('presencial-procedure-query').addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      searchProcedures();
    }
  });
}


// --- Quejas y sugerencias (casos) --------------------------------------------------------
// Vista aparte de las conversaciones: lista con plazo (vencido / próximo), detalle, respuesta.

const CASE_KIND_LABELS = { queja: 'Queja', sugerencia: 'Sugerencia' };
const CASE_STATUS_LABELS = { registrada: 'Pendiente', en_tramitacion: 'En tramitación', respondida: 'Respondida', cerrada: 'Cerrada' };
const CASE_CONTACT_LABELS = { email: 'Correo electrónico', telefono: 'Teléfono', canal: 'Por el mismo canal' };
const CASE_EVENT_LABELS = {
  registrada: 'Registrada', respondida: 'Respondida', cerrada: 'Cerrada',
  // the formal answer's review (desk-quejas.js); the citizen sees only «En tramitación»
  en_tramitacion: 'En tramitación', en_revision: 'Enviada a revisión', devuelta: 'Devuelta a la unidad', aprobada: 'Aprobada',
};
const CASE_NEAR_DAYS = 3;
const casesState = { code: null };

function caseEl(id) {
  return document.getElementById(id);
}

function daysUntil(isoDate) {
  const [y, m, d] = isoDate.split('-').map(Number);
  const today = new Date();
  const start = Date.UTC(today.getFullYear(), today.getMonth(), today.getDate());
  return Math.round((Date.UTC(y, m - 1, d) - start) / 86400000);
}

function deadlineCell(c) {
  const days = daysUntil(c.deadline);
  const pending = c.status === 'registrada' || c.status === 'en_tramitacion';
  let kind = '';
  let note = '';
  if (pending && days < 0) [kind, note] = ['overdue', ' (vencido)'];
  else if (pending && days <= CASE_NEAR_DAYS) [kind, note] = ['near', days === 0 ? ' (hoy)' : ` (${days} d)`];
  return h('td', { class: kind ? `cases__deadline cases__deadline--${kind}` : 'cases__deadline' },
    c.deadline_text + note);
}

async function loadCases() {
  const status = caseEl('cases-status').value;
  const rows = caseEl('cases-rows');
  setAlert(caseEl('cases-list-status'), 'Cargando…');
  try {
    const query = status === 'pendiente_aprobacion' ? '?pending_approval=true' // desk-quejas.js
      : status ? `?status=${encodeURIComponent(status)}` : '';
    const items = await api('GET', `/cases${query}`);
    rows.replaceChildren(...items.map((c) => h('tr', {
      class: c.code === casesState.code ? 'cases__row is-selected' : 'cases__row',
      tabindex: '0',
      onclick: () => openCase(c.code),
      onkeydown: (event) => { if (event.key === 'Enter') openCase(c.code); },
    },
    h('td', {}, h('strong', {}, c.code)),
    h('td', {}, label(CASE_KIND_LABELS, c.kind)),
    h('td', {}, c.unit_name, c.desk_unit && c.desk_unit !== c.unit_name ? h('span', { class: 'muted' }, ` · ${c.desk_unit}`) : null),
    deadlineCell(c),
    h('td', {}, label(CASE_STATUS_LABELS, c.status)))));
    setAlert(caseEl('cases-list-status'), items.length ? '' : 'No hay quejas ni sugerencias en esta lista.');
  } catch (error) {
    if (error.status !== -1) setAlert(caseEl('cases-list-status'), error.message);
  }
}

async function openCase(code) {
  casesState.code = code;
  setAlert(caseEl('case-error'), '');
  try {
    renderCase(await api('GET', `/cases/${encodeURIComponent(code)}`));
  } catch (error) {
    if (error.status !== -1) setAlert(caseEl('case-error'), error.message);
  }
}

function renderCase(c) {
  show(caseEl('case-detail'), true);
  caseEl('case-title').textContent = `${label(CASE_KIND_LABELS, c.kind)} ${c.code}`;
  const rows = [
    ['Estado', label(CASE_STATUS_LABELS, c.status)],
    ['Unidad responsable', `${c.unit_name} (${c.unit_code})`],
    ['Plazo de respuesta', c.deadline_text],
    ['Fecha de los hechos', c.occurred_on || 'No indicada'],
    ['Canal', c.channel],
    ['DNI/NIE', c.dni || 'No indicado'],
    ['Respuesta por', label(CASE_CONTACT_LABELS, c.contact_preference) + (c.contact ? `: ${c.contact}` : '')],
    ['Persona verificada', c.verified_citizen ? 'Sí (Miespacio)' : 'No'],
  ];
  caseEl('case-meta').replaceChildren(...rows.map(([term, value]) => h('div', { class: 'meta__row' },
    h('dt', {}, term), h('dd', {}, value))));
  caseEl('case-description').textContent = c.description;
  show(caseEl('case-answer-block'), Boolean(c.answer));
  caseEl('case-answer').textContent = c.answer || '';
  caseEl('case-events').replaceChildren(...c.events.map((e) => h('li', {},
    label(CASE_EVENT_LABELS, e.kind, e.kind), ' · ', timeEl(e.created_at, { full: true }),
    e.note ? h('span', { class: 'muted' }, ` — ${e.note}`) : null)));
  const canAnswer = c.status === 'registrada';
  show(caseEl('case-answer-form'), c.status !== 'cerrada');
  caseEl('case-answer-text').disabled = !canAnswer;
  caseEl('case-answer-send').disabled = !canAnswer;
  caseEl('case-detail').focus();
  document.dispatchEvent(new CustomEvent('tua:case', { detail: c })); // desk-quejas.js
}

async function sendCaseAnswer(event) {
  event.preventDefault();
  const text = caseEl('case-answer-text').value.trim();
  if (!text) {
    setAlert(caseEl('case-error'), 'Escriba la respuesta antes de enviarla.');
    return;
  }
  try {
    renderCase(await api('POST', `/cases/${encodeURIComponent(casesState.code)}/answer`, { body: { text } }));
    caseEl('case-answer-text').value = '';
    toast('Respuesta enviada a la persona por su canal.');
    loadCases();
  } catch (error) {
    if (error.status !== -1) setAlert(caseEl('case-error'), error.message);
  }
}

async function closeCase() {
  try {
    renderCase(await api('POST', `/cases/${encodeURIComponent(casesState.code)}/close`, { body: {} }));
    loadCases();
  } catch (error) {
    if (error.status !== -1) setAlert(caseEl('case-error'), error.message);
  }
}

function initCases() {
  caseEl('cases-status').addEventListener('change', loadCases);
  caseEl('cases-refresh').addEventListener('click', loadCases);
  caseEl('case-answer-form').addEventListener('submit', sendCaseAnswer);
  caseEl('case-close').addEventListener('click', closeCase);
}

/* ------------------------------------------------------------------ etiquetas */
// The admin keeps the catalogue; anyone who may see a conversation labels it.

const COLOR_RE = /^#[0-9a-fA-F]{6}$/;

function labelChip(l, { onRemove = null } = {}) {
  const color = COLOR_RE.test(l.color || '') ? l.color : '#5a6470';
  return h(
    'span',
    { class: 'label-chip', style: `--label-color: ${color}` },
    h('span', { class: 'label-chip__dot', 'aria-hidden': 'true' }),
    h('span', { class: 'label-chip__name' }, l.name),
    onRemove
      ? h('button', {
        type: 'button',
        class: 'label-chip__remove',
        'aria-label': `Quitar la etiqueta ${l.name}`,
        title: `Quitar la etiqueta ${l.name}`,
        onclick: onRemove,
      }, '×')
      : null,
  );
}

async function loadLabelCatalogue() {
  const session = state.session;
  try {
    const list = await api('GET', '/labels');
    if (session !== state.session) return;
    state.labelCatalogue = Array.isArray(list) ? list : [];
  } catch {
    return; // without the catalogue there is nothing to add or filter by
  }
  const chosen = els.filterLabel.value;
  els.filterLabel.replaceChildren(
    h('option', { value: '' }, 'Todas'),
    ...state.labelCatalogue.map((l) => h('option', { value: String(l.id) }, l.name)),
  );
  els.filterLabel.value = state.labelCatalogue.some((l) => String(l.id) === chosen) ? chosen : '';
  renderDetailLabels();
}

function onFilterChange() {
  state.filters = {
    channel: els.filterChannel.value, label: els.filterLabel.value, deadline: els.filterDeadline.value,
    category: els.filterCategory.value,
  };
  state.lists = emptyLists();
  state.cursors = {};
  state.loadedViews = new Set();
  renderLists();
  refreshLists();
}

function setDetailLabels(list) {
  state.detailLabels = Array.isArray(list) ? list : [];
  renderDetailLabels();
  if (state.selectedId) patchRowLabels(state.selectedId, state.detailLabels);
}

function renderDetailLabels() {
  els.labelsList.replaceChildren(...state.detailLabels.map((l) => h('li', {}, labelChip(l, {
    onRemove: () => removeDetailLabel(l),
  }))));
  if (!state.detailLabels.length) {
    els.labelsList.append(h('li', { class: 'muted labels__none' }, 'ninguna'));
  }
  const taken = new Set(state.detailLabels.map((l) => l.id));
  const free = state.labelCatalogue.filter((l) => !taken.has(l.id));
  els.labelAdd.replaceChildren(
    h('option', { value: '' }, free.length ? 'Añadir etiqueta…'
      : (state.labelCatalogue.length ? 'No hay más etiquetas' : 'No hay etiquetas')),
    ...free.map((l) => h('option', { value: String(l.id) }, l.name)),
  );
  els.labelAdd.disabled = !free.length;
  els.labelAddButton.disabled = !free.length;
}

async function loadDetailLabels(id) {
  state.labelsFor = id;
  try {
    const list = await api('GET', `/conversations/${encodeURIComponent(id)}/labels`);
    if (state.selectedId === id) setDetailLabels(list);
  } catch {
    if (state.labelsFor === id) state.labelsFor = null; // the next detail load retries
  }
}

function patchRowLabels(id, labels) {
  let changed = false;
  for (const view of VIEWS) {
    const row = state.lists[view].find((c) => c.id === id);
    if (row) {
      row.labels = labels;
      changed = true;
    }
  }
  if (changed) renderList();
}

async function addDetailLabel() {
  const id = state.selectedId;
  const labelId = els.labelAdd.value;
  if (!id) return;
  if (!labelId) {
    toast('Elija primero la etiqueta que quiere añadir.');
    els.labelAdd.focus();
    return;
  }
  try {
    const list = await api('PUT', `/conversations/${encodeURIComponent(id)}/labels/${encodeURIComponent(labelId)}`);
    if (state.selectedId !== id) return;
    setDetailLabels(list);
    const added = list.find((l) => String(l.id) === labelId);
    toast(`Etiqueta «${added ? added.name : ''}» añadida.`, { kind: 'success' });
  } catch (error) {
    if (error.status === 401 || error.status === -1) return;
    toast(`No se ha podido añadir la etiqueta. ${error.message}`, { kind: 'error' });
    loadLabelCatalogue();
  }
  (els.labelAdd.disabled ? els.detailTitle : els.labelAdd).focus();
}

async function removeDetailLabel(l) {
  const id = state.selectedId;
  if (!id) return;
  try {
    const list = await api('DELETE', `/conversations/${encodeURIComponent(id)}/labels/${encodeURIComponent(l.id)}`);
    if (state.selectedId !== id) return;
    setDetailLabels(list);
    toast(`Etiqueta «${l.name}» quitada.`, { kind: 'success' });
  } catch (error) {
    if (error.status === 401 || error.status === -1) return;
    toast(`No se ha podido quitar la etiqueta. ${error.message}`, { kind: 'error' });
  }
  els.labelAdd.focus();
}

/* ------------------------------------------------------------------ notas internas */
// Private notes live apart from the transcript's messages: the server never sends them to the
// citizen or the bot. Here they are shown among the messages, at the time they were written.

// Times without an offset (SQLite) are UTC, like every other time the server keeps.
function utcTime(iso) {
  const text = String(iso || '');
  const date = new Date(/(Z|[+-]\d\d:?\d\d)$/.test(text) ? text : `${text}Z`);
  return Number.isNaN(date.getTime()) ? 0 : date.getTime();
}

async function loadNotes(id) {
  try {
    const list = await api('GET', `/conversations/${encodeURIComponent(id)}/notes`);
    if (state.selectedId !== id) return;
    state.notes = Array.isArray(list) ? list : [];
    state.notesFor = id;
    paintNotes();
  } catch (error) {
    if (error.status === 401 || error.status === -1 || state.selectedId !== id) return;
    toast(`No se han podido cargar las notas internas. ${error.message}`, { kind: 'error' });
  }
}

function noteItem(n, position) {
  return h(
    'div',
    { class: 'tmsg tmsg--note', dataset: { note: String(n.id), seq: String(position), at: n.created_at } },
    h(
      'p',
      { class: 'tmsg__head' },
      h('span', { class: 'tmsg__marker' }, 'Nota interna'),
      ' ',
      h('span', { class: 'tmsg__sender' }, n.agent && n.agent.full_name ? n.agent.full_name : 'Informador'),
      ' ',
      timeEl(n.created_at),
    ),
    h('p', { class: 'tmsg__text' }, n.text),
  );
}

function paintNotes() {
  if (!state.notesFor || state.transcriptFor !== state.notesFor) return;
  const stick = transcriptNearBottom();
  for (const old of els.transcript.querySelectorAll('.tmsg--note')) old.remove();
  const messages = [...els.transcript.querySelectorAll('.tmsg[data-id]')];
  const notes = [...state.notes].sort((a, b) => utcTime(a.created_at) - utcTime(b.created_at) || a.id - b.id);
  for (const n of notes) {
    const at = utcTime(n.created_at);
    let seq = 0;
    for (const m of messages) {
      if (utcTime(m.dataset.at) <= at) seq = Math.max(seq, Number(m.dataset.seq) || 0);
    }
    const position = seq + 0.5;
    let before = null;
    for (const child of els.transcript.children) {
      if (Number(child.dataset.seq) > position) {
        before = child;
        break;
      }
    }
    els.transcript.insertBefore(noteItem(n, position), before);
  }
  if (notes.length) {
    const empty = els.transcript.querySelector('.transcript__empty');
    if (empty) empty.remove();
  }
  if (stick) els.transcript.scrollTop = els.transcript.scrollHeight;
}

function setNoteMode(on) {
  state.noteMode = Boolean(on);
  els.noteToggle.setAttribute('aria-pressed', String(state.noteMode));
  els.replyForm.classList.toggle('is-note', state.noteMode);
  els.replyLabel.textContent = state.noteMode
    ? 'Nota interna (solo la ve el equipo)'
    : 'Respuesta al ciudadano';
  els.replySend.textContent = state.noteMode ? 'Guardar nota' : 'Enviar respuesta';
  setAlert(els.replyError, '');
  updateActions(state.detail);
}

async function saveNote() {
  const d = state.detail;
  const text = els.replyText.value;
  if (!d || state.busy) return;
  if (!text.trim()) {
    setAlert(els.replyError, 'Escriba la nota antes de guardarla.');
    els.replyText.focus();
    return;
  }
  setAlert(els.replyError, '');
  await runAction(async () => {
    try {
      const n = await api('POST', `/conversations/${encodeURIComponent(d.id)}/notes`, { body: { text } });
      if (state.selectedId !== d.id || !n) return;
      if (state.notesFor === d.id && !state.notes.some((x) => x.id === n.id)) state.notes.push(n);
      paintNotes();
      els.transcript.scrollTop = els.transcript.scrollHeight;
      if (els.replyText.value === text) els.replyText.value = '';
      state.drafts.delete(d.id);
      els.cannedStatus.textContent = '';
      toast('Nota interna guardada. Solo la ve el equipo.', { kind: 'success' });
    } catch (error) {
      if (error.status === 401 || error.status === -1) return;
      setAlert(els.replyError, `No se ha guardado la nota. ${error.message}`);
    }
  });
  els.replyText.focus();
}

/* ------------------------------------------------------------------ respuestas predefinidas */
// «/atajo» in the composer offers the answers the agent may use (a listbox the keyboard drives:
// arrows, Intro or Tab to use one, Escape to close); the chosen one is filled in by the server
// for this conversation and put in the box to review.

const CANNED_TOKEN = /(^|\s)\/([\p{L}\p{N}_-]*)$/u;
const CANNED_SHOWN = 8;
const VARIABLE_LABELS = {
  nombre: 'el nombre de la persona',
  tramite: 'el trámite',
  unidad: 'la unidad',
  agente: 'su nombre',
  fecha: 'la fecha',
};
let cannedLoading = null;

function foldText(text) {
  return String(text || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

function loadCanned() {
  if (!cannedLoading) {
    const session = state.session;
    cannedLoading = api('GET', '/canned')
      .then((list) => {
        if (session === state.session) state.canned = Array.isArray(list) ? list : [];
      })
      .catch(() => {
        if (session === state.session) state.canned = [];
      })
      .finally(() => {
        cannedLoading = null;
      });
  }
  return cannedLoading;
}

function updateCanned() {
  const el = els.replyText;
  if (el.disabled || el.selectionStart !== el.selectionEnd) {
    closeCanned();
    return;
  }
  const caret = el.selectionStart;
  const match = el.value.slice(0, caret).match(CANNED_TOKEN);
  if (!match) {
    closeCanned();
    return;
  }
  const query = foldText(match[2]);
  state.cannedToken = { start: caret - match[2].length - 1, end: caret };
  if (state.canned === null) {
    loadCanned().then(() => {
      if (document.activeElement === els.replyText) updateCanned();
    });
    return;
  }
  const matches = state.canned
    .filter((a) => a.shortcut.startsWith(query) || foldText(a.title).includes(query))
    .slice(0, CANNED_SHOWN);
  const before = state.cannedMatches.map((a) => a.id).join();
  state.cannedMatches = matches;
  if (before !== matches.map((a) => a.id).join()) state.cannedActive = matches.length ? 0 : -1;
  renderCanned(query);
}

function renderCanned(query) {
  const matches = state.cannedMatches;
  if (!matches.length) {
    els.cannedList.replaceChildren();
    show(els.cannedList, false);
    els.replyText.removeAttribute('aria-activedescendant');
    els.cannedStatus.textContent = state.canned.length
      ? `No hay respuestas predefinidas para «/${query}».`
      : 'No tiene respuestas predefinidas.';
    return;
  }
  els.cannedList.replaceChildren(...matches.map((a, i) => h(
    'li',
    {
      id: `canned-option-${a.id}`,
      role: 'option',
      class: i === state.cannedActive ? 'canned__option is-active' : 'canned__option',
      'aria-selected': i === state.cannedActive ? 'true' : 'false',
      onmousedown: (event) => {
        event.preventDefault(); // keep the focus in the text box
        pickCanned(i);
      },
    },
    h('span', { class: 'canned__head' },
      h('span', { class: 'canned__shortcut' }, `/${a.shortcut}`),
      ' ',
      h('span', { class: 'canned__title' }, a.title),
      a.unit ? h('span', { class: 'canned__unit' }, ` · ${a.unit.name}`) : null),
    h('span', { class: 'canned__preview' }, a.body.length > 110 ? `${a.body.slice(0, 109)}…` : a.body),
  )));
  show(els.cannedList, true);
  const active = matches[state.cannedActive];
  if (active) els.replyText.setAttribute('aria-activedescendant', `canned-option-${active.id}`);
  const count = matches.length === 1 ? '1 respuesta predefinida' : `${matches.length} respuestas predefinidas`;
  const text = `${count}. Flechas para elegir, Intro para usarla, Escape para cerrar.`;
  if (els.cannedStatus.textContent !== text) els.cannedStatus.textContent = text;
  const option = active && $(`canned-option-${active.id}`);
  if (option) option.scrollIntoView({ block: 'nearest' });
}

function closeCanned() {
  state.cannedMatches = [];
  state.cannedActive = -1;
  els.cannedList.replaceChildren();
  show(els.cannedList, false);
  els.replyText.removeAttribute('aria-activedescendant');
  if (els.cannedStatus.dataset.kept !== 'true') els.cannedStatus.textContent = '';
  els.cannedStatus.dataset.kept = 'false';
}

// Keys of the open list; true when the key was for it.
function onCannedKeydown(event) {
  if (els.cannedList.hidden || !state.cannedMatches.length) return false;
  const last = state.cannedMatches.length - 1;
  if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    const step = event.key === 'ArrowDown' ? 1 : -1;
    state.cannedActive = Math.min(last, Math.max(0, state.cannedActive + step));
  } else if ((event.key === 'Enter' && !event.ctrlKey && !event.metaKey) || event.key === 'Tab') {
    if (event.shiftKey) return false;
    event.preventDefault();
    pickCanned(Math.max(0, state.cannedActive));
    return true;
  } else if (event.key === 'Escape') {
    closeCanned();
  } else {
    return false;
  }
  event.preventDefault();
  if (!els.cannedList.hidden) renderCanned('');
  return true;
}

async function pickCanned(index) {
  const answer = state.cannedMatches[index];
  const token = state.cannedToken;
  const d = state.detail;
  closeCanned();
  if (!answer || !token || !d) return;
  try {
    const out = await api(
      'POST',
      `/canned/${encodeURIComponent(answer.id)}/render?conversation_id=${encodeURIComponent(d.id)}`,
    );
    if (state.selectedId !== d.id) return;
    const value = els.replyText.value;
    const typed = value.slice(token.start, token.end);
    const [start, end] = typed.startsWith('/') ? [token.start, token.end] : [els.replyText.selectionStart, els.replyText.selectionStart];
    els.replyText.value = value.slice(0, start) + out.text + value.slice(end);
    const caret = start + out.text.length;
    els.replyText.focus();
    els.replyText.setSelectionRange(caret, caret);
    state.drafts.set(d.id, els.replyText.value);
    const missing = (out.missing || []).map((v) => VARIABLE_LABELS[v] || v);
    els.cannedStatus.textContent = missing.length
      ? `Respuesta «${answer.title}» insertada. Complete a mano ${missing.join(' y ')}.`
      : `Respuesta «${answer.title}» insertada. Revísela antes de enviarla.`;
    els.cannedStatus.dataset.kept = 'true';
  } catch (error) {
    if (error.status === 401 || error.status === -1) return;
    setAlert(els.replyError, `No se ha podido usar la respuesta predefinida. ${error.message}`);
  }
}

/* ------------------------------------------------------------------ búsqueda */
// Words in every transcript the agent may see; a result opens its conversation at the message.

const SENDER_LABELS = { citizen: 'Ciudadano', bot: 'Asistente virtual', agent: 'Informador' };

function markedSnippet(hit) {
  const text = String(hit.snippet || '');
  const marks = (Array.isArray(hit.highlights) ? hit.highlights : [])
    .filter((r) => Array.isArray(r) && r[0] < r[1])
    .sort((a, b) => a[0] - b[0]);
  const parts = [];
  let at = 0;
  for (const [start, end] of marks) {
    if (start < at) continue;
    parts.push(text.slice(at, start), h('mark', {}, text.slice(start, end)));
    at = end;
  }
  parts.push(text.slice(at));
  return parts;
}

async function runSearch(event) {
  if (event) event.preventDefault();
  const q = els.searchQ.value.trim();
  setAlert(els.searchError, '');
  els.searchQ.removeAttribute('aria-invalid');
  if (q.length < 2) {
    setAlert(els.searchError, 'Escriba al menos 2 caracteres para buscar.');
    els.searchQ.setAttribute('aria-invalid', 'true');
    els.searchQ.focus();
    return;
  }
  const request = ++state.searchRequest;
  show(els.inbox, false);
  show(els.searchResults, true);
  els.searchTitle.textContent = `Resultados de «${q}»`;
  setAlert(els.searchStatus, 'Buscando…');
  els.searchList.replaceChildren();
  try {
    const hits = await api('GET', `/search?${new URLSearchParams({ q, limit: '50' })}`);
    if (request !== state.searchRequest) return;
    const list = Array.isArray(hits) ? hits : [];
    setAlert(els.searchStatus, list.length
      ? `${list.length === 50 ? 'Los 50 más recientes' : list.length} ${list.length === 1 ? 'mensaje encontrado' : 'mensajes encontrados'}.`
      : 'No se ha encontrado ningún mensaje con esas palabras en las conversaciones que puede ver.');
    els.searchList.replaceChildren(...list.map((hit) => h('li', {}, searchItem(hit))));
    els.searchTitle.focus();
  } catch (error) {
    if (request !== state.searchRequest || error.status === 401 || error.status === -1) return;
    setAlert(els.searchStatus, error.message);
    els.searchStatus.classList.add('list-status--error');
    return;
  }
  els.searchStatus.classList.remove('list-status--error');
}

function searchItem(hit) {
  const c = hit.conversation || {};
  return h(
    'button',
    {
      type: 'button',
      class: 'search-hit',
      dataset: { conversation: c.id, message: String(hit.message_id) },
      onclick: () => openSearchHit(hit),
    },
    h('span', { class: 'conv-item__top' },
      h('span', { class: 'badge badge--channel' }, label(CHANNEL_LABELS, c.channel)),
      h('span', { class: `badge badge--state badge--${c.state}` }, label(STATE_LABELS, c.state)),
      c.unit && c.unit.name ? h('span', { class: 'badge badge--tier' }, TIER_LABELS[c.tier] || c.tier || '') : null),
    h('span', { class: 'search-hit__who' },
      `${label(SENDER_LABELS, hit.sender, 'Sistema')} · `, timeEl(hit.created_at), ` · Conversación ${shortId(c.id)}`),
    h('span', { class: 'search-hit__snippet' }, markedSnippet(hit)),
    Array.isArray(c.labels) && c.labels.length
      ? h('span', { class: 'conv-item__labels' }, c.labels.map((l) => labelChip(l)))
      : null,
  );
}

function openSearchHit(hit) {
  const id = hit.conversation && hit.conversation.id;
  if (!id) return;
  for (const el of els.searchList.querySelectorAll('.search-hit.is-selected')) el.classList.remove('is-selected');
  const button = els.searchList.querySelector(`.search-hit[data-message="${CSS.escape(String(hit.message_id))}"]`);
  if (button) button.classList.add('is-selected');
  state.pendingScroll = { conversationId: id, messageId: hit.message_id };
  if (state.selectedId === id && state.transcriptFor === id) scrollToPending();
  else selectConversation(id);
}

function scrollToPending() {
  const pending = state.pendingScroll;
  if (!pending || state.transcriptFor !== pending.conversationId) return;
  const el = els.transcript.querySelector(`.tmsg[data-id="${CSS.escape(String(pending.messageId))}"]`);
  if (!el) return;
  state.pendingScroll = null;
  for (const old of els.transcript.querySelectorAll('.tmsg.is-found')) old.classList.remove('is-found');
  el.classList.add('is-found');
  el.scrollIntoView({ block: 'center' });
  el.focus({ preventScroll: true });
}

function closeSearch({ focus = false } = {}) {
  state.searchRequest += 1;
  show(els.searchResults, false);
  show(els.inbox, true);
  els.searchList.replaceChildren();
  setAlert(els.searchError, '');
  if (focus) els.searchQ.focus();
}

// What desk-assignment.js (and other feature modules) may use; they load after this module.
window.tuaDesk = {
  api, h, toast, show, setAlert, timeEl, isMine, refreshLists, loadDetail, setView,
  selectConversation, state, listBadges, renderList, ROLE_LABELS, CHANNEL_LABELS,
  openCase, loadCases, // desk-quejas.js
};

initCases();
initSections();
boot();
