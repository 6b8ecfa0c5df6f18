// Tuatención — Escritorio: la respuesta formal a quejas y sugerencias (borrador con versiones,
// «Enviar a revisión», «Aprobar y enviar», «Devolver a la unidad»). Contrato: docs/quejas.md.
// Usa window.tuaDesk (desk.js) y sus eventos: tua:session, tua:case, tua:live.
// Todo texto recibido se pinta con nodos de texto: nunca innerHTML.

const desk = window.tuaDesk;
const { api, h, toast, show, setAlert, timeEl, state } = desk;

// Quién supervisa (ver can_supervise en desk_api/services/supervision.py).
const SUPERVISING_ROLES = ['admin', 'supervisor'];
const STATE_LABELS = {
  sin_borrador: 'Sin borrador todavía',
  borrador: 'Borrador (privado hasta que se envíe)',
  en_revision: 'En revisión: pendiente de aprobación por supervisión',
  devuelta: 'Devuelta a la unidad',
  enviada: 'Enviada a la persona',
};

const my = { code: null, draft: null };

function canSupervise() {
  return Boolean(state.agent && SUPERVISING_ROLES.includes(state.agent.role));
}

const stateLine = h('p', { id: 'case-draft-state', class: 'muted', role: 'status' }, '');
const commentLine = h('p', { id: 'case-draft-comment', class: 'alert alert--info', hidden: true }, '');
const text = h('textarea', { id: 'case-draft-text', class: 'reply__input', rows: '6', maxlength: '4000' });
const saveButton = h('button', { id: 'case-draft-save', type: 'button', class: 'btn' }, 'Guardar borrador');
const submitButton = h('button', { id: 'case-draft-submit', type: 'button', class: 'btn btn--primary' }, 'Enviar a revisión');
const sendButton = h('button', { id: 'case-draft-send', type: 'button', class: 'btn btn--primary' }, 'Enviar respuesta');
const approveButton = h('button', { id: 'case-draft-approve', type: 'button', class: 'btn btn--primary' }, 'Aprobar y enviar');
const returnComment = h('textarea', { id: 'case-draft-return-text', class: 'reply__input', rows: '2', maxlength: '2000' });
const returnButton = h('button', { id: 'case-draft-return', type: 'button', class: 'btn' }, 'Devolver a la unidad');
const revisions = h('ul', { id: 'case-draft-revisions', class: 'derivations' });
const error = h('p', { id: 'case-draft-error', class: 'alert alert--error', role: 'alert', hidden: true }, '');
const returnBox = h('div', { class: 'reply', hidden: true },
  h('label', { for: 'case-draft-return-text', class: 'section-title' }, 'Comentario para la unidad (no lo ve la persona)'),
  returnComment,
  h('div', { class: 'reply__bar' }, returnButton));
const panel = h('section', { id: 'case-draft', 'aria-labelledby': 'case-draft-title', hidden: true },
  h('h4', { id: 'case-draft-title', class: 'section-title' }, 'Respuesta formal'),
  stateLine,
  commentLine,
  h('div', { class: 'reply' },
    h('label', { for: 'case-draft-text', class: 'section-title' }, 'Texto de la respuesta'),
    text,
    h('div', { class: 'reply__bar' }, saveButton, submitButton, sendButton, approveButton)),
  returnBox,
  h('h4', { class: 'section-title' }, 'Versiones del borrador'),
  revisions,
  error);

function mount() {
  const form = document.getElementById('case-answer-form');
  if (form && !panel.isConnected) form.before(panel);
}

function render(d) {
  my.draft = d;
  show(panel, true);
  stateLine.textContent = `Estado: ${STATE_LABELS[d.state] || d.state}` +
    (d.approval_required ? ' · requiere aprobación de supervisión' : '');
  commentLine.textContent = d.comment ? `Comentario de supervisión: ${d.comment}` : '';
  show(commentLine, Boolean(d.comment) && d.state !== 'enviada');
  if (document.activeElement !== text || !text.value) text.value = d.current || '';
  const open = !['respondida', 'cerrada'].includes(d.case_status);
  text.readOnly = !(d.can_edit || d.can_approve);
  show(saveButton, d.can_edit);
  show(submitButton, d.can_edit && d.approval_required);
  submitButton.disabled = !d.current;
  show(sendButton, d.can_edit && !d.approval_required);
  sendButton.disabled = !d.current;
  show(approveButton, d.can_approve);
  show(returnBox, d.can_approve);
  revisions.replaceChildren(...d.revisions.slice().reverse().map((r) => h('li', {},
    h('strong', {}, `Versión ${r.number}`), ` · ${r.author} · `, timeEl(r.created_at, { full: true }),
    h('div', { class: 'muted' }, r.text))));
  if (!d.revisions.length) revisions.replaceChildren(h('li', { class: 'muted' }, 'Ninguna todavía.'));
  // The one-step answer stays only where no approval is needed and no draft was started.
  const oneStep = open && !d.approval_required && d.state === 'sin_borrador';
  for (const id of ['case-answer-text', 'case-answer-send']) show(document.getElementById(id), oneStep);
  const label = document.querySelector('label[for="case-answer-text"]');
  if (label) show(label, oneStep);
}

async function load(c) {
  my.code = c.code;
  mount();
  setAlert(error, '');
  try {
    render(await api('GET', `/cases/${encodeURIComponent(c.code)}/draft`));
  } catch (err) {
    show(panel, false); // N1: the draft is private to the unit and supervision
    if (err.status !== 403 && err.status !== -1) setAlert(document.getElementById('case-error'), err.message);
  }
}

async function step(method, suffix, body, done) {
  setAlert(error, '');
  try {
    const d = await api(method, `/cases/${encodeURIComponent(my.code)}/draft${suffix}`, { body });
    render(d);
    if (done) toast(done);
    if (d.state === 'enviada') await desk.openCase(my.code); // the answer and history
    desk.loadCases();
  } catch (err) {
    if (err.status !== -1) setAlert(error, err.message);
  }
}

saveButton.addEventListener('click', () => {
  const value = text.value.trim();
  if (!value) return setAlert(error, 'Escriba la respuesta antes de guardarla.');
  return step('PUT', '', { text: value, version: my.draft.version }, 'Borrador guardado.');
});
submitButton.addEventListener('click', () => step('POST', '/submit', { version: my.draft.version },
  'Respuesta enviada a revisión.'));
sendButton.addEventListener('click', () => step('POST', '/send', { version: my.draft.version },
  'Respuesta enviada a la persona.'));
approveButton.addEventListener('click', () => {
  const value = text.value.trim();
  if (!value) return setAlert(error, 'La respuesta no puede estar vacía.');
  return step('POST', '/approve', { text: value, version: my.draft.version },
    'Respuesta aprobada y enviada a la persona.');
});
returnButton.addEventListener('click', () => {
  const comment = returnComment.value.trim();
  if (!comment) return setAlert(error, 'Explique a la unidad qué debe cambiar antes de devolverla.');
  returnComment.value = '';
  return step('POST', '/return', { comment, version: my.draft.version }, 'Respuesta devuelta a la unidad.');
});

function onSession() {
  const option = document.querySelector('#cases-status option[value="pendiente_aprobacion"]');
  if (option) {
    option.hidden = !canSupervise();
    option.disabled = !canSupervise();
  }
}

document.addEventListener('tua:session', onSession);
document.addEventListener('tua:case', (event) => load(event.detail));
document.addEventListener('tua:live', (event) => {
  const data = event.detail || {};
  if (data.type === 'case.answer' && data.code === my.code && my.code && !panel.hidden) {
    load({ code: my.code });
  }
});
onSession();
