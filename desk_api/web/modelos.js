// Tuatención — «Modelos del asistente»: the NLU model versions, the retrain button with its live
// progress, the gate's reasons for a refused candidate and «Revertir a esta versión».
// It uses the desk's session (same tab: sessionStorage), so the person logs in once, in /desk.

const TOKEN_KEY = 'tuatencion.desk.token';
const AGENT_KEY = 'tuatencion.desk.agent';
const TRAINERS = new Set(['contenidos', 'admin']);
const STATUS_NAMES = {
  candidate: 'Candidata', promoted: 'En servicio', refused: 'Rechazada', retired: 'Retirada',
};
const JOB_NAMES = {
  queued: 'En cola', running: 'En curso', promoted: 'Promovida', refused: 'Rechazada por el control de calidad',
  failed: 'Fallida',
};

const $ = (id) => document.getElementById(id);
const decimal = new Intl.NumberFormat('es-ES', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const when = new Intl.DateTimeFormat('es-ES', { dateStyle: 'short', timeStyle: 'short' });
const score = (value) => (value === null || value === undefined ? '—' : decimal.format(value));

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
  $('models-page').hidden = true;
  $('models-login').hidden = false;
}

function showError(text) {
  $('models-error').textContent = text;
  $('models-error').hidden = !text;
}

async function call(auth, url, options = {}) {
  const response = await fetch(url, {
    ...options,
    headers: { Authorization: `Bearer ${auth.token}`, 'Content-Type': 'application/json' },
  });
  if (response.status === 401) {
    showLogin();
    return null;
  }
  if (!response.ok) {
    let detail = 'No se ha podido completar la operación. Inténtelo de nuevo.';
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      // not JSON: keep the general sentence
    }
    showError(detail);
    return null;
  }
  return response.json();
}

function cell(row, content, header = false) {
  const el = document.createElement(header ? 'th' : 'td');
  if (header) el.scope = 'row';
  if (content instanceof Node) el.append(content);
  else el.textContent = content;
  row.append(el);
  return el;
}

function bars(perIntent) {
  const wrap = document.createElement('div');
  wrap.className = 'bars';
  const entries = Object.entries(perIntent);
  wrap.setAttribute('role', 'img');
  wrap.setAttribute('aria-label', entries.length
    ? entries.map(([name, f1]) => `${name} ${score(f1)}`).join('; ')
    : 'Sin evaluar');
  for (const [name, f1] of entries) {
    const bar = document.createElement('span');
    bar.style.height = `${Math.max(4, Math.round(f1 * 100))}%`;
    if (f1 < 0.8) bar.className = 'low';
    bar.title = `${name}: ${score(f1)}`;
    wrap.append(bar);
  }
  return wrap;
}

function showGate(version) {
  const gate = version && version.gate;
  $('models-gate').hidden = !gate;
  if (!gate) return;
  $('models-gate-version').textContent = version.version;
  const reasons = $('models-gate-reasons');
  reasons.replaceChildren();
  for (const text of [...gate.reasons, ...gate.notes]) {
    const li = document.createElement('li');
    li.textContent = text;
    reasons.append(li);
  }
  const body = $('models-gate-rows');
  body.replaceChildren();
  for (const c of gate.intents) {
    const tr = document.createElement('tr');
    cell(tr, c.intent, true);
    cell(tr, score(c.current));
    cell(tr, score(c.candidate));
    cell(tr, c.delta === null ? '—' : decimal.format(c.delta));
    const verdict = cell(tr, c.ok ? 'Correcto' : 'Empeora');
    if (!c.ok) verdict.className = 'bad';
    body.append(tr);
  }
}

async function rollback(auth, version) {
  const ok = window.confirm(
    `¿Volver a poner en servicio la versión ${version}? El asistente la cargará sin interrupción.`,
  );
  if (!ok) return;
  showError('');
  const promoted = await call(auth, '/api/desk/models/rollback', {
    method: 'POST', body: JSON.stringify({ version }),
  });
  if (promoted) {
    $('models-job-status').textContent = `La versión ${promoted.version} vuelve a estar en servicio.`;
    await loadVersions(auth);
  }
}

function render(auth, versions) {
  const body = $('models-rows');
  body.replaceChildren();
  const canTrain = auth.agent && TRAINERS.has(auth.agent.role);
  for (const v of versions) {
    const tr = document.createElement('tr');
    cell(tr, v.version, true);
    cell(tr, when.format(new Date(v.created_at)));
    const hash = document.createElement('code');
    hash.textContent = v.data_hash.slice(0, 8);
    cell(tr, hash);
    cell(tr, score(v.accuracy));
    cell(tr, score(v.macro_f1));
    cell(tr, bars(v.per_intent_f1));
    const badge = document.createElement('span');
    badge.className = `badge ${v.status}`;
    badge.textContent = STATUS_NAMES[v.status] || v.status;
    cell(tr, badge);
    cell(tr, v.promoted_by || '—');
    const actions = cell(tr, '');
    if (canTrain && v.status !== 'promoted' && v.promoted_at) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = 'Revertir a esta versión';
      button.setAttribute('aria-label', `Revertir a la versión ${v.version}`);
      button.addEventListener('click', () => rollback(auth, v.version));
      actions.append(button);
    }
    if (v.status === 'refused') {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = 'Ver por qué';
      button.setAttribute('aria-label', `Ver por qué se rechazó la versión ${v.version}`);
      button.addEventListener('click', () => { showGate(v); $('models-gate-title').scrollIntoView(); });
      actions.append(button);
    }
    body.append(tr);
  }
  $('models-empty').hidden = versions.length > 0;
  const latest = versions[0];
  showGate(latest && latest.status === 'refused' ? latest : null);
}

async function loadVersions(auth) {
  const versions = await call(auth, '/api/desk/models');
  if (versions) render(auth, versions);
}

function showJob(job) {
  if (!job) return false;
  const active = job.status === 'queued' || job.status === 'running';
  $('models-job').hidden = !active && job.progress === 0;
  $('models-progress').value = Math.round(job.progress * 100);
  $('models-stage').textContent = job.stage_label || 'Reentrenamiento';
  const percent = `${Math.round(job.progress * 100)} %`;
  $('models-job-status').textContent = active
    ? `${JOB_NAMES[job.status]}: ${job.stage_label || 'preparando'} (${percent}).`
    : `Último reentrenamiento: ${JOB_NAMES[job.status] || job.status}. ${job.detail || ''}`;
  $('models-retrain').disabled = active;
  return active;
}

async function follow(auth, jobId) {
  for (;;) {
    const job = await call(auth, `/api/desk/models/jobs/${jobId}`);
    if (!job) return;
    if (!showJob(job)) break;
    await new Promise((resolve) => { setTimeout(resolve, 1000); });
  }
  await loadVersions(auth);
}

async function retrain(auth) {
  showError('');
  const job = await call(auth, '/api/desk/models/retrain', { method: 'POST' });
  if (!job) return;
  showJob(job);
  await follow(auth, job.id);
}

async function start() {
  const auth = session();
  if (!auth) {
    showLogin();
    return;
  }
  $('models-page').hidden = false;
  if (auth.agent && TRAINERS.has(auth.agent.role)) {
    $('models-retrain').hidden = false;
    $('models-retrain').addEventListener('click', () => retrain(auth));
  }
  await loadVersions(auth);
  const latest = await call(auth, '/api/desk/models/jobs/latest');
  if (latest && showJob(latest)) await follow(auth, latest.id);
}

start();
