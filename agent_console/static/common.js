// Shared by the console and the wallboard: Persian digits, Jalali dates, state names, the API client and
// table helpers. Persian digits and Jalali dates only here, at the edge; the API speaks ASCII digits and UTC.
"use strict";

const toPersianDigits = (value) => String(value).replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]);
const jalaliDate = (iso) =>
  new Intl.DateTimeFormat("fa-IR-u-ca-persian", { dateStyle: "medium", timeZone: "Asia/Tehran" }).format(new Date(iso));
const groupCode = (code) => code.replace(/(\d{3})(?=\d)/g, "$1-");
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

function fillTable(table, empty, rows) {
  const body = table.querySelector("tbody");
  body.replaceChildren(...rows);
  table.hidden = rows.length === 0;
  empty.hidden = rows.length !== 0;
}

// Rows are rebuilt on every refresh; what someone is typing in a row's note (or the photos they chose) must
// survive it, even a refresh asked for before they started that lands after. Matched by the row's data-code.
function keepingTypedNotes(table, rebuild) {
  const typed = new Map();
  const chosen = new Map();
  let focused = null;
  for (const row of table.querySelectorAll("tr[data-code]")) {
    const note = row.querySelector(".note");
    const photos = row.querySelector(".photos-input");
    if (note && note.value) typed.set(row.dataset.code, note.value);
    if (note && note === document.activeElement) focused = row.dataset.code;
    if (photos && photos.files.length) chosen.set(row.dataset.code, photos.files);
  }
  rebuild();
  const inRow = (code, selector) => table.querySelector(`tr[data-code="${CSS.escape(code)}"] ${selector}`);
  for (const [code, value] of typed) {
    const note = inRow(code, ".note");
    if (note) note.value = value;
  }
  for (const [code, files] of chosen) {
    const photos = inRow(code, ".photos-input");
    if (photos) photos.files = files;
  }
  if (focused && inRow(focused, ".note")) inRow(focused, ".note").focus();
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


// Seconds as m:ss (or h:mm:ss) in Persian digits, for time in state and waiting time.
function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), sec = total % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return toPersianDigits(`${h ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`);
}

// The websocket: ``loadSnapshot`` (returning a promise) loads the page's state over REST on every (re)connect,
// then deltas arrive in order. Messages are numbered per connection (hello = 0); a gap, or a "resync" from the
// server, means something was missed and the snapshot is loaded again.
// A snapshot read before a delta can land after it and undo it (an operator presses "ready" right after the
// page connects: the answer to /api/me, read before the queue event, arrives after the event). So a delta that
// arrives while a snapshot is loading marks that snapshot stale, and it is loaded once more.
function openEvents(loadSnapshot, onEvent) {
  let lastSeq = -1;
  let loading = false;
  let stale = false;
  const refresh = async () => {
    if (loading) { stale = true; return; }
    loading = true;
    try {
      do { stale = false; await loadSnapshot(); } while (stale);
    } finally {
      loading = false;
    }
  };
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.onopen = () => {
    $("connection").textContent = "متصل"; $("connection").className = "badge on";
    refresh();
  };
  socket.onmessage = (e) => {
    const message = JSON.parse(e.data);
    const gap = message.seq !== 0 && message.seq !== lastSeq + 1;
    lastSeq = message.seq;
    if (message.seq === 0) return;  // hello
    if (gap || message.name === "resync") refresh();
    if (message.name === "resync") return;
    if (loading) stale = true;
    onEvent(message);
  };
  socket.onclose = (e) => {
    if (e.code === 4401) { location.href = "/login"; return; }  // the session was revoked or expired
    $("connection").textContent = "قطع"; $("connection").className = "badge off";
    setTimeout(() => openEvents(loadSnapshot, onEvent), 1000);
  };
}
