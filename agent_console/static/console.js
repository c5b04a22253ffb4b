// Operator console: websocket screen pop, queue membership, ticket form. Persian digits and Jalali dates
// only here, at the edge; the API speaks ASCII digits and UTC.
"use strict";

const toPersianDigits = (value) => String(value).replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]);
const jalaliDate = (iso) =>
  new Intl.DateTimeFormat("fa-IR-u-ca-persian", { dateStyle: "medium", timeZone: "Asia/Tehran" }).format(new Date(iso));
const groupCode = (code) => code.replace(/(\d{3})(?=\d)/g, "$1-");
const STATUS_NAMES = { registered: "ثبت‌شده" };
const FEEDBACK_NAMES = { criticism: "انتقاد", suggestion: "پیشنهاد", appreciation: "قدردانی" };
const jalaliDateTime = (iso) =>
  new Intl.DateTimeFormat("fa-IR-u-ca-persian", { dateStyle: "medium", timeStyle: "short", timeZone: "Asia/Tehran" })
    .format(new Date(iso));
const LINE_NAMES = { "137": "۱۳۷", "1888": "۱۸۸۸" };
const PAUSE_REASONS = { break: "استراحت", training: "آموزش", after_call_work: "کار پس از تماس" };
const AGENT_STATES = {
  ready: "آماده در صف", paused: "در مکث", ringing: "در حال زنگ", talking: "در مکالمه",
  wrap_up: "جمع‌بندی تماس", logged_out: "خارج از صف",
};

const $ = (id) => document.getElementById(id);
const state = { call: null, reference: null, requestId: null, lastSeq: -1 };

async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: {
      Accept: "application/json",
      ...(body ? { "Content-Type": "application/json" } : {}),
      "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content,
    },
    body: body ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = data.message || (Array.isArray(data.detail) ? "اطلاعات فرم کامل یا درست نیست." : "خطا در ارتباط با سامانه.");
    throw new Error(message);
  }
  return data;
}

function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

function setQueueState(name, reason) {
  const label = AGENT_STATES[name] || name;
  $("queue-state").textContent = name === "paused" && reason ? `${label} (${PAUSE_REASONS[reason] || reason})` : label;
  $("queue-state").dataset.state = name;
}

async function loadReference() {
  state.reference = await api("GET", "/api/reference");
  const category = $("category");
  const unit = $("unit");
  for (const c of state.reference.categories) {
    category.add(new Option(`${c.name} (${LINE_NAMES[c.line] || c.line})`, c.id));
  }
  for (const u of state.reference.units) unit.add(new Option(u.name, u.id));
  category.addEventListener("change", selectDefaultUnit);
  selectDefaultUnit();
}

function selectDefaultUnit() {
  const chosen = state.reference.categories.find((c) => String(c.id) === $("category").value);
  if (chosen && chosen.default_unit_id) $("unit").value = String(chosen.default_unit_id);
}

async function loadMe() {
  const me = await api("GET", "/api/me");
  const mine = me.queues.find((q) => q.queue === "line137");
  setQueueState(mine ? mine.state : "logged_out", mine && mine.reason);
}

function showScreenPop(data) {
  state.call = data.call;
  state.requestId = crypto.randomUUID();
  $("call-idle").hidden = true;
  $("screen-pop").hidden = false;
  $("caller-number").textContent = data.call.anonymous ? "ناشناس (به درخواست تماس‌گیرنده)"
    : toPersianDigits(data.call.caller_number || "ناشناس");
  $("call-line").textContent = LINE_NAMES[data.call.line] || data.call.line;
  $("feedback-choice").hidden = !data.call.feedback_kind;
  $("feedback-kind").textContent = FEEDBACK_NAMES[data.call.feedback_kind] || "";
  $("personnel-code-wrap").hidden = !data.call.personnel_code;
  $("personnel-code").textContent = toPersianDigits(data.call.personnel_code || "");
  const body = $("history").querySelector("tbody");
  body.replaceChildren();
  for (const t of data.history) {
    const row = body.insertRow();
    for (const cell of [ltr(toPersianDigits(groupCode(t.tracking_code))), t.category_name || "پیام صوتی", t.unit_name,
      STATUS_NAMES[t.status] || t.status, jalaliDate(t.created_at)]) {
      row.insertCell().append(cell);
    }
  }
  $("history").hidden = data.history.length === 0;
  $("no-history").hidden = data.history.length !== 0;
  $("ticket-result").hidden = true;
  checkDuplicates();
  $("description").focus();
}

function onEvent(message) {
  const { name, data } = message;
  if (name === "call_ringing") {
    $("call-idle").textContent = `زنگ: ${toPersianDigits(data.call.caller_number)}`;
  } else if (name === "call_connected") {
    showScreenPop(data);
  } else if (name === "call_ended" && state.call && data.call.id === state.call.id) {
    $("call-idle").textContent = "تماس پایان یافت؛ ثبت درخواست را کامل کنید.";
    $("call-idle").hidden = false;
  } else if (name === "agent_state" && data.queue === "line137") {
    setQueueState(data.state, data.reason);
  } else if (name === "resync") {  // the bus lost Redis for a moment: reload what may have been missed
    loadMe(); loadCallbacks(); loadVoiceMessages();
  } else if (name === "callback_requested" || name === "callback_closed") {
    loadCallbacks();
  } else if (name === "ticket_created" && data.ticket.source === "voice_message") {
    loadVoiceMessages();
  }
}

function fillTable(table, empty, rows) {
  const body = table.querySelector("tbody");
  body.replaceChildren(...rows);
  table.hidden = rows.length === 0;
  empty.hidden = rows.length !== 0;
}

// Codes and numbers read left to right even inside Persian text ("۱۲۳-۴۵۶-۷۸۹", not its groups reversed).
function ltr(text) {
  const element = document.createElement("bdi");
  element.className = "num";
  element.textContent = text;
  return element;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = tr.insertCell();
    if (cell instanceof Node) td.append(cell); else td.textContent = cell;
  }
  return tr;
}

async function loadCallbacks() {
  const pending = await api("GET", "/api/callbacks");
  fillTable($("callbacks"), $("no-callbacks"), pending.map((c, index) => {
    const done = document.createElement("button");
    done.type = "button";
    done.textContent = "تماس گرفته شد";
    done.dataset.callback = c.id;
    done.addEventListener("click", () => closeCallback(c.id, "done"));
    const tr = row([toPersianDigits(index + 1), ltr(toPersianDigits(c.caller_number)), LINE_NAMES[c.line] || c.line,
      jalaliDateTime(c.waiting_since), done]);
    tr.dataset.callback = c.id;
    return tr;
  }));
}

async function closeCallback(id, status) {
  showError($("callbacks-error"), "");
  try {
    await api("POST", `/api/callbacks/${id}/close`, { status });
    await loadCallbacks();
  } catch (error) {
    showError($("callbacks-error"), error.message);
  }
}

async function loadVoiceMessages() {
  const messages = await api("GET", "/api/voice-messages");
  fillTable($("voice-messages"), $("no-voice-messages"), messages.map((t) => {
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "metadata";
    audio.src = `/api/tickets/${t.tracking_code}/recording`;
    const tr = row([ltr(toPersianDigits(groupCode(t.tracking_code))), LINE_NAMES[t.line] || t.line,
      t.anonymous ? "ناشناس" : ltr(toPersianDigits(t.caller_number || "—")), jalaliDateTime(t.created_at), audio]);
    tr.dataset.code = t.tracking_code;
    return tr;
  }));
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.onopen = () => {
    $("connection").textContent = "متصل"; $("connection").className = "badge on";
    loadMe(); loadCallbacks(); loadVoiceMessages();  // a fresh list on every (re)connect: nothing missed
  };
  socket.onmessage = (e) => {
    const message = JSON.parse(e.data);
    // Messages are numbered per connection (hello = 0); a gap means something was missed: reload the lists.
    if (message.seq !== 0 && message.seq !== state.lastSeq + 1) onEvent({ name: "resync", data: {} });
    state.lastSeq = message.seq;
    onEvent(message);
  };
  socket.onclose = () => {
    $("connection").textContent = "قطع"; $("connection").className = "badge off";
    setTimeout(connect, 1000);
  };
}

async function fileTicket(event) {
  event.preventDefault();
  showError($("ticket-error"), "");
  const button = $("file-ticket");
  button.disabled = true;
  try {
    state.requestId = state.requestId || crypto.randomUUID();
    const ticket = await api("POST", "/api/tickets", {
      category_id: Number($("category").value),
      unit_id: Number($("unit").value),
      address: $("address").value,
      description: $("description").value,
      call_id: state.call ? state.call.id : null,
      request_id: state.requestId,
    });
    $("tracking-code").textContent = toPersianDigits(groupCode(ticket.tracking_code));
    $("tracking-code").dataset.code = ticket.tracking_code;
    $("ticket-result").hidden = false;
    $("ticket-form").reset();
    selectDefaultUnit();
    $("duplicate-warning").hidden = true;
    state.requestId = null;
  } catch (error) {
    showError($("ticket-error"), error.message);
  } finally {
    button.disabled = false;
  }
}

async function checkDuplicates() {
  const query = new URLSearchParams({ category_id: $("category").value, address: $("address").value });
  if (state.call) query.set("call_id", state.call.id);
  const found = await api("GET", `/api/duplicates?${query}`).catch(() => []);
  $("duplicates").replaceChildren(...found.map((t) => {
    const item = document.createElement("li");
    item.append(ltr(toPersianDigits(groupCode(t.tracking_code))), ` — ${t.category_name || "پیام صوتی"}، ${t.address || ""} (${jalaliDate(t.created_at)})`);
    item.dataset.code = t.tracking_code;
    return item;
  }));
  $("duplicate-warning").hidden = found.length === 0;
}

async function queueAction(path, extra = {}) {
  showError($("queue-error"), "");
  try {
    await api("POST", path, { queue: "line137", ...extra });
  } catch (error) {
    showError($("queue-error"), error.message);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-digits]").forEach((el) => { el.textContent = toPersianDigits(el.textContent); });
  $("ticket-form").addEventListener("submit", fileTicket);
  $("category").addEventListener("change", checkDuplicates);
  $("address").addEventListener("change", checkDuplicates);
  $("join-queue").addEventListener("click", () => queueAction("/api/queue/join"));
  $("leave-queue").addEventListener("click", () => queueAction("/api/queue/leave"));
  $("pause").addEventListener("click", () => queueAction("/api/queue/pause", { reason: $("pause-reason").value }));
  $("resume").addEventListener("click", () => queueAction("/api/queue/resume"));
  loadReference().catch((e) => showError($("ticket-error"), e.message));
  connect();
});
