// The supervisors' verification list: call the citizen (their phone first), hand tasks to the automatic dialer,
// record what the citizen said. Live: every change of a task arrives as "verification_changed".
"use strict";

const TASK_STATES = { pending: "در نوبت تماس", calling: "در حال تماس", gave_up: "پاسخ نداد (پایان تلاش‌ها)", done: "ثبت شد" };
const OUTCOME_NAMES = { unreachable: "در دسترس نبود", not_placed: "خط آزاد نبود", resolved: "رفع شده", not_resolved: "رفع نشده" };

function button(label, onClick, className = "") {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.className = className;
  element.addEventListener("click", onClick);
  return element;
}

async function act(work, note = "") {
  showError($("verifications-error"), "");
  try {
    await work();
    $("verifications-note").textContent = note;
    $("verifications-note").hidden = !note;
    await loadTasks();
  } catch (failure) {
    showError($("verifications-error"), failure.message);
  }
}

function actions(task) {
  const cell = document.createElement("div");
  cell.className = "actions";
  const note = document.createElement("textarea");
  note.className = "note";
  note.rows = 2;
  note.placeholder = "سخن شهروند (برای «رفع نشده» لازم است)";
  note.setAttribute("aria-label", `سخن شهروند درباره ${task.tracking_code}`);
  const outcome = (value) => act(() => api("POST", `/api/verifications/${task.id}/outcome`, { outcome: value, note: note.value }));
  cell.append(
    button("تماس", () => act(() => api("POST", `/api/verifications/${task.id}/call`),
      "تلفن شما زنگ می‌زند؛ پس از پاسخ، شماره شهروند گرفته می‌شود.")),
    button("تماس خودکار", () => act(() => api("POST", "/api/verifications/automatic", { task_ids: [task.id] }),
      "در نوبت تماس خودکار قرار گرفت.")),
    note,
    button("رفع شده", () => outcome("resolved"), "ok"),
    button("رفع نشده", () => outcome("not_resolved"), "warn"),
    button("در دسترس نبود", () => outcome("unreachable")),
  );
  return cell;
}

function stateText(task) {
  const mode = task.mode === "automatic" ? " · خودکار" : "";
  const last = task.outcome ? ` · آخرین نتیجه: ${OUTCOME_NAMES[task.outcome] || task.outcome}` : "";
  return `${TASK_STATES[task.status] || task.status}${mode}${last}`;
}

function taskRow(task) {
  const tr = row([
    ltr(toPersianDigits(groupCode(task.tracking_code))),
    `${task.category_name} · ${task.unit_name}`,
    task.done_note,
    ltr(toPersianDigits(task.caller_number)),
    `${toPersianDigits(task.attempts)} از ${toPersianDigits(task.max_attempts)}`,
    task.status === "pending" ? jalaliDateTime(task.next_attempt_at) : "—",
    stateText(task),
    actions(task),
  ]);
  tr.dataset.code = task.tracking_code;
  tr.dataset.status = task.status;
  return tr;
}

async function loadTasks() {
  const tasks = await api("GET", "/api/verifications");
  $("verification-count").textContent = toPersianDigits(tasks.length);
  keepingTypedNotes($("verifications"),
    () => fillTable($("verifications"), $("verifications-empty"), tasks.map(taskRow)));
}

// A note being typed must survive: reload on others' changes only when nobody types here.
function refreshSoon() {
  const typing = document.activeElement && document.activeElement.classList.contains("note") && document.activeElement.value;
  if (!typing) loadTasks().catch((failure) => showError($("verifications-error"), failure.message));
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-digits]").forEach((el) => { el.textContent = toPersianDigits(el.textContent); });
  openEvents(() => loadTasks().catch((failure) => showError($("verifications-error"), failure.message)), (message) => {
    if (message.name === "verification_changed" || message.name === "ticket_changed") refreshSoon();
  });
});
