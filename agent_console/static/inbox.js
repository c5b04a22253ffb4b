// The inbox: a unit liaison's referred, reopened and accepted tickets, or a field supervisor's disputed ones, a
// page at a time with a tab per status, each with its deadline and the buttons of the lifecycle steps that person
// may take. The steps, which of them
// need a note and the photo limits come from the server (vocabulary.steps, vocabulary.photos): none is restated.
import {
  $, api, apiForm, jalaliDateTime, keysetPages, openEvents, priorityName, retryWhileAway, row, showError, showMoreLine,
  sourceTag, toPersianDigits, trackingCode, updateRows, verdictName, vocabulary,
} from "./common.js";

const ROLE = document.getElementById("inbox-panel").dataset.role;
const PHOTOS = vocabulary.photos;

// Photos with "report done" (decision 29): the server checks them again by their bytes; these checks only spare
// the liaison an upload that would be refused.
function photoProblem(files) {
  if (files.length > PHOTOS.max_count) return PHOTOS.too_many;
  for (const file of files) {
    if (file.size > PHOTOS.max_bytes) return PHOTOS.too_big.replace("{name}", file.name);
    if (file.type && !PHOTOS.types.includes(file.type)) return PHOTOS.not_a_photo.replace("{name}", file.name);
  }
  return "";
}

// The photos the unit sent with its reports of this ticket, as thumbnails linking to the full image.
async function showPhotos(ticket, box) {
  try {
    const steps = await api("GET", `/api/tickets/${ticket.tracking_code}/history`);
    const photos = steps.flatMap((step) => step.photos || []);
    if (!photos.length) return;
    const strip = document.createElement("div");
    strip.className = "photos";
    strip.append(noteLine("عکس‌های گزارش انجام کار", ""));
    photos.forEach((photo, index) => {
      const link = document.createElement("a");
      link.href = photo.url;
      link.target = "_blank";
      link.rel = "noopener";
      const image = document.createElement("img");
      image.src = photo.url;
      image.alt = `عکس ${toPersianDigits(index + 1)} گزارش انجام کار`;
      image.width = 96;
      image.height = 72;
      image.loading = "lazy";
      image.style.objectFit = "cover";
      image.style.margin = "2px";
      link.append(image);
      strip.append(link);
    });
    box.append(strip);
  } catch (failure) {
    box.append(noteLine("عکس‌ها", failure.message));
  }
}

// "۵ ساعت و ۱۰ دقیقه" / "۲ روز و ۳ ساعت": how long until the deadline, or how long past it.
function span(seconds) {
  const minutes = Math.floor(Math.abs(seconds) / 60);
  const days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
  const parts = days ? [`${days} روز`, hours ? `${hours} ساعت` : ""] : [hours ? `${hours} ساعت` : "", `${mins} دقیقه`];
  return toPersianDigits(parts.filter(Boolean).join(" و "));
}

function deadlineCell(item) {
  const text = item.overdue ? `${span(item.seconds_left)} گذشته` : `${span(item.seconds_left)} مانده`;
  const box = document.createElement("div");
  const cell = document.createElement("span");
  cell.className = item.overdue ? "late" : "";
  cell.textContent = text;
  cell.title = jalaliDateTime(item.deadline);
  box.append(cell);
  // Past the deadline and reported to the unit's manager and the call center's supervisors (this round).
  if (item.escalated) {
    const badge = document.createElement("span");
    badge.className = "badge off escalated";
    badge.textContent = "ارجاع به مدیر واحد";
    badge.title = "مهلت گذشته و به مدیر واحد و سرپرستان مرکز تماس اطلاع داده شده است";
    box.append(document.createElement("br"), badge);
  }
  return box;
}

function noteLine(label, text) {
  const p = document.createElement("p");
  p.className = "said";
  const strong = document.createElement("strong");
  strong.textContent = `${label}: `;
  p.append(strong, text);
  return p;
}

function whatCell(item) {
  const t = item.ticket, box = document.createElement("div");
  const address = document.createElement("p");
  address.textContent = t.address ? toPersianDigits(t.address) : "نشانی ثبت نشده";
  const description = document.createElement("p");
  description.className = "description";
  description.textContent = toPersianDigits(t.description);
  box.append(address, description);
  if (item.citizen_words) box.append(noteLine("سخن شهروند", item.citizen_words));
  if (item.dispute_note) box.append(noteLine("دلیل اعتراض واحد", item.dispute_note));
  if (item.verdict) {
    box.append(noteLine(`رأی ناظر میدانی (${verdictName(item.verdict)})`, item.verdict_note || "—"));
  }
  if (ROLE === "field_supervisor") showPhotos(t, box);
  return box;
}

// "توضیح (برای «بازگرداندن به مرکز تماس» لازم است)": which of this row's buttons need the note, as the server says.
function notePlaceholder(steps) {
  const needing = steps.filter((step) => step.note_required).map((step) => `«${step.label}»`);
  return needing.length ? `توضیح (برای ${needing.join(" و ")} لازم است)` : "توضیح";
}

function actionsCell(item) {
  const box = document.createElement("div");
  box.className = "actions";
  const steps = vocabulary.steps[item.ticket.status] || [];
  const note = document.createElement("textarea");
  note.rows = 2;
  note.maxLength = vocabulary.note_max_length;
  note.className = "note";
  note.dataset.keep = "note";
  note.setAttribute("aria-label", "توضیح");
  note.placeholder = notePlaceholder(steps);
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("role", "alert");
  error.hidden = true;
  box.append(note);
  let photos = null;
  if (steps.some((step) => step.action === PHOTOS.with_action)) {  // the one step that takes photos
    photos = document.createElement("input");
    photos.type = "file";
    photos.multiple = true;
    photos.accept = PHOTOS.types.join(",");
    photos.className = "photos-input";
    photos.dataset.keep = "photos";
    const label = document.createElement("label");
    label.append(`عکس کار انجام‌شده (اختیاری، تا ${toPersianDigits(PHOTOS.max_count)} عکس) `, photos);
    box.append(label);
  }
  for (const step of steps) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = step.label;
    button.dataset.action = step.action;
    if (step.verdict) button.dataset.verdict = step.verdict;
    button.addEventListener("click", () => act(item.ticket, step, note, error, box, photos));
    box.append(button);
  }
  box.append(error);
  return box;
}

async function act(ticket, step, note, error, box, photos) {
  const text = note.value.trim();
  if (step.note_required && !text) {
    showError(error, step.note_required);
    note.focus();
    return;
  }
  const files = step.action === PHOTOS.with_action && photos ? [...photos.files] : [];
  const problem = photoProblem(files);
  if (problem) {
    showError(error, problem);
    return;
  }
  showError(error, "");
  for (const button of box.querySelectorAll("button")) button.disabled = true;
  const url = `/api/tickets/${ticket.tracking_code}/actions`;
  try {
    let send;
    if (files.length) {
      const form = new FormData();
      form.append("action", step.action);
      form.append("note", text);
      form.append("expected_status", ticket.status);
      for (const file of files) form.append("photos", file);
      send = () => apiForm(url, form);
    } else {
      const body = { action: step.action, note: text, verdict: step.verdict || null, expected_status: ticket.status };
      send = () => api("POST", url, body);
    }
    // While the database is away the step is sent again as it was: its expected status makes a repeat of a step
    // that did go through a refusal (409), never a second step.
    await retryWhileAway(send, (message) => showError(error, message));
    await loadInbox();
  } catch (failure) {
    showError(error, failure.message);
    for (const button of box.querySelectorAll("button")) button.disabled = false;
  }
}

function inboxRow(item) {
  const t = item.ticket;
  const category = document.createElement("div");
  category.append(t.category_name || "—", document.createElement("br"), t.district_name || "منطقه نامشخص",
    document.createElement("br"), sourceTag(t.source));
  const tr = row([
    trackingCode(t.tracking_code), category, whatCell(item), priorityName(t.priority),
    item.status_name, jalaliDateTime(item.referred_at), deadlineCell(item), actionsCell(item),
  ]);
  tr.dataset.code = t.tracking_code;
  tr.dataset.status = t.status;
  tr.dataset.overdue = item.overdue ? "yes" : "no";
  tr.dataset.escalated = item.escalated ? "yes" : "no";
  if (item.overdue) tr.classList.add("overdue");
  if (t.priority === "urgent") tr.classList.add("urgent");
  return tr;
}

// The list is read a page at a time (keysetPages); the page size, the tabs and their counts come with every
// page. The tab shown is null until the liaison picks one: the server's default.
let tab = null;

function inboxUrl(after) {
  const query = new URLSearchParams();
  if (tab !== null) query.set("tab", tab);
  if (after) query.set("after", after);
  const text = query.toString();
  return text ? `/api/inbox?${text}` : "/api/inbox";
}

function tabButton(key) {
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.tab = key;
  button.addEventListener("click", () => {
    tab = key;
    pages.restart().catch((failure) => showError($("inbox-error"), failure.message));
  });
  return button;
}

// The tabs, updated in place (a focused tab keeps its focus across refreshes); none when the inbox has one part.
function showTabs(inbox) {
  const box = $("inbox-tabs");
  box.hidden = inbox.tabs.length < 2;
  if (box.hidden) return;
  const keys = inbox.tabs.map((each) => each.key).join(" ");
  if ([...box.children].map((button) => button.dataset.tab).join(" ") !== keys) {
    box.replaceChildren(...inbox.tabs.map((each) => tabButton(each.key)));
  }
  inbox.tabs.forEach((each, index) => {
    const button = box.children[index];
    button.textContent = `${each.name} (${toPersianDigits(each.count)})`;
    button.setAttribute("aria-pressed", each.key === inbox.tab ? "true" : "false");
  });
}

function showInbox(inbox, items) {
  if (ROLE === "unit_liaison") {
    $("unit-name").textContent = inbox.unit_name || "";
    if (!inbox.unit_name) showError($("inbox-error"), "برای شما واحدی تعیین نشده است؛ از مدیر سامانه بخواهید واحدتان را ثبت کند.");
  }
  $("inbox-count").textContent = toPersianDigits(inbox.total);
  showTabs(inbox);
  updateRows($("inbox"), $("inbox-empty"), items, (item) => item.ticket.tracking_code, inboxRow);
  showMoreLine($("inbox-more-line"), $("inbox-shown"), $("inbox-more"), inbox, items.length);
}

const pages = keysetPages(inboxUrl, (item) => item.ticket.tracking_code, showInbox);

async function loadInbox() {
  try {
    await pages.load();
  } catch (failure) {
    showError($("inbox-error"), failure.message);
  }
}

$("inbox-more").addEventListener("click", async () => {
  const button = $("inbox-more");
  button.disabled = true;
  try {
    await pages.more();
  } catch (failure) {
    showError($("inbox-error"), failure.message);
  } finally {
    button.disabled = false;
  }
});

// Others' changes refresh the list at once: rows update in place, so a note being typed survives (updateRows).
openEvents(loadInbox, (message) => {
  if (["ticket_changed", "ticket_created", "ticket_escalated"].includes(message.name)) loadInbox();
});
