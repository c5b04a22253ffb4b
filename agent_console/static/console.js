// Operator console: websocket screen pop, queue membership (137 or 1888), call controls, ticket form.
import {
  $, agentStateLabel, api, clock, feedbackName, groupCode, jalaliDate, jalaliDateTime, lineName, ltr, openEvents,
  persianDigitsInPage, retryWhileAway, row, showError, sourceTag, statusName, toPersianDigits, trackingCode,
  updateRows, vocabulary,
} from "./common.js";

const state = { call: null, reference: null, requestId: null, onHold: false, queues: [] };
// The queue the operator works in, chosen on the page (137 unless they pick 1888).
const chosenQueue = () => $("queue").value;

function setQueueState(name, reason, since) {
  $("queue-state").textContent = agentStateLabel(name, reason);
  $("queue-state").dataset.state = name;
  state.stateSince = since ? new Date(since) : null;
  tickStateTime();
  if (name !== "talking") showCallControls(false);  // transferred or hung up: the controls have nothing to act on
}

function tickStateTime() {
  $("queue-state-time").textContent = state.stateSince ? clock((Date.now() - state.stateSince) / 1000) : "";
}

function showCallControls(visible) {
  $("call-controls").hidden = !visible;
  if (!visible) { state.onHold = false; $("hold-badge").hidden = true; $("hold").textContent = "انتظار"; }
}

function fillTransferTargets() {
  const select = $("transfer-target");
  for (const s of state.reference.supervisors) {
    select.add(new Option(`ناظر: ${s.full_name} (${toPersianDigits(s.extension)})`, s.extension));
  }
  for (const line of [...vocabulary.lines].reverse()) select.add(new Option(`صف ${line.name}`, line.queue));
}

async function callAction(path, body) {
  showError($("call-error"), "");
  try {
    await api("POST", path, body || {});
    return true;
  } catch (error) {
    showError($("call-error"), error.message);
    return false;
  }
}

async function toggleHold() {
  if (await callAction("/api/call/hold", { on_hold: !state.onHold })) {
    state.onHold = !state.onHold;
    $("hold-badge").hidden = !state.onHold;
    $("hold").textContent = state.onHold ? "ادامه مکالمه" : "انتظار";
  }
}

async function transferCall() {
  if (await callAction("/api/call/transfer", { target: $("transfer-target").value })) {
    showCallControls(false);
    $("call-idle").textContent = "تماس منتقل شد؛ ثبت درخواست را کامل کنید.";
    $("call-idle").hidden = false;
  }
}

async function hangUpCall() {
  if (await callAction("/api/call/hangup")) showCallControls(false);
}

// Alt+letter by physical key (event.code), so shortcuts work with the Persian keyboard layout too.
const SHORTCUTS = {
  KeyR: () => ($("queue-state").dataset.state === "paused" ? queueAction("/api/queue/resume") : queueAction("/api/queue/join")),
  KeyP: () => queueAction("/api/queue/pause", { reason: $("pause-reason").value }),
  KeyH: () => !$("call-controls").hidden && toggleHold(),
  KeyT: () => !$("call-controls").hidden && transferCall(),
  KeyX: () => !$("call-controls").hidden && hangUpCall(),
};

function onShortcut(event) {
  if (event.ctrlKey && event.key === "Enter") {
    event.preventDefault();
    $("ticket-form").requestSubmit();
  } else if (event.altKey && !event.ctrlKey && SHORTCUTS[event.code]) {
    event.preventDefault();
    SHORTCUTS[event.code]();
  }
}

async function loadReference() {
  state.reference = await api("GET", "/api/reference");
  const category = $("category");
  const unit = $("unit");
  for (const c of state.reference.categories) {
    category.add(new Option(`${c.name} (${lineName(c.line)})`, c.id));
  }
  for (const u of state.reference.units) unit.add(new Option(u.name, u.id));
  for (const d of state.reference.units.filter((u) => u.kind === "district")) $("district").add(new Option(d.name, d.id));
  category.addEventListener("change", selectDefaultUnit);
  $("district").addEventListener("change", selectDefaultUnit);
  selectDefaultUnit();
  fillTransferTargets();
}

// The category's default unit at once, then the server's answer for the chosen district (an override the
// administrator set, decision 29). Only a suggestion: the operator may pick another unit. An answer for an earlier
// choice that arrives late is ignored, and a failed request leaves the default in place.
async function selectDefaultUnit() {
  const categoryId = $("category").value, districtId = $("district").value;
  const chosen = state.reference.categories.find((c) => String(c.id) === categoryId);
  if (chosen && chosen.default_unit_id) $("unit").value = String(chosen.default_unit_id);
  $("unit").dataset.byDistrict = "no";
  if (!chosen) return;
  const asked = (state.unitQuestion = (state.unitQuestion || 0) + 1);
  const before = $("unit").value;
  const query = new URLSearchParams({ category_id: categoryId, ...(districtId ? { district_id: districtId } : {}) });
  try {
    const answer = await api("GET", `/api/referral-unit?${query}`);
    // Not over a unit the operator picked by hand meanwhile, nor for a choice made before the latest one.
    if (asked !== state.unitQuestion || $("unit").value !== before || !answer.unit_id) return;
    $("unit").value = String(answer.unit_id);
    $("unit").dataset.byDistrict = answer.by_district ? "yes" : "no";
  } catch (error) {
    // The category's default stays selected; filing does not depend on the suggestion.
  }
}

async function loadMe() {
  const me = await api("GET", "/api/me");
  state.queues = me.queues;
  showChosenQueue();
}

function showChosenQueue() {
  const mine = state.queues.find((q) => q.queue === chosenQueue());
  setQueueState(mine ? mine.state : "logged_out", mine && mine.reason, mine && mine.since);
}

function fillQueueChoices() {
  for (const line of vocabulary.lines) $("queue").add(new Option(line.name, line.queue));  // after the label «صف»
  for (const [reason, name] of Object.entries(vocabulary.pause_reasons)) $("pause-reason").add(new Option(name, reason));
  $("queue").addEventListener("change", showChosenQueue);
}

function showScreenPop(data) {
  state.call = data.call;
  state.requestId = crypto.randomUUID();
  $("call-idle").hidden = true;
  $("screen-pop").hidden = false;
  $("caller-number").textContent = data.call.anonymous ? "ناشناس (به درخواست تماس‌گیرنده)"
    : toPersianDigits(data.call.caller_number || "ناشناس");
  $("call-line").textContent = lineName(data.call.line);
  $("feedback-choice").hidden = !data.call.feedback_kind;
  $("feedback-kind").textContent = data.call.feedback_kind ? feedbackName(data.call.feedback_kind) : "";
  $("personnel-code-wrap").hidden = !data.call.personnel_code;
  $("personnel-code").textContent = toPersianDigits(data.call.personnel_code || "");
  updateRows($("history"), $("no-history"), data.history, (t) => t.tracking_code, (t) => row([
    trackingCode(t.tracking_code), t.category_name || "پیام صوتی", t.unit_name, statusName(t.status),
    jalaliDate(t.created_at), sourceTag(t.source)]));
  $("ticket-result").hidden = true;
  showCallControls(true);
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
    showCallControls(false);
  } else if (name === "agent_state") {
    state.queues = [...state.queues.filter((q) => q.queue !== data.queue), data];
    if (data.queue === chosenQueue()) setQueueState(data.state, data.reason, data.since);
  } else if (name === "callback_requested" || name === "callback_closed") {
    reloadInBackground(loadCallbacks, $("callbacks-error"));
  } else if (name === "ticket_created" && data.ticket.source === "voice_message") {
    reloadInBackground(loadVoiceMessages, $("voice-messages-error"));
  }
}

// A list an event said has changed: while the database is away it is asked again (saying so under the list), and
// any other failure is said there too; never an uncaught error that leaves the list silently stale.
function reloadInBackground(load, errorElement) {
  retryWhileAway(load, (waiting) => showError(errorElement, waiting))
    .catch((error) => showError(errorElement, error.message));
}

async function loadCallbacks() {
  const pending = await api("GET", "/api/callbacks");
  const numbered = pending.map((c, index) => ({ ...c, position: index + 1 }));
  updateRows($("callbacks"), $("no-callbacks"), numbered, (c) => c.id, (c) => {
    const done = document.createElement("button");
    done.type = "button";
    done.textContent = "تماس گرفته شد";
    done.dataset.callback = c.id;
    done.addEventListener("click", () => closeCallback(c.id, "done"));
    const tr = row([toPersianDigits(c.position), ltr(toPersianDigits(c.caller_number)), lineName(c.line),
      jalaliDateTime(c.waiting_since), done]);
    tr.dataset.callback = c.id;
    return tr;
  });
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
  updateRows($("voice-messages"), $("no-voice-messages"), messages, (t) => t.tracking_code, (t) => {
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "metadata";
    audio.src = `/api/tickets/${t.tracking_code}/recording`;
    const tr = row([trackingCode(t.tracking_code), lineName(t.line),
      t.anonymous ? "ناشناس" : ltr(toPersianDigits(t.caller_number || "—")), jalaliDateTime(t.created_at), audio]);
    tr.dataset.code = t.tracking_code;
    return tr;
  });
}

async function fileTicket(event) {
  event.preventDefault();
  showError($("ticket-error"), "");
  const button = $("file-ticket");
  button.disabled = true;
  try {
    state.requestId = state.requestId || crypto.randomUUID();
    const body = {
      category_id: Number($("category").value),
      unit_id: Number($("unit").value),
      district_id: $("district").value ? Number($("district").value) : null,
      priority: $("priority").value,
      address: $("address").value,
      description: $("description").value,
      call_id: state.call ? state.call.id : null,
      request_id: state.requestId,
    };
    // The form stays as typed while the database is away; the same request_id makes the repeat one ticket.
    const ticket = await retryWhileAway(() => api("POST", "/api/tickets", body),
      (message) => showError($("ticket-retrying"), message));
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
    item.append(trackingCode(t.tracking_code), ` — ${t.category_name || "پیام صوتی"}، ${t.address || ""} (${jalaliDate(t.created_at)})`);
    item.dataset.code = t.tracking_code;
    return item;
  }));
  $("duplicate-warning").hidden = found.length === 0;
}

async function queueAction(path, extra = {}) {
  showError($("queue-error"), "");
  try {
    await api("POST", path, { queue: chosenQueue(), ...extra });
  } catch (error) {
    showError($("queue-error"), error.message);
  }
}

// A module runs once the page is parsed: no need to wait for DOMContentLoaded.
{
  persianDigitsInPage();
  fillQueueChoices();
  $("ticket-form").addEventListener("submit", fileTicket);
  $("category").addEventListener("change", checkDuplicates);
  $("address").addEventListener("change", checkDuplicates);
  $("join-queue").addEventListener("click", () => queueAction("/api/queue/join"));
  $("leave-queue").addEventListener("click", () => queueAction("/api/queue/leave"));
  $("pause").addEventListener("click", () => queueAction("/api/queue/pause", { reason: $("pause-reason").value }));
  $("resume").addEventListener("click", () => queueAction("/api/queue/resume"));
  $("hold").addEventListener("click", toggleHold);
  $("transfer").addEventListener("click", transferCall);
  $("hangup").addEventListener("click", hangUpCall);
  document.addEventListener("keydown", onShortcut);
  setInterval(tickStateTime, 1000);
  loadReference().catch((e) => showError($("ticket-error"), e.message));
  // A fresh snapshot on every (re)connect, then deltas: nothing missed.
  openEvents(() => Promise.all([loadMe(), loadCallbacks(), loadVoiceMessages()]), onEvent);
}
