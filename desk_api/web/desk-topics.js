// Tuatención — Escritorio: la categoría de cada conversación (de qué trámite trata): el filtro de
// las listas y la corrección en el detalle. Contrato: GET /categories, PUT …/category.
// Usa window.tuaDesk (desk.js) y sus eventos tua:session y tua:detail.

const desk = window.tuaDesk;
const { api, h, toast, setAlert } = desk;
const filter = document.getElementById('filter-category');
const select = document.getElementById('category-select');
let shown = null; // the conversation in the detail

function fill(el, categories) {
  const first = el.options[0];
  el.replaceChildren(first, ...categories.map((c) => h('option', { value: c }, c)));
}

async function loadCategories() {
  try {
    const categories = await api('GET', '/categories');
    fill(filter, categories);
    fill(select, categories);
  } catch {
    // Without the knowledge base's list the filter offers «Todas» only; nothing else breaks.
  }
}

document.addEventListener('tua:session', loadCategories);
if (desk.state.agent) loadCategories(); // the session started before this module ran

document.addEventListener('tua:detail', (event) => {
  shown = event.detail.id;
  const category = event.detail.category || '';
  if (category && ![...select.options].some((o) => o.value === category)) {
    select.append(h('option', { value: category }, category));
  }
  select.value = category;
});

select.addEventListener('change', async () => {
  if (!shown) return;
  const id = shown;
  const category = select.value || null;
  try {
    await api('PUT', `/conversations/${encodeURIComponent(id)}/category`, { body: { category } });
    toast(category ? `Categoría: ${category}.` : 'Conversación sin categoría.');
  } catch (error) {
    setAlert(document.getElementById('detail-error'), error.message);
  }
});
