// Tuatención — «Participación ciudadana» in the desk: N2 units manage their processes
// (create, edit, publish, close, documents) and moderate and answer the proposals; other units'
// processes are read-only. Uses the desk's session (same tab: sessionStorage), like csat.js.

const TOKEN_KEY = 'tuatencion.desk.token';
const AGENT_KEY = 'tuatencion.desk.agent';
const API = '/api/desk/participation';
const STATUS = { draft: 'Borrador', scheduled: 'Programado', open: 'Abierto', closed: 'Cerrado' };
const PROPOSAL_STATUS = {
  received: 'Pendiente de revisar', published: 'Publicada', rejected: 'No publicada', answered: 'Respondida',
};
const CHANNELS = { webchat: 'chat web', whatsapp: 'WhatsApp', telegram: 'Telegram', voice: 'teléfono',
  email: 'correo electrónico', miespacio: 'Miespacio' };

const $ = (id) => document.getElementById(id);
const day = new Intl.DateTimeFormat('es-ES', { dateStyle: 'long', timeZone: 'UTC' });
const moment = new Intl.DateTimeFormat('es-ES', { dateStyle: 'short', timeStyle: 'short' });
// drafts: what the agent is writing in a proposal's reason/answer box, by the box's id, so a
// live update (another agent's action, or the echo of one's own) never wipes it.
const state = { token: null, agent: null, processes: [], current: null, editing: null, drafts: {} };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function spanishDay(iso) {
  return day.format(new Date(`${iso}T00:00:00Z`));
}

function say(text) {
  $('message').textContent = text;
}

function fail(text) {
  $('error').textContent = text;
  $('error').hidden = !text;
}

async function api(method, path, body) {
  const options = { method, headers: { Authorization: `Bearer ${state.token}` } };
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const response = await fetch(`${API}${path}`, options);
  if (response.status === 401) {
    $('login-needed').hidden = false;
    throw new Error('Sesión caducada. Vuelva a iniciar sesión en el escritorio.');
  }
  if (!response.ok) {
    let detail = 'No se ha podido completar la operación. Inténtelo de nuevo.';
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      // not JSON: keep the general sentence
    }
    throw new Error(detail);
  }
  return response;
}

async function act(work, done) {
  fail('');
  try {
    await work();
    if (done) say(done);
  } catch (error) {
    fail(error.message);
  }
}

// -- the list ------------------------------------------------------------------------------------

function renderList() {
  const list = $('process-list');
  list.replaceChildren(...state.processes.map((p) => {
    const button = el('button', { type: 'button' },
      el('strong', { textContent: p.title }),
      el('span', { className: 'meta', textContent: ` — ${p.unit.name}` }),
      el('br'),
      el('span', { className: 'badge', textContent: STATUS[p.status] }),
      el('span', { className: 'meta', textContent: ` ${pending(p)}` }));
    button.setAttribute('aria-current', String(state.current?.id === p.id));
    button.addEventListener('click', () => select(p.id));
    return el('li', {}, button);
  }));
  $('list-empty').hidden = state.processes.length > 0;
}

function pending(process) {
  const waiting = process.proposal_counts.received || 0;
  const total = Object.values(process.proposal_counts).reduce((a, b) => a + b, 0);
  return `${total} ${total === 1 ? 'propuesta' : 'propuestas'}${waiting ? `, ${waiting} por revisar` : ''}`;
}

async function loadList() {
  state.processes = await (await api('GET', '/processes')).json();
  if (state.current) state.current = state.processes.find((p) => p.id === state.current.id) || null;
  renderList();
}

// -- one process ---------------------------------------------------------------------------------

async function select(id) {
  state.current = state.processes.find((p) => p.id === id) || null;
  renderList();
  $('process-form').hidden = true;
  await renderProcess();
  $('detail-title').focus();
}

async function renderProcess() {
  const p = state.current;
  $('detail-panel').hidden = false;
  $('process-view').hidden = !p;
  if (!p) return;
  $('detail-title').textContent = p.title;
  $('detail-title').tabIndex = -1;
  $('d-meta').textContent = `${p.unit.name} · ${STATUS[p.status]} · del ${spanishDay(p.starts_on)} al ${spanishDay(p.ends_on)}`;
  $('d-description').textContent = p.description;
  $('d-actions').hidden = !p.may_manage;
  $('d-edit').hidden = p.status === 'closed';
  $('d-publish').hidden = p.status !== 'draft';
  $('d-close').hidden = !['open', 'scheduled'].includes(p.status);
  $('upload-form').hidden = !p.may_manage || p.status === 'closed';
  $('d-documents').replaceChildren(...(p.documents.length ? p.documents.map((d) => {
    const link = el('a', { href: '#', textContent: d.filename });
    link.addEventListener('click', (event) => {
      event.preventDefault();
      act(() => download(d));
    });
    return el('li', {}, link, ` (${Math.max(1, Math.round(d.size_bytes / 1024))} KB)`);
  }) : [el('li', { textContent: 'Sin documentos.' })]));
  await renderProposals();
}

async function download(document_) {
  const blob = await (await api('GET', `/documents/${document_.id}`)).blob();
  const link = el('a', { href: URL.createObjectURL(blob), download: document_.filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

async function renderProposals() {
  const p = state.current;
  const filter = $('d-filter').value;
  const query = filter ? `?status=${filter}` : '';
  const proposals = await (await api('GET', `/processes/${p.id}/proposals${query}`)).json();
  const focused = document.activeElement && document.activeElement.id;
  $('d-proposals').replaceChildren(...(proposals.length ? proposals.map((x) => proposalView(p, x))
    : [el('p', { className: 'status', textContent: 'No hay propuestas con ese filtro.' })]));
  if (focused && $('d-proposals').querySelector(`[id="${focused}"]`)) $(focused).focus();
}

function draftBox(id, maxLength) {
  const box = el('textarea', { id, maxLength, value: state.drafts[id] || '' });
  box.addEventListener('input', () => { state.drafts[id] = box.value; });
  return box;
}

function proposalView(process, proposal) {
  const box = el('article', { className: 'proposal' });
  const headingId = `propuesta-${proposal.id}`;
  box.setAttribute('aria-labelledby', headingId);
  box.append(
    el('h4', { id: headingId, textContent: proposal.title }),
    el('p', { className: 'meta' }, el('span', { className: 'badge', textContent: PROPOSAL_STATUS[proposal.status] }),
      ` Recibida el ${moment.format(new Date(proposal.created_at))} por ${CHANNELS[proposal.channel] || proposal.channel}`),
    el('p', { textContent: proposal.text }));
  if (proposal.rejection_reason) box.append(el('p', { className: 'meta', textContent: `Motivo: ${proposal.rejection_reason}` }));
  if (proposal.answer) box.append(el('p', {}, el('strong', { textContent: 'Respuesta: ' }), proposal.answer));
  if (!process.may_manage) return box;
  if (proposal.status === 'received') {
    const reasonId = `motivo-${proposal.id}`;
    const reason = draftBox(reasonId, 2000);
    const publish = el('button', { type: 'button', className: 'action primary', textContent: 'Publicar' });
    const reject = el('button', { type: 'button', className: 'action', textContent: 'No publicar' });
    publish.addEventListener('click', () => act(() => moderate(proposal, 'publish', null), 'Propuesta publicada.'));
    reject.addEventListener('click', () => act(async () => {
      await moderate(proposal, 'reject', reason.value);
      delete state.drafts[reasonId];
    }, 'Propuesta no publicada; se ha informado a la persona.'));
    box.append(el('label', { htmlFor: reasonId, textContent: 'Motivo si no se publica (se le comunica a la persona)' }),
      reason, el('div', { className: 'row' }, publish, reject));
  } else if (proposal.status === 'published') {
    const answerId = `respuesta-${proposal.id}`;
    const text = draftBox(answerId, 4000);
    const send = el('button', { type: 'button', className: 'action primary', textContent: 'Responder' });
    send.addEventListener('click', () => act(async () => {
      await api('POST', `/proposals/${proposal.id}/answer`, { text: text.value });
      delete state.drafts[answerId];
      await refresh();
    }, 'Respuesta publicada y enviada a la persona.'));
    box.append(el('label', { htmlFor: answerId, textContent: 'Respuesta pública de la unidad' }), text,
      el('div', { className: 'row' }, send));
  }
  return box;
}

async function moderate(proposal, decision, reason) {
  await api('POST', `/proposals/${proposal.id}/moderate`, { decision, reason });
  await refresh();
}

// -- the form ------------------------------------------------------------------------------------

function openForm(process) {
  state.editing = process;
  $('form-title').textContent = process ? 'Editar el proceso' : 'Nuevo proceso';
  $('f-title').value = process?.title || '';
  $('f-description').value = process?.description || '';
  $('f-start').value = process?.starts_on || '';
  $('f-end').value = process?.ends_on || '';
  $('f-unit-wrap').hidden = state.agent?.role !== 'admin' || Boolean(process);
  $('process-form').hidden = false;
  $('process-view').hidden = true;
  $('detail-panel').hidden = false;
  $('f-title').focus();
}

async function saveForm(event) {
  event.preventDefault();
  const body = {
    title: $('f-title').value,
    description: $('f-description').value,
    starts_on: $('f-start').value,
    ends_on: $('f-end').value,
  };
  if (!state.editing && $('f-unit').value) body.unit_code = $('f-unit').value.trim();
  await act(async () => {
    const path = state.editing ? `/processes/${state.editing.id}` : '/processes';
    const saved = await (await api(state.editing ? 'PUT' : 'POST', path, body)).json();
    $('process-form').hidden = true;
    await loadList();
    await select(saved.id);
  }, state.editing ? 'Proceso guardado.' : 'Proceso creado como borrador: publíquelo cuando esté listo.');
}

async function refresh() {
  await loadList();
  if (state.current && $('process-form').hidden) await renderProcess();
}

function live() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${location.host}${API}/ws?token=${encodeURIComponent(state.token)}`);
  socket.addEventListener('open', () => { $('live-status').textContent = 'En directo'; });
  socket.addEventListener('message', (event) => {
    const data = JSON.parse(event.data);
    if (data.type !== 'ping') refresh().catch(() => {});
  });
  socket.addEventListener('close', () => {
    $('live-status').textContent = 'Sin conexión en directo; reintentando…';
    setTimeout(live, 5000);
  });
}

async function start() {
  state.token = sessionStorage.getItem(TOKEN_KEY);
  try {
    state.agent = JSON.parse(sessionStorage.getItem(AGENT_KEY) || 'null');
  } catch {
    state.agent = null;
  }
  if (!state.token) {
    $('login-needed').hidden = false;
    $('live-status').textContent = 'Sin sesión';
    return;
  }
  $('list-panel').hidden = false;
  $('new-process').hidden = !['n2', 'admin'].includes(state.agent?.role);
  $('new-process').addEventListener('click', () => openForm(null));
  $('form-cancel').addEventListener('click', () => {
    $('process-form').hidden = true;
    renderProcess();
  });
  $('process-form').addEventListener('submit', saveForm);
  $('d-edit').addEventListener('click', () => openForm(state.current));
  $('d-publish').addEventListener('click', () => act(async () => {
    await api('POST', `/processes/${state.current.id}/publish`);
    await refresh();
  }, 'Proceso publicado.'));
  $('d-close').addEventListener('click', () => act(async () => {
    await api('POST', `/processes/${state.current.id}/close`);
    await refresh();
  }, 'Proceso cerrado: ya no admite propuestas.'));
  $('upload-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const file = $('d-file').files[0];
    if (!file) return fail('Elija un archivo.');
    const form = new FormData();
    form.append('file', file);
    act(async () => {
      await api('POST', `/processes/${state.current.id}/documents`, form);
      $('d-file').value = '';
      await refresh();
    }, 'Documento añadido.');
  });
  $('d-filter').addEventListener('change', () => act(renderProposals));
  await act(loadList);
  live();
}

start();
