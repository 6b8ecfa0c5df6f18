// Tuatención — «Satisfacción»: the CSAT report of the desk, on its own page.
// It uses the desk's session (same tab: sessionStorage), so the agent logs in once, in /desk.

const TOKEN_KEY = 'tuatencion.desk.token';
const AGENT_KEY = 'tuatencion.desk.agent';
const GROUP_NAMES = { agent: 'informador', unit: 'unidad', channel: 'canal' };

const $ = (id) => document.getElementById(id);
const percent = new Intl.NumberFormat('es-ES', { style: 'percent', maximumFractionDigits: 1 });
const decimal = new Intl.NumberFormat('es-ES', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function isoDay(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

function spanishDay(iso) {
  const [year, month, day] = iso.split('-');
  return `${day}/${month}/${year}`;
}

function session() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  let agent = null;
  try {
    agent = JSON.parse(sessionStorage.getItem(AGENT_KEY) || 'null');
  } catch {
    agent = null;
  }
  return token ? { token, agent } : null;
}

function showLogin() {
  $('csat-report').hidden = true;
  $('csat-login').hidden = false;
}

function showError(text) {
  const box = $('csat-error');
  box.textContent = text;
  box.hidden = !text;
}

function query(format) {
  const params = new URLSearchParams({
    group: $('csat-group').value,
    from: $('csat-from').value,
    to: $('csat-to').value,
  });
  if (format) params.set('format', format);
  return `/api/desk/reports/csat?${params}`;
}

async function call(url, token) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  if (response.status === 401) {
    showLogin();
    return null;
  }
  if (!response.ok) {
    let detail = 'No se ha podido cargar el informe. Inténtelo de nuevo.';
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

function cell(row, text, header = false) {
  const el = document.createElement(header ? 'th' : 'td');
  if (header) el.scope = 'row';
  el.textContent = text;
  row.append(el);
}

function render(rows) {
  const body = $('csat-rows');
  body.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement('tr');
    cell(tr, r.label, true);
    cell(tr, String(r.asked));
    cell(tr, String(r.answered));
    cell(tr, r.response_rate === null ? '—' : percent.format(r.response_rate));
    cell(tr, r.average === null ? '—' : decimal.format(r.average));
    for (const n of ['1', '2', '3', '4', '5']) cell(tr, String(r.distribution[n] ?? 0));
    body.append(tr);
  }
  $('csat-empty').hidden = rows.length > 0;
  const group = GROUP_NAMES[$('csat-group').value];
  $('csat-caption').textContent =
    `Resultados por ${group}, del ${spanishDay($('csat-from').value)} al ${spanishDay($('csat-to').value)}`;
  $('csat-status').textContent = rows.length
    ? `${rows.length} ${rows.length === 1 ? 'fila' : 'filas'} en el informe.`
    : 'No hay encuestas en ese periodo.';
}

async function load(auth) {
  showError('');
  $('csat-status').textContent = 'Cargando…';
  const response = await call(query(), auth.token);
  if (!response) {
    $('csat-status').textContent = '';
    return;
  }
  render(await response.json());
}

async function download(auth) {
  showError('');
  const response = await call(query('csv'), auth.token);
  if (!response) return;
  const blob = await response.blob();
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `satisfaccion-${$('csat-group').value}-${$('csat-from').value}-${$('csat-to').value}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  $('csat-status').textContent = 'CSV descargado.';
}

function start() {
  const auth = session();
  if (!auth) {
    showLogin();
    return;
  }
  $('csat-report').hidden = false;
  if (auth.agent && auth.agent.role === 'n1') {
    // N1 sees only its own row: the other groupings are not for this profile.
    for (const option of $('csat-group').options) option.disabled = option.value !== 'agent';
  }
  const today = new Date();
  $('csat-to').value = isoDay(today);
  $('csat-from').value = isoDay(new Date(today.getTime() - 29 * 86400000));
  $('csat-form').addEventListener('submit', (event) => {
    event.preventDefault();
    load(auth);
  });
  $('csat-csv').addEventListener('click', () => download(auth));
  load(auth);
}

start();
