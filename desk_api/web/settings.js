// Tuatención — «Etiquetas y respuestas predefinidas»: the admin keeps the label catalogue; units
// (their N2 agents) and the admin keep the canned answers. It uses the desk's session (same tab).

const TOKEN_KEY = 'tuatencion.desk.token';
const AGENT_KEY = 'tuatencion.desk.agent';
const SHARED = '';
const $ = (id) => document.getElementById(id);
const state = { token: null, agent: null, units: [], labels: [], canned: [] };

function say(text) {
  $('settings-status').textContent = text;
}

function showError(text) {
  $('settings-error').textContent = text;
  $('settings-error').hidden = !text;
}

async function api(method, path, body) {
  const response = await fetch(`/api/desk${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${state.token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    $('settings-login').hidden = false;
    throw new Error('Su sesión ha caducado. Vuelva a iniciar sesión en el escritorio.');
  }
  if (!response.ok) {
    let detail = 'No se ha podido guardar. Inténtelo de nuevo.';
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      // not JSON: keep the general sentence
    }
    throw new Error(detail);
  }
  return response.status === 204 ? null : response.json();
}

function button(text, onClick, className = 'secondary') {
  const el = document.createElement('button');
  el.type = 'button';
  el.className = className;
  el.textContent = text;
  el.addEventListener('click', onClick);
  return el;
}

function cell(row, content, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  if (Array.isArray(content)) td.append(...content);
  else if (content instanceof Node) td.append(content);
  else td.textContent = content;
  row.append(td);
  return td;
}

const isAdmin = () => state.agent && state.agent.role === 'admin';
const canEditCanned = (c) =>
  isAdmin() || (state.agent && state.agent.role === 'n2' && c.unit && state.agent.unit
    && c.unit.code === state.agent.unit.code);

async function guarded(action, done) {
  showError('');
  try {
    await action();
    say(done);
  } catch (error) {
    showError(error.message);
  }
}

// --- labels --------------------------------------------------------------------------------------

function resetLabelForm() {
  $('label-id').value = '';
  $('label-name').value = '';
  $('label-color').value = '#5a6470';
  $('label-submit').textContent = 'Añadir etiqueta';
  $('label-cancel').hidden = true;
}

function renderLabels() {
  const body = $('labels-rows');
  body.replaceChildren();
  for (const label of state.labels) {
    const tr = document.createElement('tr');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = label.color;
    swatch.setAttribute('aria-hidden', 'true');
    cell(tr, [swatch, document.createTextNode(label.name)]);
    const actions = [];
    if (isAdmin()) {
      actions.push(button(`Editar «${label.name}»`, () => {
        $('label-id').value = label.id;
        $('label-name').value = label.name;
        $('label-color').value = label.color;
        $('label-submit').textContent = 'Guardar cambios';
        $('label-cancel').hidden = false;
        $('label-name').focus();
      }));
      actions.push(button(`Borrar «${label.name}»`, () => {
        if (!window.confirm(`¿Borrar la etiqueta «${label.name}»? Se quitará de las conversaciones.`)) return;
        guarded(async () => {
          await api('DELETE', `/labels/${label.id}`);
          await loadLabels();
        }, `Etiqueta «${label.name}» borrada.`);
      }, 'danger'));
    }
    cell(tr, actions, 'actions');
    body.append(tr);
  }
  $('labels-empty').hidden = state.labels.length > 0;
}

async function loadLabels() {
  state.labels = await api('GET', '/labels');
  renderLabels();
}

function saveLabel(event) {
  event.preventDefault();
  const id = $('label-id').value;
  const body = { name: $('label-name').value.trim(), color: $('label-color').value };
  guarded(async () => {
    await api(id ? 'PATCH' : 'POST', id ? `/labels/${id}` : '/labels', body);
    resetLabelForm();
    await loadLabels();
  }, id ? 'Etiqueta guardada.' : `Etiqueta «${body.name}» añadida.`);
}

// --- canned answers --------------------------------------------------------------------------------

function unitName(c) {
  return c.unit ? c.unit.name : 'Compartida (todas las unidades)';
}

function resetCannedForm() {
  $('canned-id').value = '';
  $('canned-shortcut').value = '';
  $('canned-title-input').value = '';
  $('canned-body').value = '';
  $('canned-unit').disabled = false;
  $('canned-submit').textContent = 'Añadir respuesta';
  $('canned-cancel').hidden = true;
}

function renderCanned() {
  const body = $('canned-rows');
  body.replaceChildren();
  for (const c of state.canned) {
    const tr = document.createElement('tr');
    cell(tr, `/${c.shortcut.replace(/^\//, '')}`);
    cell(tr, c.title);
    cell(tr, unitName(c));
    cell(tr, c.body);
    const actions = [];
    if (canEditCanned(c) || (isAdmin() && !c.unit)) {
      actions.push(button(`Editar «${c.title}»`, () => {
        $('canned-id').value = c.id;
        $('canned-unit').value = c.unit ? c.unit.code : SHARED;
        $('canned-unit').disabled = true; // a ready answer stays in its unit
        $('canned-shortcut').value = c.shortcut;
        $('canned-title-input').value = c.title;
        $('canned-body').value = c.body;
        $('canned-submit').textContent = 'Guardar cambios';
        $('canned-cancel').hidden = false;
        $('canned-shortcut').focus();
      }));
      actions.push(button(`Borrar «${c.title}»`, () => {
        if (!window.confirm(`¿Borrar la respuesta «${c.title}»?`)) return;
        guarded(async () => {
          await api('DELETE', `/canned/${c.id}`);
          await loadCanned();
        }, `Respuesta «${c.title}» borrada.`);
      }, 'danger'));
    }
    cell(tr, actions, 'actions');
    body.append(tr);
  }
  $('canned-empty').hidden = state.canned.length > 0;
}

async function loadCanned() {
  state.canned = await api('GET', '/canned');
  renderCanned();
}

function saveCanned(event) {
  event.preventDefault();
  const id = $('canned-id').value;
  const body = {
    shortcut: $('canned-shortcut').value.trim(),
    title: $('canned-title-input').value.trim(),
    body: $('canned-body').value,
  };
  if (!id && $('canned-unit').value !== SHARED) body.unit_code = $('canned-unit').value;
  guarded(async () => {
    await api(id ? 'PATCH' : 'POST', id ? `/canned/${id}` : '/canned', body);
    resetCannedForm();
    await loadCanned();
  }, id ? 'Respuesta guardada.' : `Respuesta «${body.title}» añadida.`);
}

function fillUnits() {
  const select = $('canned-unit');
  select.replaceChildren();
  const option = (value, text) => {
    const el = document.createElement('option');
    el.value = value;
    el.textContent = text;
    select.append(el);
  };
  if (isAdmin()) {
    option(SHARED, 'Compartida (todas las unidades)');
    for (const unit of state.units) option(unit.code, unit.name);
  } else if (state.agent.unit) {
    option(state.agent.unit.code, state.agent.unit.name);
  }
}

async function start() {
  state.token = sessionStorage.getItem(TOKEN_KEY);
  try {
    state.agent = JSON.parse(sessionStorage.getItem(AGENT_KEY) || 'null');
  } catch {
    state.agent = null;
  }
  if (!state.token || !state.agent) {
    $('settings-login').hidden = false;
    return;
  }
  $('labels-block').hidden = false;
  $('canned-block').hidden = false;
  $('label-form').hidden = !isAdmin();
  $('labels-readonly').hidden = isAdmin();
  const managesCanned = isAdmin() || state.agent.role === 'n2';
  $('canned-form').hidden = !managesCanned;
  $('canned-readonly').hidden = managesCanned;
  $('label-form').addEventListener('submit', saveLabel);
  $('label-cancel').addEventListener('click', resetLabelForm);
  $('canned-form').addEventListener('submit', saveCanned);
  $('canned-cancel').addEventListener('click', resetCannedForm);
  await guarded(async () => {
    if (isAdmin()) state.units = await api('GET', '/units');
    fillUnits();
    await Promise.all([loadLabels(), loadCanned()]);
  }, '');
}

start();
