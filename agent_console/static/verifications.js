// The supervisors' verification list: call the citizen (their phone first), hand tasks to the automatic dialer,
// record what the citizen said; the open tasks come a page at a time. Live: every change of a task arrives as "verification_changed". The outcomes,
// their names and which needs the citizen's words come from the server (vocabulary.verification).
import {
  $, api, jalaliDateTime, keysetPages, ltr, openEvents, persianDigitsInPage, row, showError, showMoreLine, sourceTag,
  toPersianDigits, trackingCode, updateRows, vocabulary,
} from "./common.js";

const WORDS = vocabulary.verification;
const OUTCOME_STYLE = { resolved: "ok", not_resolved: "warn" };

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
  note.dataset.keep = "note";
  note.rows = 2;
  const needing = WORDS.recorded.filter((o) => o.note_required).map((o) => `«${o.label}»`);
  note.placeholder = needing.length ? `سخن شهروند (برای ${needing.join(" و ")} لازم است)` : "سخن شهروند";
  note.setAttribute("aria-label", `سخن شهروند درباره ${task.tracking_code}`);
  const outcome = (value) => act(() => api("POST", `/api/verifications/${task.id}/outcome`, { outcome: value, note: note.value }));
  cell.append(
    button("تماس", () => act(() => api("POST", `/api/verifications/${task.id}/call`),
      "تلفن شما زنگ می‌زند؛ پس از پاسخ، شماره شهروند گرفته می‌شود.")),
    button("تماس خودکار", () => act(() => api("POST", "/api/verifications/automatic", { task_ids: [task.id] }),
      "در نوبت تماس خودکار قرار گرفت.")),
    note,
    ...WORDS.recorded.map((o) => button(o.label, () => outcome(o.outcome), OUTCOME_STYLE[o.outcome] || "")),
  );
  return cell;
}

function stateText(task) {
  const mode = task.mode === "automatic" ? " · خودکار" : "";
  const last = task.outcome ? ` · آخرین نتیجه: ${WORDS.outcomes[task.outcome] || task.outcome}` : "";
  const online = task.online_answer_until ? ` · پیوند پاسخ برخط شهروند تا ${jalaliDateTime(task.online_answer_until)}` : "";
  return `${WORDS.states[task.status] || task.status}${mode}${last}${online}`;
}

function subjectCell(task) {
  const cell = document.createElement("div");
  cell.append(`${task.category_name} · ${task.unit_name}`, document.createElement("br"), sourceTag(task.source));
  return cell;
}

function taskRow(task) {
  const tr = row([
    trackingCode(task.tracking_code),
    subjectCell(task),
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

// The open tasks a page at a time, the soonest due first (keysetPages; the page size and the total come with each).
const tasksUrl = (after) => (after ? `/api/verifications?after=${encodeURIComponent(after)}` : "/api/verifications");
const taskPages = keysetPages(tasksUrl, (task) => task.id, (page, tasks) => {
  $("verification-count").textContent = toPersianDigits(page.total);
  updateRows($("verifications"), $("verifications-empty"), tasks, (task) => task.id, taskRow);
  showMoreLine($("verifications-more-line"), $("verifications-shown"), $("verifications-more"), page, tasks.length);
});
const loadTasks = () => taskPages.load();

$("verifications-more").addEventListener("click", () => taskPages.more()
  .catch((failure) => showError($("verifications-error"), failure.message)));

// What citizens answered through their SMS link (no call of ours recorded it).
async function loadOnlineAnswers() {
  const answers = await api("GET", "/api/verifications/online");
  updateRows($("online-answers"), $("online-answers-empty"), answers, (a) => `${a.tracking_code}:${a.answered_at}`,
    (a) => row([trackingCode(a.tracking_code), a.unit_name, WORDS.outcomes[a.outcome] || a.outcome, a.note,
      jalaliDateTime(a.answered_at)]));
}

// Others' changes reload the list at once: rows update in place, so words being typed survive (updateRows).
const reload = () => Promise.all([loadTasks(), loadOnlineAnswers()])
  .catch((failure) => showError($("verifications-error"), failure.message));

persianDigitsInPage();
openEvents(reload, (message) => {
  if (message.name === "verification_changed" || message.name === "ticket_changed") reload();
});
