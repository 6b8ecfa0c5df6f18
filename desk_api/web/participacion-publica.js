// Tuatención — public page «Participación ciudadana»: the open processes, their documents and
// the proposals the units published (personal data already masked by the server).

const $ = (id) => document.getElementById(id);
const when = new Intl.DateTimeFormat('es-ES', { dateStyle: 'long' });
const KB = 1024;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function size(bytes) {
  return bytes < KB * KB ? `${Math.max(1, Math.round(bytes / KB))} KB` : `${(bytes / KB / KB).toFixed(1)} MB`;
}

function proposal(item) {
  const li = el('li', { className: 'proposal' },
    el('h4', { textContent: item.titulo }),
    el('p', { className: 'meta', textContent: `Enviada el ${when.format(new Date(item.fecha))}` }),
    el('p', { textContent: item.texto }));
  if (item.respuesta) {
    li.append(el('div', { className: 'answer' },
      el('p', {}, el('strong', { textContent: 'Respuesta de la unidad: ' }), item.respuesta)));
  }
  return li;
}

function processCard(item) {
  const headingId = `proceso-${item.id}`;
  const card = el('article', { className: 'process' });
  card.setAttribute('aria-labelledby', headingId);
  card.append(
    el('h2', { id: headingId, textContent: item.titulo }),
    el('p', { className: 'meta' }, el('span', { className: 'badge', textContent: 'Abierto' }),
      ` ${item.unidad} · Hasta el ${item.fin_texto}`),
    el('p', { textContent: item.descripcion }));
  if (item.documentos.length) {
    card.append(el('h3', { textContent: 'Documentación' }));
    const list = el('ul');
    for (const doc of item.documentos) {
      list.append(el('li', {}, el('a', { href: doc.url, textContent: doc.nombre }), ` (${size(doc.bytes)})`));
    }
    card.append(list);
  }
  card.append(el('h3', { textContent: `Propuestas publicadas (${item.propuestas.length})` }));
  if (item.propuestas.length) {
    card.append(el('ul', { className: 'proposals' }, ...item.propuestas.map(proposal)));
  } else {
    card.append(el('p', { className: 'meta', textContent: 'Todavía no hay propuestas publicadas.' }));
  }
  return card;
}

async function load() {
  try {
    const response = await fetch('/api/participacion/procesos');
    if (!response.ok) throw new Error(String(response.status));
    const processes = await response.json();
    $('procesos').replaceChildren(...processes.map(processCard));
    $('estado').textContent = processes.length
      ? `${processes.length === 1 ? 'Hay 1 proceso abierto' : `Hay ${processes.length} procesos abiertos`}.`
      : 'Ahora mismo no hay ningún proceso de participación abierto.';
  } catch {
    $('estado').textContent = 'No se han podido cargar los procesos. Inténtelo de nuevo en unos minutos.';
  }
}

load();
