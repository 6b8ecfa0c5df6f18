// Miespacio: the citizen's personal area. A small page over /miespacio/api (same origin; the
// session cookie is HttpOnly, the CSRF token lives only in this page's memory).

const API = "/miespacio/api";
const VIEWS = ["acceso", "resumen", "conversacion", "caso", "preferencias"];
const CHANNELS = {
  email: "Correo electrónico",
  sms: "SMS",
  telegram: "Telegram",
  whatsapp: "WhatsApp",
};
const SENDERS = { citizen: "Usted", bot: "Asistente", agent: "Equipo de atención", system: "Aviso" };
const POLL_MS = 15000;

const state = { csrf: "", challenge: "", conversation: null, lastSeq: 0, socket: null, poll: 0 };
const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = state.csrf;
  const response = await fetch(API + path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/acceso")) signedOut();
    throw new ApiError(response.status, data.detail || "No se ha podido completar la petición.");
  }
  return data;
}

// --- views ---------------------------------------------------------------------------------

function show(name, focus = true) {
  for (const view of VIEWS) $(`vista-${view}`).hidden = view !== name;
  $("menu").hidden = name === "acceso";
  for (const link of ["resumen", "preferencias"]) {
    const current = link === name || (link === "resumen" && ["conversacion", "caso"].includes(name));
    $(`nav-${link}`).toggleAttribute("aria-current", current);
    if (current) $(`nav-${link}`).setAttribute("aria-current", "page");
  }
  if (name !== "conversacion") stopLive();
  if (focus) $(`vista-${name}`).querySelector("h1").focus();
}

function notice(text) {
  $("aviso").textContent = text;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

const dateTime = new Intl.DateTimeFormat("es-ES", { dateStyle: "long", timeStyle: "short", timeZone: "Europe/Madrid" });
const dateOnly = new Intl.DateTimeFormat("es-ES", { dateStyle: "long", timeZone: "Europe/Madrid" });

function when(value) {
  if (!value) return "";
  return value.length === 10 ? dateOnly.format(new Date(`${value}T12:00:00`)) : dateTime.format(new Date(value));
}

function timeEl(value) {
  return el("time", { datetime: value }, when(value));
}

// --- login ---------------------------------------------------------------------------------

function signedOut() {
  state.csrf = "";
  stopLive();
  $("form-destino").hidden = false;
  $("form-codigo").hidden = true;
  show("acceso");
}

async function askCode(event) {
  event.preventDefault();
  const button = event.submitter || $("form-destino").querySelector("button");
  $("destino-error").textContent = "";
  $("destino").removeAttribute("aria-invalid");
  const destino = $("destino").value.trim();
  if (!destino) {
    $("destino-error").textContent = "Escriba su correo electrónico o su teléfono móvil.";
    $("destino").setAttribute("aria-invalid", "true");
    $("destino").focus();
    return;
  }
  button.disabled = true;
  try {
    const sent = await api("POST", "/acceso/codigo", { destino });
    state.challenge = sent.desafio;
    $("codigo-enviado").textContent = sent.mensaje;
    $("form-destino").hidden = true;
    $("form-codigo").hidden = false;
    $("codigo").value = "";
    $("codigo").focus();
  } catch (error) {
    $("destino-error").textContent = error.message;
    $("destino").setAttribute("aria-invalid", "true");
    $("destino").focus();
  } finally {
    button.disabled = false;
  }
}

async function signIn(event) {
  event.preventDefault();
  const button = event.submitter || $("form-codigo").querySelector("button[type=submit]");
  $("codigo-error").textContent = "";
  button.disabled = true;
  try {
    const session = await api("POST", "/acceso/verificar", { desafio: state.challenge, codigo: $("codigo").value });
    state.csrf = session.csrf_token;
    notice("Ha entrado en Miespacio.");
    if (location.hash && location.hash !== "#acceso") await route();
    else location.hash = "#resumen";
  } catch (error) {
    $("codigo-error").textContent = error.message;
    $("codigo").setAttribute("aria-invalid", "true");
    $("codigo").focus();
  } finally {
    button.disabled = false;
  }
}

function anotherCode() {
  $("form-codigo").hidden = true;
  $("form-destino").hidden = false;
  $("destino").focus();
}

async function signOut() {
  try {
    await api("POST", "/acceso/salir");
  } catch (error) {
    if (error.status !== 401) return notice(error.message);
  }
  notice("Ha cerrado la sesión. Hasta pronto.");
  history.replaceState(null, "", "#acceso");
  signedOut();
}

// --- overview ------------------------------------------------------------------------------

async function showOverview() {
  const [session, sections] = await Promise.all([api("GET", "/sesion"), api("GET", "/secciones")]);
  state.csrf = session.csrf_token;
  const contacts = [session.correo, session.telefono].filter(Boolean).join(" y ");
  $("cuenta").textContent = contacts ? `Cuenta verificada con ${contacts}.` : "";
  const root = $("secciones");
  root.replaceChildren();
  root.className = "sections";
  for (const section of sections) {
    const titleId = `seccion-${section.clave}`;
    const list = el("ul", { class: "items" });
    for (const item of section.elementos) {
      const heading = el("h3", {}, item.enlace ? el("a", { href: item.enlace }, item.titulo) : item.titulo);
      const meta = el("p", { class: "meta" });
      if (item.estado) meta.append(el("span", { class: "badge" }, item.estado), " ");
      if (item.actualizado) meta.append("Última actividad: ", timeEl(item.actualizado));
      if (item.plazo) meta.append(" · Plazo de respuesta: ", timeEl(item.plazo));
      list.append(el("li", { class: "item" }, heading, meta, item.resumen ? el("p", {}, item.resumen) : null));
    }
    if (!section.elementos.length) list.append(el("li", { class: "muted" }, section.vacia));
    root.append(el("section", { "aria-labelledby": titleId }, el("h2", { id: titleId }, section.titulo), list));
  }
  show("resumen");
}

// --- a conversation ------------------------------------------------------------------------

function lineEl(line) {
  const who = line.remitente === "agent" && line.agente ? line.agente : SENDERS[line.remitente] || line.remitente;
  const item = el("li", { class: `line line--${line.remitente}`, "data-seq": String(line.seq) },
    el("span", { class: "line__who" }, who, " · ", timeEl(line.fecha)), line.texto);
  if (line.archivos.length) item.append(el("span", { class: "meta" }, ` (archivos: ${line.archivos.join(", ")})`));
  return item;
}

function describe(conversation) {
  $("conversacion-titulo").textContent = `Consulta por ${conversation.canal_nombre}`;
  const parts = [conversation.estado_nombre, `iniciada el ${when(conversation.creada)}`];
  if (conversation.plazo) parts.push(`plazo de respuesta: ${when(conversation.plazo)}`);
  $("conversacion-estado").textContent = parts.join(" · ");
  $("form-escribir").hidden = !conversation.se_puede_escribir;
  $("solo-lectura").hidden = conversation.se_puede_escribir;
}

async function showConversation(id, focus = true) {
  const data = await api("GET", `/conversaciones/${encodeURIComponent(id)}`);
  state.conversation = id;
  state.lastSeq = 0;
  describe(data.conversacion);
  $("transcripcion").replaceChildren(...data.mensajes.map(lineEl));
  state.lastSeq = data.mensajes.length ? data.mensajes[data.mensajes.length - 1].seq : 0;
  show("conversacion", focus);
  startLive(id);
}

async function refreshConversation() {
  const id = state.conversation;
  if (!id) return;
  const data = await api("GET", `/conversaciones/${encodeURIComponent(id)}?despues=${state.lastSeq}`);
  if (id !== state.conversation) return;
  describe(data.conversacion);
  for (const line of data.mensajes) {
    if (line.seq <= state.lastSeq) continue;
    $("transcripcion").append(lineEl(line));
    state.lastSeq = line.seq;
  }
}

function startLive(id) {
  stopLive();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${API}/conversaciones/${encodeURIComponent(id)}/ws`);
  socket.addEventListener("message", (event) => {
    if (JSON.parse(event.data).type === "actualizar") refreshConversation().catch(() => {});
  });
  state.socket = socket;
  // Channels whose replies do not pass through the live hub (a bot on Telegram): a slow poll.
  state.poll = window.setInterval(() => refreshConversation().catch(() => {}), POLL_MS);
}

function stopLive() {
  if (state.socket) state.socket.close();
  state.socket = null;
  window.clearInterval(state.poll);
  state.conversation = state.conversation && !$("vista-conversacion").hidden ? state.conversation : null;
}

async function write(event) {
  event.preventDefault();
  const text = $("texto").value.trim();
  $("texto-error").textContent = "";
  if (!text) {
    $("texto-error").textContent = "Escriba un mensaje antes de enviarlo.";
    $("texto").focus();
    return;
  }
  const button = event.submitter || $("form-escribir").querySelector("button");
  button.disabled = true;
  try {
    await api("POST", `/conversaciones/${encodeURIComponent(state.conversation)}/mensajes`, {
      texto: text,
      client_message_id: crypto.randomUUID(),
    });
    $("texto").value = "";
    await refreshConversation();
    notice("Mensaje enviado.");
  } catch (error) {
    $("texto-error").textContent = error.message;
  } finally {
    button.disabled = false;
    $("texto").focus();
  }
}

// --- a case --------------------------------------------------------------------------------

async function showCase(code) {
  const data = await api("GET", `/casos/${encodeURIComponent(code)}`);
  const kind = data.tipo === "queja" ? "Queja" : "Sugerencia";
  $("caso-titulo").textContent = `${kind} ${data.codigo}`;
  const facts = [
    ["Estado", data.estado_nombre],
    ["Unidad responsable", data.unidad],
    ["Registrada", timeEl(data.registrada)],
    ["Plazo de respuesta", timeEl(data.plazo)],
    ["Lo que nos contó", data.descripcion],
  ];
  $("caso-datos").replaceChildren(...facts.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
  $("caso-historial").replaceChildren(
    ...data.historial.map((event) => el("li", {}, `${event.nombre}: `, timeEl(event.fecha))),
  );
  $("caso-respuesta").textContent = data.respuesta || "Todavía no hay respuesta. La recibirá aquí y en su canal.";
  show("caso");
}

// --- preferences ---------------------------------------------------------------------------

function choice(type, name, value, label, checked) {
  const id = `${name}-${value}`.replace(/[^\w-]/g, "_");
  const input = el("input", { type, id, name, value });
  input.checked = checked;
  return el("p", {}, input, el("label", { for: id }, label));
}

async function showPreferences() {
  const prefs = await api("GET", "/preferencias");
  const channels = [choice("radio", "canal", "", "Sin preferencia", !prefs.canal_preferido)];
  for (const channel of prefs.canales_verificados) {
    channels.push(choice("radio", "canal", channel, CHANNELS[channel] || channel, prefs.canal_preferido === channel));
  }
  $("canales").replaceChildren(...channels);
  for (const [id, channel, value] of [["avisos-correo", "email", prefs.avisos_correo], ["avisos-sms", "sms", prefs.avisos_sms]]) {
    $(id).checked = value;
    $(id).disabled = !prefs.canales_verificados.includes(channel);
  }
  $("temas").replaceChildren(
    ...prefs.temas_disponibles.map((topic) => choice("checkbox", "tema", topic, topic, prefs.temas.includes(topic))),
  );
  $("preferencias-error").textContent = "";
  show("preferencias");
}

async function savePreferences(event) {
  event.preventDefault();
  const form = $("form-preferencias");
  const button = event.submitter || form.querySelector("button");
  button.disabled = true;
  $("preferencias-error").textContent = "";
  try {
    const chosen = form.querySelector("input[name=canal]:checked");
    await api("PUT", "/preferencias", {
      canal_preferido: chosen && chosen.value ? chosen.value : null,
      avisos_correo: $("avisos-correo").checked,
      avisos_sms: $("avisos-sms").checked,
      temas: [...form.querySelectorAll("input[name=tema]:checked")].map((input) => input.value),
    });
    notice("Preferencias guardadas.");
  } catch (error) {
    $("preferencias-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

// --- routing -------------------------------------------------------------------------------

async function route() {
  const [name, ...rest] = location.hash.replace(/^#/, "").split("/");
  const arg = decodeURIComponent(rest.join("/"));
  try {
    if (name === "conversacion" && arg) await showConversation(arg);
    else if (name === "caso" && arg) await showCase(arg);
    else if (name === "preferencias") await showPreferences();
    else if (name === "acceso") {
      await api("GET", "/sesion");
      location.hash = "#resumen";
    } else await showOverview();
  } catch (error) {
    if (error.status === 401) return;
    notice(error.message);
    if (error.status === 404) location.hash = "#resumen";
  }
}

$("form-destino").addEventListener("submit", askCode);
$("form-codigo").addEventListener("submit", signIn);
$("otro-codigo").addEventListener("click", anotherCode);
$("salir").addEventListener("click", signOut);
$("form-escribir").addEventListener("submit", write);
$("form-preferencias").addEventListener("submit", savePreferences);
window.addEventListener("hashchange", () => {
  notice("");
  route();
});
route();
