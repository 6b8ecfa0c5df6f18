// Tuatención — chat web de la ciudadanía.
// Contrato: docs/api.md (prefijo /api/chat). Sin dependencias ni paso de compilación.
// Todo texto recibido se pinta con textContent / nodos de texto: nunca innerHTML.

const STORAGE_KEY = 'tuatencion.chat';
const API_BASE = '/api/chat';
const MAX_LENGTH = 4000;
const COUNTER_FROM = 3600;
const AGENT_TYPING_MS = 6000;
const NEAR_BOTTOM_PX = 120;
const MAX_FILES = 5; // el servidor comprueba tipo (por su contenido) y tamaño de cada archivo
const TYPING_EVERY_MS = 3000; // como mucho un aviso de «escribiendo» cada 3 s
const THUMBNAIL_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

const TIER_LABELS = { n1: 'Informador N1', n2: 'Unidad especializada N2' };

const $ = (id) => document.getElementById(id);
const els = {
  panel: $('chat-panel'),
  launcher: $('chat-launcher'),
  minimize: $('chat-minimize'),
  newConversation: $('chat-new'),
  connection: $('chat-connection'),
  connectionText: $('chat-connection-text'),
  banner: $('chat-human-banner'),
  log: $('chat-messages'),
  typing: $('chat-typing'),
  typingText: $('chat-typing-text'),
  error: $('chat-error'),
  form: $('chat-form'),
  input: $('chat-input'),
  send: $('chat-send'),
  counter: $('chat-counter'),
  attach: $('chat-attach'),
  fileInput: $('chat-file'),
  files: $('chat-files'),
  filesList: $('chat-files-list'),
  progress: $('chat-progress'),
  status: $('chat-status'),
};

const state = {
  conversationId: null,
  token: null,
  controller: 'bot',
  ready: false,
  messages: new Map(), // id -> Message
  seqs: new Set(),
  contiguousSeq: 0, // mayor seq tal que 1..seq están todos presentes
  pending: [], // { clientId, text, el }
  inflight: 0,
  agentTyping: false,
  agentTypingTimer: null,
  lastFailed: null, // { text, payload, files, clientId } para reutilizar client_message_id
  chosen: [], // archivos elegidos y aún no enviados (File)
  typingSentAt: 0,
  generation: 0, // se incrementa al cambiar de conversación: descarta respuestas antiguas
  ws: null,
  wsWanted: false,
  wsAttempt: 0,
  wsTimer: null,
  startTimer: null,
  startAttempt: 0,
  gapFetch: null,
};

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/* ------------------------------------------------------------------ utilidades */

function genericMessage(status) {
  if (status === 0) {
    return 'No se ha podido conectar con el servicio. Compruebe su conexión e inténtelo de nuevo.';
  }
  if (status === 401 || status === 403) return 'No se ha podido verificar su conversación.';
  if (status === 404) return 'La conversación ya no está disponible.';
  if (status === 413 || status === 422) return 'El mensaje no es válido. Revíselo e inténtelo de nuevo.';
  if (status === 429) return 'Ha enviado muchos mensajes seguidos. Espere un momento, por favor.';
  return 'El servicio no está disponible en este momento. Inténtelo de nuevo en unos minutos.';
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

async function request(method, path, { body, auth = true } = {}) {
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
  if (!response.ok) throw new ApiError(response.status, detailOf(data, response.status));
  return data;
}

// Envío multipart con XMLHttpRequest: fetch no informa del progreso de la subida.
function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', API_BASE + path);
    xhr.setRequestHeader('Accept', 'application/json');
    if (state.token) xhr.setRequestHeader('Authorization', `Bearer ${state.token}`);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, detailOf(data, xhr.status)));
    });
    const failed = () => reject(new ApiError(0, genericMessage(0)));
    xhr.addEventListener('error', failed);
    xhr.addEventListener('abort', failed);
    xhr.addEventListener('timeout', failed);
    xhr.send(form);
  });
}

function newClientId() {
  if (window.crypto && typeof window.crypto.randomUUID === 'function') {
    return window.crypto.randomUUID();
  }
  // Alternativa para contextos no seguros (http en una IP de la red interna).
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function loadStored() {
  try {
    const raw = window.localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const data = JSON.parse(raw);
    if (data && typeof data.conversation_id === 'string' && typeof data.token === 'string') {
      return data;
    }
  } catch {
    /* almacenamiento no disponible o corrupto */
  }
  return null;
}

function store(conversationId, token) {
  try {
    window.localStorage.setItem(
      STORAGE_KEY,
      JSON.stringify({ conversation_id: conversationId, token }),
    );
  } catch {
    /* navegación privada: la conversación no sobrevivirá a una recarga */
  }
}

function forget() {
  try {
    window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    /* nada que hacer */
  }
}

const timeFormat = new Intl.DateTimeFormat('es-ES', { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat('es-ES', {
  day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit',
});

function timeElement(iso) {
  const el = document.createElement('time');
  const date = iso ? new Date(iso) : new Date();
  if (Number.isNaN(date.getTime())) return el;
  el.dateTime = date.toISOString();
  el.textContent = timeFormat.format(date);
  el.title = dateTimeFormat.format(date);
  return el;
}

const sizeFormat = new Intl.NumberFormat('es-ES', { maximumFractionDigits: 1 });

function formatSize(bytes) {
  const size = Number(bytes) || 0;
  if (size < 1024) return `${size} bytes`;
  if (size < 1024 * 1024) return `${sizeFormat.format(size / 1024)} kB`;
  return `${sizeFormat.format(size / (1024 * 1024))} MB`;
}

function kindLabel(contentType) {
  const type = String(contentType || '');
  if (type.startsWith('image/')) return 'Imagen';
  if (type === 'application/pdf') return 'PDF';
  if (type.startsWith('text/')) return 'Texto';
  if (/msword|wordprocessing|opendocument\.text/.test(type)) return 'Documento';
  if (/excel|spreadsheet/.test(type)) return 'Hoja de cálculo';
  if (/powerpoint|presentation/.test(type)) return 'Presentación';
  return 'Archivo';
}

// Anuncio breve para lectores de pantalla (región role="status", educada).
function announce(text) {
  els.status.textContent = '';
  window.setTimeout(() => {
    els.status.textContent = text;
  }, 50);
}

const URL_PATTERN = /https?:\/\/[^\s<>"']+/g;

// Añade el texto a `parent` como nodos de texto; las direcciones http(s) se convierten en
// enlaces creados con createElement (seguro). Los saltos de línea se conservan con CSS
// (white-space: pre-wrap).
function appendRichText(parent, text) {
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    let url = match[0];
    const trailing = url.match(/[.,;:!?)»\]]+$/);
    if (trailing) url = url.slice(0, -trailing[0].length);
    const start = match.index;
    let safe = null;
    try {
      const parsed = new URL(url);
      if (parsed.protocol === 'http:' || parsed.protocol === 'https:') safe = parsed.href;
    } catch {
      safe = null;
    }
    if (!safe) continue;
    if (start > last) parent.append(document.createTextNode(text.slice(last, start)));
    const a = document.createElement('a');
    a.href = safe;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = url;
    const hint = document.createElement('span');
    hint.className = 'visually-hidden';
    hint.textContent = ' (se abre en una pestaña nueva)';
    a.append(hint);
    parent.append(a);
    last = start + url.length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

/* ------------------------------------------------------------------ vista */

function isNearBottom() {
  const log = els.log;
  return log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM_PX;
}

function scrollToBottom() {
  els.log.scrollTop = els.log.scrollHeight;
}

function senderLabel(message) {
  switch (message.sender) {
    case 'citizen':
      return 'Usted';
    case 'bot':
      return 'Asistente virtual';
    case 'agent': {
      const name = message.agent_name || 'Equipo de atención';
      const tier = TIER_LABELS[message.tier];
      return tier ? `${name} · ${tier}` : name;
    }
    default:
      return 'Aviso';
  }
}

function buildMessage(message) {
  const sender = ['citizen', 'bot', 'agent', 'system'].includes(message.sender)
    ? message.sender
    : 'system';
  const item = document.createElement('div');
  item.className = `msg msg--${sender}`;
  item.dataset.id = String(message.id);
  item.dataset.seq = String(message.seq);

  if (sender === 'system') {
    const label = document.createElement('span');
    label.className = 'visually-hidden';
    label.textContent = 'Aviso: ';
    const text = document.createElement('p');
    text.className = 'msg__text';
    text.append(label);
    appendRichText(text, message.text || '');
    const meta = document.createElement('p');
    meta.className = 'msg__meta';
    meta.append(timeElement(message.created_at));
    item.append(text, meta);
    return item;
  }

  const meta = document.createElement('p');
  meta.className = 'msg__meta';
  const who = document.createElement('span');
  who.className = 'msg__sender';
  who.textContent = senderLabel(message);
  meta.append(who, document.createTextNode(' '), timeElement(message.created_at));

  const bubble = document.createElement('div');
  bubble.className = 'msg__bubble';
  if (message.text) {
    const text = document.createElement('p');
    text.className = 'msg__text';
    appendRichText(text, message.text);
    bubble.append(text);
  }
  const files = buildAttachments(message.attachments);
  if (files) bubble.append(files);
  item.append(meta, bubble);

  const buttons = Array.isArray(message.buttons) ? message.buttons : [];
  if (sender === 'bot' && buttons.length) {
    const group = document.createElement('div');
    group.className = 'msg__buttons';
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', 'Respuestas sugeridas');
    for (const button of buttons) {
      if (!button || typeof button.title !== 'string') continue;
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'msg__button';
      b.textContent = button.title;
      b.addEventListener('click', () => onQuickReply(group, b, button));
      group.append(b);
    }
    item.append(group);
  }
  return item;
}

function attachmentUrl(id) {
  return `${API_BASE}${conversationPath(`/attachments/${encodeURIComponent(id)}`)}`
    + `?token=${encodeURIComponent(state.token)}`;
}

// Los archivos de un mensaje, como enlaces de descarga (las imágenes, con miniatura).
function buildAttachments(attachments) {
  const list = (Array.isArray(attachments) ? attachments : []).filter(
    (file) => file && typeof file.id === 'string' && typeof file.filename === 'string',
  );
  if (!list.length) return null;
  const ul = document.createElement('ul');
  ul.className = 'msg__files';
  ul.setAttribute('aria-label', list.length === 1 ? 'Archivo adjunto' : 'Archivos adjuntos');
  for (const file of list) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.className = 'msg__file';
    a.href = attachmentUrl(file.id);
    a.download = file.filename;
    if (THUMBNAIL_TYPES.includes(file.content_type)) {
      const img = document.createElement('img');
      img.className = 'msg__thumb';
      img.src = a.href;
      img.alt = '';
      img.loading = 'lazy';
      img.decoding = 'async';
      a.append(img);
    }
    const hidden = document.createElement('span');
    hidden.className = 'visually-hidden';
    hidden.textContent = 'Descargar ';
    const name = document.createElement('span');
    name.className = 'msg__file-name';
    name.textContent = file.filename;
    const details = document.createElement('span');
    details.className = 'msg__file-details';
    details.textContent = `${kindLabel(file.content_type)}, ${formatSize(file.size_bytes)}`;
    a.append(hidden, name, document.createTextNode(' '), details);
    li.append(a);
    ul.append(li);
  }
  return ul;
}

function insertBySeq(element, seq) {
  // Mensajes guardados en orden de seq; los pendientes siempre al final.
  let before = null;
  for (const child of els.log.children) {
    if (child.classList.contains('msg--pending')) {
      before = child;
      break;
    }
    const childSeq = Number(child.dataset.seq);
    if (child.dataset.seq && childSeq > seq) {
      before = child;
      break;
    }
  }
  els.log.insertBefore(element, before);
}

function refreshQuickReplies() {
  // Las respuestas sugeridas solo siguen activas si el ciudadano no ha escrito después.
  let lastCitizenSeq = 0;
  for (const m of state.messages.values()) {
    if (m.sender === 'citizen' && m.seq > lastCitizenSeq) lastCitizenSeq = m.seq;
  }
  for (const group of els.log.querySelectorAll('.msg--bot .msg__buttons')) {
    const seq = Number(group.closest('.msg').dataset.seq);
    if (seq < lastCitizenSeq || group.dataset.used === 'true') {
      for (const b of group.querySelectorAll('button')) b.disabled = true;
    }
  }
}

function addMessages(list, { forceScroll = false } = {}) {
  if (!Array.isArray(list) || !list.length) return;
  const stick = forceScroll || isNearBottom();
  let added = false;
  const sorted = [...list].filter(Boolean).sort((a, b) => a.seq - b.seq);
  for (const message of sorted) {
    if (typeof message.id !== 'number' && typeof message.id !== 'string') continue;
    if (message.conversation_id && message.conversation_id !== state.conversationId) continue;
    if (state.messages.has(message.id)) continue;
    state.messages.set(message.id, message);
    state.seqs.add(message.seq);
    if (message.sender === 'citizen') resolvePendingByText(message.text);
    if (message.sender === 'agent') setAgentTyping(false);
    insertBySeq(buildMessage(message), message.seq);
    added = true;
  }
  while (state.seqs.has(state.contiguousSeq + 1)) state.contiguousSeq += 1;
  if (!added) return;
  refreshQuickReplies();
  if (stick) scrollToBottom();
}

function addPending(text, clientId, files = []) {
  const item = document.createElement('div');
  item.className = 'msg msg--citizen msg--pending';
  item.dataset.clientId = clientId;
  const meta = document.createElement('p');
  meta.className = 'msg__meta';
  const who = document.createElement('span');
  who.className = 'msg__sender';
  who.textContent = 'Usted';
  const status = document.createElement('span');
  status.className = 'msg__status';
  status.textContent = 'Enviando…';
  meta.append(who, document.createTextNode(' '), status);
  const bubble = document.createElement('div');
  bubble.className = 'msg__bubble';
  if (text) {
    const p = document.createElement('p');
    p.className = 'msg__text';
    p.textContent = text;
    bubble.append(p);
  }
  if (files.length) {
    const ul = document.createElement('ul');
    ul.className = 'msg__files';
    for (const file of files) {
      const li = document.createElement('li');
      li.className = 'msg__file';
      li.textContent = `${file.name} (${formatSize(file.size)})`;
      ul.append(li);
    }
    bubble.append(ul);
  }
  item.append(meta, bubble);
  els.log.append(item);
  scrollToBottom();
  const pending = { clientId, text, el: item, status };
  state.pending.push(pending);
  return pending;
}

function removePending(pending) {
  const index = state.pending.indexOf(pending);
  if (index >= 0) state.pending.splice(index, 1);
  pending.el.remove();
}

function resolvePendingByText(text) {
  // El mensaje guardado puede llegar por el WebSocket antes que la respuesta del POST.
  const wanted = (text || '').trim();
  if (!wanted) return; // un mensaje solo con archivos se resuelve con la respuesta del envío
  const match = state.pending.find((p) => p.text.trim() === wanted);
  if (match) removePending(match);
}

function clearMessages() {
  for (const child of [...els.log.children]) {
    if (!child.classList.contains('chat__intro')) child.remove();
  }
  state.messages.clear();
  state.seqs.clear();
  state.contiguousSeq = 0;
  state.pending = [];
  state.lastFailed = null;
}

function applyController(controller) {
  if (controller !== 'bot' && controller !== 'human') return;
  state.controller = controller;
  els.banner.hidden = controller !== 'human';
  els.panel.classList.toggle('chat--human', controller === 'human');
  updateTyping();
}

function setConnection(kind) {
  const texts = {
    connecting: 'Conectando…',
    online: 'Conectado',
    reconnecting: 'Sin conexión. Reintentando…',
  };
  els.connection.dataset.state = kind;
  els.connectionText.textContent = texts[kind] || '';
}

function showError(text) {
  els.error.textContent = text;
  els.error.hidden = false;
}

function hideError() {
  els.error.hidden = true;
  els.error.textContent = '';
}

function setAgentTyping(on) {
  clearTimeout(state.agentTypingTimer);
  state.agentTyping = on;
  if (on) {
    state.agentTypingTimer = setTimeout(() => setAgentTyping(false), AGENT_TYPING_MS);
  }
  updateTyping();
}

function updateTyping() {
  let text = '';
  if (state.agentTyping) text = 'La persona que le atiende está escribiendo…';
  else if (state.inflight > 0 && state.controller === 'bot') {
    text = 'El asistente está escribiendo…';
  }
  const active = Boolean(text);
  if (els.typingText.textContent !== text) els.typingText.textContent = text;
  els.typing.classList.toggle('is-active', active);
}

function updateComposer() {
  const length = els.input.value.length;
  const empty = els.input.value.trim() === '' && state.chosen.length === 0;
  els.input.disabled = !state.ready;
  els.attach.disabled = !state.ready;
  els.send.disabled = !state.ready || empty || length > MAX_LENGTH;
  els.counter.textContent = length >= COUNTER_FROM ? `${length} de ${MAX_LENGTH} caracteres` : '';
}

function setReady(ready) {
  state.ready = ready;
  updateComposer();
}

/* ------------------------------------------------------------------ conversación */

function conversationPath(suffix = '') {
  return `/conversations/${encodeURIComponent(state.conversationId)}${suffix}`;
}

async function startConversation({ fresh = false, notice = '' } = {}) {
  const generation = ++state.generation;
  clearTimeout(state.startTimer);
  closeSocket();
  setReady(false);
  clearMessages();
  applyController('bot');
  setAgentTyping(false);
  state.inflight = 0;
  updateTyping();
  setConnection('connecting');

  let stored = fresh ? null : loadStored();
  if (fresh) forget();

  try {
    if (stored) {
      state.conversationId = stored.conversation_id;
      state.token = stored.token;
      try {
        const data = await request('GET', conversationPath('/messages'));
        if (generation !== state.generation) return;
        applyController(data && data.controller);
        addMessages(data && data.messages, { forceScroll: true });
      } catch (error) {
        if (generation !== state.generation) return;
        if (error.status === 401 || error.status === 404) {
          forget();
          stored = null;
        } else {
          throw error;
        }
      }
    }
    if (!stored) {
      state.conversationId = null;
      state.token = null;
      const data = await request('POST', '/conversations', { auth: false });
      if (generation !== state.generation) return;
      state.conversationId = data.conversation_id;
      state.token = data.token;
      store(data.conversation_id, data.token);
      applyController(data.controller);
    }
  } catch (error) {
    if (generation !== state.generation) return;
    // Error de red o del servidor: se reintenta con espera creciente.
    const delay = Math.min(30000, 2000 * 2 ** state.startAttempt);
    state.startAttempt += 1;
    setConnection('reconnecting');
    showError(`${error.message} Volveremos a intentarlo en ${Math.round(delay / 1000)} segundos.`);
    state.startTimer = setTimeout(() => startConversation(), delay);
    return;
  }

  state.startAttempt = 0;
  if (notice) showError(notice);
  else hideError();
  setReady(true);
  connectSocket();
}

async function fillGap() {
  if (!state.conversationId) return;
  if (state.gapFetch) return state.gapFetch;
  const generation = state.generation;
  state.gapFetch = (async () => {
    try {
      const data = await request(
        'GET',
        conversationPath(`/messages?after=${encodeURIComponent(state.contiguousSeq)}`),
      );
      if (generation !== state.generation) return;
      applyController(data && data.controller);
      addMessages(data && data.messages);
    } catch (error) {
      if (generation !== state.generation) return;
      if (error.status === 401 || error.status === 404) {
        conversationLost();
      }
    } finally {
      state.gapFetch = null;
    }
  })();
  return state.gapFetch;
}

function conversationLost(keepText = '') {
  startConversation({
    fresh: true,
    notice: 'Su conversación anterior ya no está disponible. Hemos iniciado una nueva.',
  }).then(() => {
    if (keepText && !els.input.value.trim()) {
      els.input.value = keepText;
      updateComposer();
    }
  });
}

function sameFiles(a, b) {
  return a.length === b.length && a.every((file, i) => file === b[i]);
}

function showProgress(pending, fraction) {
  const percent = Math.round(fraction * 100);
  els.progress.hidden = false;
  els.progress.value = percent;
  pending.status.textContent = `Enviando… ${percent} %`;
}

function hideProgress() {
  els.progress.hidden = true;
  els.progress.value = 0;
}

async function post(clean, payload, files, clientId, pending) {
  if (!files.length) {
    const body = { text: clean, client_message_id: clientId };
    if (payload) body.payload = payload;
    return request('POST', conversationPath('/messages'), { body });
  }
  announce(files.length === 1
    ? `Enviando el archivo ${files[0].name}…`
    : `Enviando ${files.length} archivos…`);
  const form = new FormData();
  for (const file of files) form.append('file', file, file.name);
  if (clean) form.append('text', clean);
  form.append('client_message_id', clientId);
  try {
    const data = await upload(conversationPath('/attachments'), form, (fraction) => {
      showProgress(pending, fraction);
    });
    announce(files.length === 1 ? 'Archivo enviado.' : 'Archivos enviados.');
    return data;
  } finally {
    hideProgress();
  }
}

async function sendMessage(text, payload = null, files = []) {
  const clean = text.trim();
  if ((!clean && !files.length) || !state.ready) return false;
  if (clean.length > MAX_LENGTH) {
    showError(`El mensaje no puede superar los ${MAX_LENGTH} caracteres.`);
    return false;
  }
  hideError();

  const failed = state.lastFailed;
  const clientId = failed && failed.text === clean && failed.payload === payload
    && sameFiles(failed.files, files)
    ? failed.clientId
    : newClientId();
  const generation = state.generation;
  const pending = addPending(clean, clientId, files);
  const asksBot = Boolean(clean); // un mensaje solo con archivos no lo lee el asistente
  if (asksBot) state.inflight += 1;
  updateTyping();

  try {
    const data = await post(clean, payload, files, clientId, pending);
    if (generation !== state.generation) return true;
    state.lastFailed = null;
    removePending(pending);
    applyController(data && data.controller);
    const received = [];
    if (data && data.message) received.push(data.message);
    if (data && Array.isArray(data.replies)) received.push(...data.replies);
    addMessages(received, { forceScroll: true });
    return true;
  } catch (error) {
    if (generation !== state.generation) return false;
    removePending(pending);
    state.lastFailed = { text: clean, payload, files, clientId };
    if (error.status === 401 || error.status === 404) {
      conversationLost(payload ? '' : text);
      return false;
    }
    showError(error.message);
    return false;
  } finally {
    if (generation === state.generation && asksBot) {
      state.inflight = Math.max(0, state.inflight - 1);
      updateTyping();
    }
  }
}

async function onSubmit(event) {
  event.preventDefault();
  const text = els.input.value;
  const files = state.chosen;
  if ((!text.trim() && !files.length) || !state.ready) return;
  els.input.value = '';
  setChosen([]);
  const ok = await sendMessage(text, null, files);
  if (!ok && !els.input.value.trim() && !state.chosen.length) {
    // Nada se pierde: el texto y los archivos vuelven para corregirlos o reintentarlo.
    els.input.value = text;
    setChosen(files);
  }
  els.input.focus();
}

/* ------------------------------------------------------------------ archivos */

function setChosen(files) {
  const stick = isNearBottom(); // la lista de archivos quita altura a los mensajes
  state.chosen = files;
  els.filesList.replaceChildren(...files.map((file, index) => chosenItem(file, index)));
  els.files.hidden = files.length === 0;
  updateComposer();
  if (stick) scrollToBottom();
}

function chosenItem(file, index) {
  const li = document.createElement('li');
  li.className = 'chat__file';
  const name = document.createElement('span');
  name.className = 'chat__file-name';
  name.textContent = file.name;
  const size = document.createElement('span');
  size.className = 'chat__file-size';
  size.textContent = ` (${formatSize(file.size)})`;
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'chat__file-remove';
  remove.setAttribute('aria-label', `Quitar ${file.name}`);
  remove.title = 'Quitar';
  remove.textContent = '×';
  remove.addEventListener('click', () => removeChosen(index));
  li.append(name, size, remove);
  return li;
}

function removeChosen(index) {
  const file = state.chosen[index];
  if (!file) return;
  setChosen(state.chosen.filter((_, i) => i !== index));
  announce(`Archivo ${file.name} quitado.`);
  // El foco no se pierde: al siguiente archivo, o al botón de adjuntar.
  const buttons = els.filesList.querySelectorAll('.chat__file-remove');
  const next = buttons[Math.min(index, buttons.length - 1)];
  (next || els.attach).focus();
}

function onFilesChosen() {
  const picked = Array.from(els.fileInput.files || []);
  els.fileInput.value = ''; // elegir otra vez el mismo archivo vuelve a avisar
  if (!picked.length) return;
  hideError();
  const all = [...state.chosen, ...picked];
  if (all.length > MAX_FILES) {
    showError(`Puede enviar como máximo ${MAX_FILES} archivos a la vez.`);
  }
  const kept = all.slice(0, MAX_FILES);
  setChosen(kept);
  const names = picked.filter((file) => kept.includes(file)).map((file) => file.name);
  if (names.length) {
    announce(names.length === 1
      ? `Archivo ${names[0]} preparado. Pulse Enviar para mandarlo.`
      : `${names.length} archivos preparados. Pulse Enviar para mandarlos.`);
  }
}

// La persona que le atiende ve que el ciudadano escribe (solo con una persona al otro lado).
function citizenTyping() {
  if (state.controller !== 'human' || !state.ready || !els.input.value.trim()) return;
  const now = Date.now();
  if (now - state.typingSentAt < TYPING_EVERY_MS) return;
  state.typingSentAt = now;
  request('POST', conversationPath('/typing')).catch(() => {
    /* solo es un aviso: si se pierde, no pasa nada */
  });
}

// Botón especial del asistente: compartir la ubicación (solo lo entiende el chat web).
const SHARE_LOCATION = 'tua:ubicacion';

// Coordenadas redondeadas a dos decimales (~1 km): bastan para la oficina más cercana y no
// envían la posición exacta de la persona.
function currentPosition() {
  return new Promise((resolve, reject) => {
    if (!('geolocation' in navigator)) {
      reject(new Error('Su navegador no permite compartir la ubicación.'));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (position) => resolve({
        lat: Math.round(position.coords.latitude * 100) / 100,
        lon: Math.round(position.coords.longitude * 100) / 100,
      }),
      () => reject(new Error('No se ha podido obtener su ubicación. Escriba su municipio o código postal.')),
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 },
    );
  });
}

async function shareLocation(data) {
  try {
    const { lat, lon } = await currentPosition();
    return { title: 'He compartido mi ubicación', payload: `/buscar_oficina{"latitud": ${lat}, "longitud": ${lon}}` };
  } catch (error) {
    showError(error.message);
    return null;
  }
}

async function onQuickReply(group, button, data) {
  if (!state.ready) return;
  if (data.payload === SHARE_LOCATION) {
    const shared = await shareLocation(data);
    if (!shared) return;
    data = shared;
  }
  group.dataset.used = 'true';
  for (const b of group.querySelectorAll('button')) b.disabled = true;
  button.classList.add('is-chosen');
  button.setAttribute('aria-pressed', 'true');
  const ok = await sendMessage(data.title, typeof data.payload === 'string' ? data.payload : null);
  if (!ok) {
    delete group.dataset.used;
    button.classList.remove('is-chosen');
    button.removeAttribute('aria-pressed');
    for (const b of group.querySelectorAll('button')) b.disabled = false;
    refreshQuickReplies();
  }
  els.input.focus();
}

/* ------------------------------------------------------------------ WebSocket */

function closeSocket() {
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

function connectSocket() {
  if (!state.conversationId || !state.token) return;
  state.wsWanted = true;
  clearTimeout(state.wsTimer);
  const generation = state.generation;
  const protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${protocol}//${window.location.host}${API_BASE}${conversationPath('/ws')}`
    + `?token=${encodeURIComponent(state.token)}`;
  let ws;
  try {
    ws = new WebSocket(url);
  } catch {
    scheduleReconnect();
    return;
  }
  state.ws = ws;

  ws.addEventListener('open', () => {
    if (state.ws !== ws) return;
    state.wsAttempt = 0;
    setConnection('online');
    fillGap(); // lo que llegó mientras no estábamos conectados
  });

  ws.addEventListener('message', (event) => {
    if (state.ws !== ws || generation !== state.generation) return;
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    handleEvent(data);
  });

  ws.addEventListener('close', (event) => {
    if (state.ws !== ws) return;
    state.ws = null;
    if (!state.wsWanted || generation !== state.generation) return;
    setConnection('reconnecting');
    const authProblem = [1008, 4001, 4003, 4004, 4401, 4403, 4404].includes(event.code);
    scheduleReconnect(authProblem);
  });
}

function scheduleReconnect(verifyNow = false) {
  clearTimeout(state.wsTimer);
  const attempt = state.wsAttempt;
  state.wsAttempt += 1;
  const base = Math.min(30000, 1000 * 2 ** attempt);
  const delay = verifyNow ? 500 : base / 2 + Math.random() * (base / 2);
  const generation = state.generation;
  state.wsTimer = setTimeout(async () => {
    if (generation !== state.generation || !state.wsWanted) return;
    if (verifyNow || attempt >= 2) {
      // ¿Sigue existiendo la conversación? Un 401/404 inicia una nueva.
      try {
        await request('GET', conversationPath(`/messages?after=${state.contiguousSeq}`));
      } catch (error) {
        if (generation !== state.generation) return;
        if (error.status === 401 || error.status === 404) {
          conversationLost();
          return;
        }
      }
      if (generation !== state.generation || !state.wsWanted) return;
    }
    connectSocket();
  }, delay);
}

function reconnectNow() {
  if (state.wsWanted && !state.ws && state.conversationId) {
    state.wsAttempt = 0;
    connectSocket();
  }
}

function handleEvent(data) {
  if (!data || typeof data !== 'object') return;
  switch (data.type) {
    case 'message': {
      const message = data.message;
      if (!message) return;
      // Hueco en la secuencia: pedimos lo que falta antes de seguir.
      if (typeof message.seq === 'number' && message.seq > state.contiguousSeq + 1) {
        addMessages([message]);
        fillGap();
      } else {
        addMessages([message]);
      }
      break;
    }
    case 'controller':
      applyController(data.controller);
      break;
    case 'typing':
      if (data.sender === 'agent' || !data.sender) setAgentTyping(true);
      break;
    default:
      break;
  }
}

/* ------------------------------------------------------------------ panel */

function openPanel({ focus = true } = {}) {
  els.panel.hidden = false;
  els.launcher.hidden = true;
  els.launcher.setAttribute('aria-expanded', 'true');
  els.minimize.setAttribute('aria-expanded', 'true');
  scrollToBottom();
  if (focus) els.input.focus();
}

function closePanel() {
  els.panel.hidden = true;
  els.launcher.hidden = false;
  els.launcher.setAttribute('aria-expanded', 'false');
  els.launcher.focus();
}

function bindUi() {
  els.form.addEventListener('submit', onSubmit);
  els.input.addEventListener('input', () => {
    updateComposer();
    citizenTyping();
  });
  els.attach.addEventListener('click', () => els.fileInput.click());
  els.fileInput.addEventListener('change', onFilesChosen);
  els.panel.addEventListener('keydown', (event) => {
    // Escape minimiza el panel y devuelve el foco al botón que lo abre.
    if (event.key === 'Escape' && !event.isComposing && !els.panel.hidden) {
      event.preventDefault();
      closePanel();
    }
  });
  els.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (!els.send.disabled) els.form.requestSubmit();
    }
  });
  els.newConversation.addEventListener('click', async () => {
    setChosen([]);
    await startConversation({ fresh: true });
    els.input.focus();
  });
  els.minimize.addEventListener('click', closePanel);
  els.launcher.addEventListener('click', () => openPanel());
  window.addEventListener('online', reconnectNow);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') {
      reconnectNow();
      if (state.ws && state.ws.readyState === WebSocket.OPEN) fillGap();
    }
  });
  window.addEventListener('storage', (event) => {
    // Otra pestaña empezó una conversación nueva: la seguimos.
    if (event.key !== STORAGE_KEY) return;
    const stored = loadStored();
    if (stored && stored.conversation_id !== state.conversationId) startConversation();
  });
}

bindUi();
openPanel({ focus: false });
updateComposer();
startConversation();
