// Tuatención — «Registro de auditoría»: supervisors and administrators read and export the
// audit log. It uses the desk's session (same tab: sessionStorage), so the agent logs in once.

const TOKEN_KEY = 'tuatencion.desk.token';
const ACTORS = { agent: 'Agente', citizen: 'Ciudadanía', bot: 'Asistente', system: 'Sistema' };
const $ = (id) => document.getElementById(id);
const when = new Intl.DateTimeFormat('es-ES', { dateStyle: 'short', timeStyle: 'medium' });
let cursor = null;

function showLogin() {
  $('audit-report').hidden = true;
  $('audit-login').hidden = false;
}

function showError(text) {
  $('audit-error').textContent = text;
  $('audit-error').hidden = !text;
}

function params(extra = {}) {
  const found = new URLSearchParams();
  for (const name of ['conversation', 'agent', 'action', 'from', 'to']) {
    const value = $(`audit-${name}`).value.trim();
    if (value) found.set(name, value);
  }
  for (const [key, value] of Object.entries(extra)) found.set(key, value);
  return found;
}

async function call(url, token) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  if (response.status === 401) {
    showLogin();
    return null;
  }
  if (!response.ok) {
    let detail = 'No se ha podido consultar el registro. Inténtelo de nuevo.';
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      // not JSON: keep the general sentence
    }
    showError(detail);
    return null;
  }
  return response;
}

function cell(row, content) {
  const td = document.createElement('td');
  if (content instanceof Node) td.append(content);
  else td.textContent = content;
  row.append(td);
}

function render(entries, append) {
  const body = $('audit-rows');
  if (!append) body.replaceChildren();
  for (const e of entries) {
    const tr = document.createElement('tr');
    const time = document.createElement('time');
    time.dateTime = e.created_at;
    time.textContent = when.format(new Date(e.created_at));
    cell(tr, time);
    cell(tr, e.action);
    const who = ACTORS[e.actor_type] || e.actor_type;
    cell(tr, e.actor_username ? `${who}: ${e.actor_username}` : e.actor_id ? `${who} (${e.actor_id})` : who);
    cell(tr, e.conversation_id || '—');
    const code = document.createElement('code');
    code.textContent = e.details ? JSON.stringify(e.details) : '';
    cell(tr, code);
    body.append(tr);
  }
  const shown = body.children.length;
  $('audit-empty').hidden = shown > 0;
  $('audit-more').hidden = !cursor;
  $('audit-status').textContent = shown
    ? `${shown} ${shown === 1 ? 'anotación' : 'anotaciones'}${cursor ? ' (hay más)' : ''}.`
    : 'No hay anotaciones con esos filtros.';
}

async function load(token, append = false) {
  showError('');
  $('audit-status').textContent = 'Cargando…';
  const extra = append && cursor ? { before: cursor } : {};
  const response = await call(`/api/desk/audit?${params(extra)}`, token);
  if (!response) {
    $('audit-status').textContent = '';
    return;
  }
  cursor = response.headers.get('X-Next-Cursor');
  render(await response.json(), append);
}

async function download(token, format) {
  showError('');
  $('audit-status').textContent = 'Preparando la exportación…';
  const response = await call(`/api/desk/audit/export?${params({ format })}`, token);
  if (!response) {
    $('audit-status').textContent = '';
    return;
  }
  const blob = await response.blob();
  const disposition = response.headers.get('Content-Disposition') || '';
  const match = /filename="([^"]+)"/.exec(disposition);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = match ? match[1] : `auditoria.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  $('audit-status').textContent = 'Exportación descargada.';
}

function start() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) {
    showLogin();
    return;
  }
  $('audit-report').hidden = false;
  const query = new URLSearchParams(location.search);
  for (const name of ['conversation', 'agent', 'action', 'from', 'to']) {
    if (query.get(name)) $(`audit-${name}`).value = query.get(name);
  }
  $('audit-form').addEventListener('submit', (event) => {
    event.preventDefault();
    cursor = null;
    load(token);
  });
  $('audit-more').addEventListener('click', () => load(token, true));
  $('audit-csv').addEventListener('click', () => download(token, 'csv'));
  $('audit-jsonl').addEventListener('click', () => download(token, 'jsonl'));
  load(token);
}

start();
