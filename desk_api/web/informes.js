// Tuatención — «Informes»: the assistant's accuracy report. The server draws it (the same HTML
// as the downloadable file, charts as SVG with their tables); this page picks the filters.
// It uses the desk's session (same tab: sessionStorage), so people log in once, in /desk.

const TOKEN_KEY = 'tuatencion.desk.token';
const $ = (id) => document.getElementById(id);

function isoDay(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function showLogin() {
  $('informe-filtros').hidden = true;
  $('informe-contenido').replaceChildren();
  $('informe-login').hidden = false;
}

function showError(text) {
  const box = $('informe-error');
  box.textContent = text;
  box.hidden = !text;
}

function query(extra) {
  const params = new URLSearchParams({ from: $('informe-desde').value, to: $('informe-hasta').value });
  const channel = $('informe-canal').value;
  const intent = $('informe-intencion').value.trim();
  if (channel) params.set('channel', channel);
  if (intent) params.set('intent', intent);
  for (const [key, value] of Object.entries(extra || {})) params.set(key, value);
  return params;
}

async function call(path, auth) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${auth}` } });
  if (response.status === 401) {
    showLogin();
    return null;
  }
  if (!response.ok) {
    let detail = 'No se ha podido preparar el informe. Inténtelo de nuevo.';
    try {
      const body = await response.json();
      if (typeof body.detail === 'string') detail = body.detail;
      else if (Array.isArray(body.detail)) detail = 'Revise los filtros: alguna fecha o valor no es válido.';
    } catch {
      // not JSON: keep the general sentence
    }
    showError(detail);
    return null;
  }
  return response;
}

async function load(auth) {
  showError('');
  $('informe-estado').textContent = 'Preparando el informe…';
  $('informe-consultar').disabled = true;
  try {
    const response = await call(`/api/desk/reports/accuracy.html?${query({ fragment: 'true' })}`, auth);
    if (!response) {
      $('informe-estado').textContent = '';
      return;
    }
    // The server's own rendering (Jinja2, autoescaped): masked texts and numbers only.
    const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
    $('informe-contenido').replaceChildren(...doc.body.childNodes);
    $('informe-estado').textContent = 'Informe actualizado.';
  } finally {
    $('informe-consultar').disabled = false;
  }
}

async function download(auth, kind) {
  showError('');
  $('informe-estado').textContent = `Preparando el ${kind.toUpperCase()}…`;
  const response = await call(`/api/desk/reports/accuracy.${kind}?${query()}`, auth);
  if (!response) {
    $('informe-estado').textContent = '';
    return;
  }
  const blob = await response.blob();
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `informe-precision-${$('informe-desde').value}-${$('informe-hasta').value}.${kind}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  $('informe-estado').textContent = `${kind.toUpperCase()} descargado.`;
}

function start() {
  const auth = token();
  if (!auth) {
    showLogin();
    return;
  }
  $('informe-filtros').hidden = false;
  const params = new URLSearchParams(window.location.search);
  const today = new Date();
  $('informe-hasta').value = params.get('to') || isoDay(today);
  $('informe-desde').value = params.get('from') || isoDay(new Date(today.getTime() - 29 * 86400000));
  $('informe-form').addEventListener('submit', (event) => {
    event.preventDefault();
    load(auth);
  });
  $('informe-html').addEventListener('click', () => download(auth, 'html'));
  $('informe-pdf').addEventListener('click', () => download(auth, 'pdf'));
  load(auth);
}

start();
