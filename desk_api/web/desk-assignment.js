// Tuatención — Escritorio: asignación (estado del informador, «Posponer», «Devolver a N1»,
// reasignar, panel del equipo para la supervisión). Contrato: docs/assignment.md.
// Usa window.tuaDesk (desk.js) y sus eventos: tua:session, tua:detail, tua:actions, tua:live.
// Todo texto recibido se pinta con nodos de texto: nunca innerHTML.

const desk = window.tuaDesk;
const { api, h, toast, show, setAlert, timeEl, state } = desk;

const STATUS_LABELS = { available: 'Disponible', busy: 'Ocupado', away: 'Ausente' };
const STATUS_HINTS = {
  available: 'Recibe conversaciones automáticamente hasta su capacidad.',
  busy: 'Conserva las suyas, pero no recibe nuevas.',
  away: 'No recibe conversaciones.',
};
// Quién supervisa (ver can_supervise en desk_api/services/supervision.py).
const SUPERVISING_ROLES = ['admin', 'supervisor'];
const ASSIGNABLE_ROLES = ['n1', 'n2'];

const my = { status: null, agentsTimer: null, statusTimer: null, agents: [] };

function canSupervise() {
  return Boolean(state.agent && SUPERVISING_ROLES.includes(state.agent.role));
}

function assignable() {
  return Boolean(state.agent && ASSIGNABLE_ROLES.includes(state.agent.role));
}

function detailError(text) {
  setAlert(document.getElementById('detail-error'), text);
}

/* ------------------------------------------------------------------ cabecera: estado */

const statusSelect = h('select', { id: 'agent-status', class: 'status-select', 'aria-describedby': 'agent-status-hint' },
  ...Object.entries(STATUS_LABELS).map(([value, text]) => h('option', { value }, text)));
const statusHint = h('span', { id: 'agent-status-hint', class: 'visually-hidden' }, '');
const statusBox = h('div', { class: 'agent-status', hidden: true },
  h('label', { for: 'agent-status', class: 'agent-status__label' }, 'Mi estado'),
  statusSelect,
  h('span', { class: 'agent-status__load', id: 'agent-load', 'aria-live': 'polite' }),
  statusHint);
const teamButton = h('button', {
  id: 'team-toggle', type: 'button', class: 'btn btn--on-dark', hidden: true,
  'aria-haspopup': 'dialog', onclick: () => openTeam(),
}, 'Equipo');

const topbar = document.querySelector('.topbar__right');
const logoutButton = document.getElementById('logout-button');
topbar.insertBefore(statusBox, logoutButton.parentElement === topbar ? logoutButton : null);
topbar.insertBefore(teamButton, logoutButton.parentElement === topbar ? logoutButton : null);

function paintStatus(load) {
  if (!load) return;
  my.status = load.status;
  statusSelect.value = load.status;
  statusBox.dataset.status = load.status;
  statusHint.textContent = STATUS_HINTS[load.status] || '';
  document.getElementById('agent-load').textContent = `${load.open_conversations}/${load.capacity} abiertas`;
  document.getElementById('agent-load').title = 'Conversaciones abiertas asignadas / capacidad';
}

async function loadStatus() {
  if (!assignable()) return;
  try {
    paintStatus(await api('GET', '/agents/me/status'));
  } catch (error) {
    if (error.status !== 401 && error.status !== -1) toast(`No se ha podido leer su estado. ${error.message}`, { kind: 'error' });
  }
}

statusSelect.addEventListener('change', async () => {
  const wanted = statusSelect.value;
  statusSelect.disabled = true;
  try {
    const load = await api('PUT', '/agents/me/status', { body: { status: wanted } });
    paintStatus(load);
    toast(`Estado: ${STATUS_LABELS[load.status]}. ${STATUS_HINTS[load.status]}`);
    desk.refreshLists();
  } catch (error) {
    if (my.status) statusSelect.value = my.status;
    if (error.status !== 401 && error.status !== -1) toast(`No se ha podido cambiar su estado. ${error.message}`, { kind: 'error' });
  } finally {
    statusSelect.disabled = false;
  }
});

// Cerrar sesión deja al informador «Ausente» (antes de que desk.js borre el token).
document.addEventListener('click', (event) => {
  if (!event.target.closest || !event.target.closest('#logout-button')) return;
  if (!state.token || !assignable()) return;
  fetch('/api/desk/auth/logout', {
    method: 'POST', keepalive: true, headers: { Authorization: `Bearer ${state.token}` },
  }).catch(() => {});
}, true);

document.addEventListener('tua:session', () => {
  show(statusBox, assignable());
  show(teamButton, canSupervise());
  loadStatus();
});

/* ------------------------------------------------------------------ lista: «Pospuesta» */

const snoozeFormat = new Intl.DateTimeFormat('es-ES', {
  day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit',
});

function snoozeText(s) {
  if (!s.until) return 'Pospuesta hasta que responda';
  const when = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(s.until) ? s.until : `${s.until}Z`);
  return `Pospuesta hasta ${snoozeFormat.format(when)}`;
}

desk.listBadges.push((c) => (c.snooze
  ? h('span', { class: 'badge badge--snoozed' }, snoozeText(c.snooze))
  : null));

/* ------------------------------------------------------------------ acciones del detalle */

const btnSnooze = h('button', { id: 'btn-snooze', type: 'button', class: 'btn', hidden: true, 'aria-haspopup': 'dialog', onclick: () => openSnooze() }, 'Posponer');
const btnWake = h('button', { id: 'btn-wake', type: 'button', class: 'btn', hidden: true, onclick: () => wake() }, 'Reactivar');
const btnReturn = h('button', { id: 'btn-return', type: 'button', class: 'btn', hidden: true, 'aria-haspopup': 'dialog', onclick: () => openReturn() }, 'Devolver a N1');
const btnReassign = h('button', { id: 'btn-reassign', type: 'button', class: 'btn', hidden: true, 'aria-haspopup': 'dialog', onclick: () => openReassign() }, 'Reasignar');
document.querySelector('.detail__actions').append(btnSnooze, btnWake, btnReturn, btnReassign);

document.addEventListener('tua:actions', (event) => {
  const d = event.detail;
  const mine = desk.isMine(d);
  const open = Boolean(d && d.controller === 'human' && (d.state === 'queued' || d.state === 'assigned'));
  show(btnSnooze, mine && !d.snooze);
  show(btnWake, mine && Boolean(d.snooze));
  show(btnReturn, mine && d.tier === 'n2' && state.agent.role !== 'n1');
  show(btnReassign, open && canSupervise());
  for (const b of [btnSnooze, btnWake, btnReturn, btnReassign]) b.disabled = Boolean(state.busy);
});

/* ------------------------------------------------------------------ respuesta de la unidad */

const unitAnswer = h('section', { id: 'unit-answer', class: 'unit-answer', 'aria-labelledby': 'unit-answer-title', hidden: true });
const conversationSection = document.getElementById('transcript').closest('section');
conversationSection.insertBefore(unitAnswer, document.getElementById('transcript'));

document.addEventListener('tua:detail', (event) => {
  const d = event.detail;
  const returned = (Array.isArray(d.derivations) ? d.derivations : []).filter((x) => x.return_answer);
  const last = returned[returned.length - 1];
  // A la vista de N1 mientras la conversación siga en N1 (no si se vuelve a derivar).
  const showIt = Boolean(last && d.tier !== 'n2');
  show(unitAnswer, showIt);
  if (!showIt) {
    unitAnswer.replaceChildren();
    return;
  }
  const unit = last.to_unit && last.to_unit.name ? last.to_unit.name : 'la unidad';
  const by = last.returned_by && last.returned_by.full_name ? ` (${last.returned_by.full_name})` : '';
  unitAnswer.replaceChildren(
    h('h4', { id: 'unit-answer-title', class: 'unit-answer__title' }, `Respuesta de ${unit}${by}`),
    h('p', { class: 'unit-answer__meta' }, 'Devuelta a N1 ', timeEl(last.returned_at, { full: true }),
      '. Es interna: transmítala al ciudadano con sus palabras.'),
    h('p', { class: 'unit-answer__text' }, last.return_answer),
  );
});

/* ------------------------------------------------------------------ diálogos */

function dialog(id, title, intro, fields, submitText, onSubmit) {
  const error = h('p', { id: `${id}-error`, class: 'alert alert--error', role: 'alert', hidden: true });
  const submit = h('button', { id: `${id}-submit`, type: 'submit', class: 'btn btn--primary' }, submitText);
  const cancel = h('button', { id: `${id}-cancel`, type: 'button', class: 'btn' }, 'Cancelar');
  const form = h('form', { novalidate: true },
    h('h2', { id: `${id}-title`, class: 'dialog__title' }, title),
    intro ? h('p', { class: 'dialog__intro' }, intro) : null,
    ...fields,
    error,
    h('div', { class: 'dialog__buttons' }, cancel, submit));
  const el = h('dialog', { id, class: 'dialog', 'aria-labelledby': `${id}-title` }, form);
  cancel.addEventListener('click', () => el.close());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    setAlert(error, '');
    submit.disabled = true;
    try {
      await onSubmit();
      el.close();
    } catch (err) {
      if (err.status !== 401 && err.status !== -1) setAlert(error, err.message);
    } finally {
      submit.disabled = false;
    }
  });
  (document.getElementById('app-view') || document.body).append(el);
  return { el, error };
}

function pad(n) {
  return String(n).padStart(2, '0');
}

function localInputValue(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// Posponer
const snoozeUntil = h('input', { id: 'snooze-until', type: 'datetime-local', 'aria-describedby': 'snooze-until-hint' });
const snoozeModeTime = h('input', { id: 'snooze-mode-time', type: 'radio', name: 'snooze-mode', value: 'time', checked: true });
const snoozeModeReply = h('input', { id: 'snooze-mode-reply', type: 'radio', name: 'snooze-mode', value: 'reply' });
const snoozeDialog = dialog(
  'snooze-dialog',
  'Posponer la conversación',
  'Sale de «Mías» y espera en «Pospuestas». Vuelve sola a la hora indicada o en cuanto el ciudadano escriba.',
  [
    h('fieldset', { class: 'field snooze__modes' },
      h('legend', {}, 'Hasta cuándo'),
      h('div', { class: 'snooze__mode' }, snoozeModeTime, h('label', { for: 'snooze-mode-time' }, 'Hasta una fecha y hora')),
      h('div', { class: 'field snooze__when' },
        h('label', { for: 'snooze-until' }, 'Fecha y hora'),
        snoozeUntil,
        h('p', { id: 'snooze-until-hint', class: 'field__hint' }, 'Como máximo, 30 días.')),
      h('div', { class: 'snooze__mode' }, snoozeModeReply, h('label', { for: 'snooze-mode-reply' }, 'Hasta que responda el ciudadano'))),
  ],
  'Posponer',
  async () => {
    const d = state.detail;
    const body = snoozeModeReply.checked
      ? { until_reply: true }
      : { until: snoozeUntil.value ? new Date(snoozeUntil.value).toISOString() : null };
    if (!snoozeModeReply.checked && !snoozeUntil.value) {
      snoozeUntil.setAttribute('aria-invalid', 'true');
      snoozeUntil.focus();
      throw Object.assign(new Error('Indique la fecha y la hora, o elija «Hasta que responda el ciudadano».'), { status: 422 });
    }
    snoozeUntil.removeAttribute('aria-invalid');
    await api('PUT', `/conversations/${encodeURIComponent(d.id)}/snooze`, { body });
    toast('Conversación pospuesta: la encontrará en «Pospuestas».');
    desk.refreshLists();
    desk.loadDetail();
  },
);
for (const radio of [snoozeModeTime, snoozeModeReply]) {
  radio.addEventListener('change', () => { snoozeUntil.disabled = snoozeModeReply.checked; });
}

function openSnooze() {
  if (!state.detail) return;
  const now = new Date();
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9, 0);
  snoozeUntil.min = localInputValue(now);
  snoozeUntil.max = localInputValue(new Date(now.getTime() + 30 * 24 * 3600 * 1000));
  snoozeUntil.value = localInputValue(tomorrow);
  snoozeUntil.disabled = false;
  snoozeUntil.removeAttribute('aria-invalid');
  snoozeModeTime.checked = true;
  setAlert(snoozeDialog.error, '');
  snoozeDialog.el.showModal();
  snoozeUntil.focus();
}

async function wake() {
  const d = state.detail;
  if (!d) return;
  try {
    await api('DELETE', `/conversations/${encodeURIComponent(d.id)}/snooze`);
    toast('La conversación vuelve a «Mías».');
    desk.refreshLists();
    desk.loadDetail();
  } catch (error) {
    if (error.status !== 401 && error.status !== -1) detailError(error.message);
  }
}

// Devolver a N1
const returnAnswer = h('textarea', { id: 'return-answer', rows: 6, maxlength: 4000, required: true, 'aria-describedby': 'return-answer-hint' });
const returnDialog = dialog(
  'return-dialog',
  'Devolver la conversación a N1',
  'N1 recibirá su respuesta para transmitírsela al ciudadano. El ciudadano no la ve ni llega al asistente.',
  [h('div', { class: 'field' },
    h('label', { for: 'return-answer' }, 'Respuesta de la unidad para N1 ', h('span', { class: 'required' }, '(obligatorio)')),
    returnAnswer,
    h('p', { id: 'return-answer-hint', class: 'field__hint' }, 'Máximo 4000 caracteres.'))],
  'Devolver a N1',
  async () => {
    const d = state.detail;
    if (!returnAnswer.value.trim()) {
      returnAnswer.setAttribute('aria-invalid', 'true');
      returnAnswer.focus();
      throw Object.assign(new Error('Escriba la respuesta de la unidad para N1.'), { status: 422 });
    }
    returnAnswer.removeAttribute('aria-invalid');
    await api('POST', `/conversations/${encodeURIComponent(d.id)}/return`, { body: { answer: returnAnswer.value } });
    toast('Conversación devuelta a N1 con su respuesta.');
    loadStatus(); // ya no la ve en directo: deja de ser de su unidad
    desk.refreshLists();
    desk.loadDetail();
  },
);

function openReturn() {
  if (!state.detail) return;
  returnAnswer.value = '';
  returnAnswer.removeAttribute('aria-invalid');
  setAlert(returnDialog.error, '');
  returnDialog.el.showModal();
  returnAnswer.focus();
}

// Reasignar (supervisión)
const reassignSelect = h('select', { id: 'reassign-agent', required: true });
const reassignDialog = dialog(
  'reassign-dialog',
  'Reasignar la conversación',
  'Pasa a la persona elegida aunque esté ocupada o al límite de su capacidad. El ciudadano recibirá un aviso.',
  [h('div', { class: 'field' },
    h('label', { for: 'reassign-agent' }, 'Informador ', h('span', { class: 'required' }, '(obligatorio)')),
    reassignSelect)],
  'Reasignar',
  async () => {
    const d = state.detail;
    if (!reassignSelect.value) throw Object.assign(new Error('Elija a quién reasignarla.'), { status: 422 });
    await api('POST', `/conversations/${encodeURIComponent(d.id)}/assign`, { body: { agent_id: Number(reassignSelect.value) } });
    toast('Conversación reasignada.');
    desk.refreshLists();
    desk.loadDetail();
  },
);

async function openReassign() {
  const d = state.detail;
  if (!d) return;
  setAlert(reassignDialog.error, '');
  try {
    const agents = await api('GET', '/agents');
    const fits = agents.filter((a) => (d.tier === 'n2'
      ? a.role === 'n2' && a.unit && d.unit && a.unit.code === d.unit.code
      : a.role === 'n1') && !(d.assigned_agent && d.assigned_agent.id === a.id));
    reassignSelect.replaceChildren(
      h('option', { value: '' }, fits.length ? 'Seleccione un informador' : 'No hay nadie más de ese nivel o unidad'),
      ...fits.map((a) => h('option', { value: String(a.id) },
        `${a.full_name} · ${STATUS_LABELS[a.status]} · ${a.open_conversations}/${a.capacity}`)),
    );
  } catch (error) {
    if (error.status !== 401 && error.status !== -1) detailError(error.message);
    return;
  }
  reassignDialog.el.showModal();
  reassignSelect.focus();
}

/* ------------------------------------------------------------------ panel del equipo */

const teamStatus = h('p', { id: 'team-status', class: 'list-status', role: 'status' });
const teamBody = h('tbody', { id: 'team-body' });
const teamDialog = h('dialog', { id: 'team-dialog', class: 'dialog dialog--wide', 'aria-labelledby': 'team-title' },
  h('h2', { id: 'team-title', class: 'dialog__title' }, 'Equipo: estado y carga'),
  h('p', { class: 'dialog__intro' }, 'Se actualiza en directo. La capacidad es el máximo de conversaciones abiertas que la asignación automática le da a cada persona.'),
  teamStatus,
  h('div', { class: 'team__scroll' },
    h('table', { class: 'team' },
      h('caption', { class: 'visually-hidden' }, 'Informadores con su estado, conversaciones abiertas y capacidad'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Informador'),
        h('th', { scope: 'col' }, 'Nivel'),
        h('th', { scope: 'col' }, 'Estado'),
        h('th', { scope: 'col' }, 'Abiertas / capacidad'),
        h('th', { scope: 'col' }, 'Cambiar capacidad'))),
      teamBody)),
  h('div', { class: 'dialog__buttons' },
    h('button', { type: 'button', class: 'btn', onclick: () => teamDialog.close() }, 'Cerrar')));
(document.getElementById('app-view') || document.body).append(teamDialog);

function teamRow(a) {
  const input = h('input', {
    type: 'number', min: 1, max: 50, value: String(a.capacity), class: 'team__capacity',
    id: `capacity-${a.id}`, 'aria-label': `Capacidad de ${a.full_name}`,
  });
  const save = h('button', { type: 'button', class: 'btn btn--small' }, 'Guardar');
  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      await api('PUT', `/agents/${a.id}/capacity`, { body: { capacity: Number(input.value) } });
      setAlert(teamStatus, `Capacidad de ${a.full_name}: ${input.value}.`);
      loadTeam();
    } catch (error) {
      if (error.status !== 401 && error.status !== -1) setAlert(teamStatus, error.message);
    } finally {
      save.disabled = false;
    }
  });
  const level = a.role === 'n2' && a.unit ? `N2 · ${a.unit.name}` : a.role.toUpperCase();
  return h('tr', { dataset: { agent: String(a.id) } },
    h('th', { scope: 'row' }, a.full_name),
    h('td', {}, level),
    h('td', {}, h('span', { class: `status-dot status-dot--${a.status}` }, STATUS_LABELS[a.status])),
    h('td', {}, `${a.open_conversations} / ${a.capacity}${a.capacity_is_default ? ' (por defecto)' : ''}`),
    h('td', { class: 'team__edit' }, input, save));
}

async function loadTeam() {
  if (!canSupervise()) return;
  try {
    my.agents = await api('GET', '/agents');
    teamBody.replaceChildren(...my.agents.map(teamRow));
    if (!my.agents.length) setAlert(teamStatus, 'No hay informadores activos.');
  } catch (error) {
    if (error.status !== 401 && error.status !== -1) setAlert(teamStatus, `No se ha podido cargar el equipo. ${error.message}`);
  }
}

function openTeam() {
  setAlert(teamStatus, '');
  loadTeam();
  teamDialog.showModal();
}

function scheduleStatus() {
  if (!assignable()) return;
  clearTimeout(my.statusTimer);
  my.statusTimer = setTimeout(loadStatus, 400);
}

function scheduleTeam() {
  if (!teamDialog.open) return;
  clearTimeout(my.agentsTimer);
  my.agentsTimer = setTimeout(loadTeam, 400);
}

/* ------------------------------------------------------------------ en directo */

document.addEventListener('tua:live', (event) => {
  const data = event.detail;
  const me = state.agent ? state.agent.id : null;
  if (data.type === 'agent.status') {
    if (data.agent && data.agent.id === me) paintStatus(data.agent);
    scheduleTeam();
    return;
  }
  if (!data.type || !data.type.startsWith('conversation.')) return;
  scheduleTeam();
  scheduleStatus(); // my open conversations may have changed (resolved, derived, returned…)
  const a = data.assignment;
  const c = data.conversation;
  if (!a || !c) return;
  const open = (view) => () => {
    desk.setView(view);
    desk.selectConversation(c.id, { focusDetail: true });
  };
  if (a.kind === 'assigned' && a.agent_id === me) {
    toast(a.mode === 'reassign' ? 'La supervisión le ha asignado una conversación.' : 'Se le ha asignado una conversación nueva.', {
      actionText: 'Ver', onAction: open('mine'),
    });
  } else if (a.kind === 'woken' && a.agent_id === me && a.reason !== 'agent') {
    toast(a.reason === 'citizen'
      ? 'El ciudadano ha escrito en una conversación pospuesta: vuelve a «Mías».'
      : 'Una conversación pospuesta vuelve a «Mías».', { actionText: 'Ver', onAction: open('mine') });
  } else if (a.kind === 'returned' && a.to_agent_id === me) {
    toast('La unidad ha devuelto a N1 una conversación que usted derivó, con su respuesta.', {
      actionText: 'Ver', onAction: open('all'),
    });
  }
});

// Si desk.js ya mostró el escritorio antes de cargarse este módulo.
if (state.agent && state.token) document.dispatchEvent(new CustomEvent('tua:session', { detail: state.agent }));
