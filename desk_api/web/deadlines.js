// Tuatención — «Plazos»: the deadline report and the supervisors' escalations, on their own page.
// It uses the desk's session (same tab: sessionStorage), so the agent logs in once, in /desk.

const TOKEN_KEY = 'tuatencion.desk.token';
const AGENT_KEY = 'tuatencion.desk.agent';
const GROUP_NAMES = { unit: 'unidad', tier: 'nivel', channel: 'canal' };
const TARGETS = { first_response: 'Primera respuesta', resolution: 'Resolución' };
const when = new Intl.DateTimeFormat('es-ES', { dateStyle: 'short', timeStyle: 'short', timeZone: 'Europe/Madrid' });

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
  $('plazos-report').hidden = true;
  $('plazos-login').hidden = false;
}

function showError(text) {
  const box = $('plazos-error');
  box.textContent = text;
  box.hidden = !text;
}

function query(format) {
  const params = new URLSearchParams({
    group: $('plazos-group').value,
    from: $('plazos-from').value,
    to: $('plazos-to').value,
  });
  if (format) params.set('format', format);
  return `/api/desk/reports/deadlines?${params}`;
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
  const body = $('plazos-rows');
  body.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement('tr');
    cell(tr, r.label, true);
    cell(tr, String(r.total));
    cell(tr, String(r.closed));
    cell(tr, String(r.on_time));
    cell(tr, r.on_time_rate === null ? '—' : percent.format(r.on_time_rate));
    cell(tr, String(r.breaches));
    cell(tr, r.mean_first_response_hours === null ? '—' : decimal.format(r.mean_first_response_hours));
    body.append(tr);
  }
  $('plazos-empty').hidden = rows.length > 0;
  const group = GROUP_NAMES[$('plazos-group').value];
  $('plazos-caption').textContent =
    `Resultados por ${group}, del ${spanishDay($('plazos-from').value)} al ${spanishDay($('plazos-to').value)}`;
  $('plazos-status').textContent = rows.length
    ? `${rows.length} ${rows.length === 1 ? 'fila' : 'filas'} en el informe.`
    : 'No hay atenciones en ese periodo.';
}

async function load(auth) {
  showError('');
  $('plazos-status').textContent = 'Cargando…';
  const response = await call(query(), auth.token);
  if (!response) {
    $('plazos-status').textContent = '';
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
  link.download = `plazos-${$('plazos-group').value}-${$('plazos-from').value}-${$('plazos-to').value}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  $('plazos-status').textContent = 'CSV descargado.';
}

async function acknowledge(auth, id, button) {
  button.disabled = true;
  const response = await fetch(`/api/desk/deadlines/escalations/${id}/acknowledge`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${auth.token}` },
  });
  if (!response.ok) {
    button.disabled = false;
    showError('No se ha podido marcar la escalación como revisada.');
    return;
  }
  $('plazos-status').textContent = 'Escalación marcada como revisada.';
  loadEscalations(auth);
}

async function loadEscalations(auth) {
  const response = await call('/api/desk/deadlines/escalations', auth.token);
  if (!response) return;
  const alerts = await response.json();
  const body = $('escalation-rows');
  body.replaceChildren();
  for (const a of alerts) {
    const tr = document.createElement('tr');
    cell(tr, a.case_code || `Conversación ${a.conversation_id.slice(0, 8)}`, true);
    cell(tr, TARGETS[a.target] || a.target);
    cell(tr, when.format(new Date(a.due_at)));
    cell(tr, a.channel);
    cell(tr, a.unit_code || 'N1');
    const td = document.createElement('td');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary';
    button.textContent = 'Marcar revisada';
    button.addEventListener('click', () => acknowledge(auth, a.id, button));
    td.append(button);
    tr.append(td);
    body.append(tr);
  }
  $('escalations-empty').hidden = alerts.length > 0;
  $('plazos-escalations').hidden = false;
}

function start() {
  const auth = session();
  if (!auth) {
    showLogin();
    return;
  }
  $('plazos-report').hidden = false;
  if (auth.agent && auth.agent.role === 'supervisor') loadEscalations(auth);
  const today = new Date();
  $('plazos-to').value = isoDay(today);
  $('plazos-from').value = isoDay(new Date(today.getTime() - 29 * 86400000));
  $('plazos-form').addEventListener('submit', (event) => {
    event.preventDefault();
    load(auth);
  });
  $('plazos-csv').addEventListener('click', () => download(auth));
  load(auth);
}

start();
