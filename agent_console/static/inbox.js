// The inbox: a unit liaison's referred, reopened and accepted tickets, or a field supervisor's disputed ones, a
// page at a time with a tab per status, each with its deadline and the buttons of the lifecycle steps that person
// may take. The steps, which of them
// need a note and the photo limits come from the server (vocabulary.steps, vocabulary.photos): none is restated.
import {
  $, api, apiForm, jalaliDateTime, openEvents, priorityName, row, showError, sourceTag, toPersianDigits, trackingCode,
  updateRows, verdictName, vocabulary,
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
    if (files.length) {
      const form = new FormData();
      form.append("action", step.action);
      form.append("note", text);
      form.append("expected_status", ticket.status);
      for (const file of files) form.append("photos", file);
      await apiForm(url, form);
    } else {
      await api("POST", url, {
        action: step.action, note: text, verdict: step.verdict || null, expected_status: ticket.status,
      });
    }
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

// The list is read a page at a time, each page after the last one's cursor (ADR 0078); the page size, the tabs
// and their counts come with every page. The page keeps which tab is shown (null: the server's default), how
// many pages of it were opened, and where the next one starts; a refresh reads as many pages again.
const view = { tab: null, pages: 1, items: [], next: null, generation: 0 };

function inboxUrl(after) {
  const query = new URLSearchParams();
  if (view.tab !== null) query.set("tab", view.tab);
  if (after) query.set("after", after);
  const text = query.toString();
  return text ? `/api/inbox?${text}` : "/api/inbox";
}

function tabButton(tab) {
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.tab = tab.key;
  button.addEventListener("click", () => {
    view.tab = tab.key;
    view.pages = 1;
    loadInbox();
  });
  return button;
}

// The tabs, updated in place (a focused tab keeps its focus across refreshes); none when the inbox has one part.
function showTabs(inbox) {
  const box = $("inbox-tabs");
  box.hidden = inbox.tabs.length < 2;
  if (box.hidden) return;
  const keys = inbox.tabs.map((tab) => tab.key).join(" ");
  if ([...box.children].map((button) => button.dataset.tab).join(" ") !== keys) {
    box.replaceChildren(...inbox.tabs.map(tabButton));
  }
  inbox.tabs.forEach((tab, index) => {
    const button = box.children[index];
    button.textContent = `${tab.name} (${toPersianDigits(tab.count)})`;
    button.setAttribute("aria-pressed", tab.key === inbox.tab ? "true" : "false");
  });
}

function showInbox(inbox, items) {
  // A ticket that moved between two pages' reads could come twice: each is shown once, where it came first.
  const unique = [...new Map(items.map((item) => [item.ticket.tracking_code, item])).values()];
  view.items = unique;
  view.next = inbox.next_cursor;
  if (ROLE === "unit_liaison") {
    $("unit-name").textContent = inbox.unit_name || "";
    if (!inbox.unit_name) showError($("inbox-error"), "برای شما واحدی تعیین نشده است؛ از مدیر سامانه بخواهید واحدتان را ثبت کند.");
  }
  $("inbox-count").textContent = toPersianDigits(inbox.total);
  showTabs(inbox);
  updateRows($("inbox"), $("inbox-empty"), unique, (item) => item.ticket.tracking_code, inboxRow);
  $("inbox-more-line").hidden = unique.length === 0;
  $("inbox-shown").textContent = `${toPersianDigits(unique.length)} از ${toPersianDigits(inbox.total)} درخواست`;
  const more = $("inbox-more");
  more.hidden = !inbox.next_cursor;
  const coming = Math.max(1, Math.min(inbox.page_size, inbox.total - unique.length));
  more.textContent = `نمایش ${toPersianDigits(coming)} درخواست بعدی`;
}

async function loadInbox() {
  const generation = ++view.generation;
  try {
    let inbox = await api("GET", inboxUrl(null));
    const items = [...inbox.items];
    let pages = 1;
    while (pages < view.pages && inbox.next_cursor) {
      inbox = await api("GET", inboxUrl(inbox.next_cursor));
      items.push(...inbox.items);
      pages += 1;
    }
    if (generation !== view.generation) return;  // a newer read has begun; it shows its own answer
    view.pages = pages;
    showError($("inbox-error"), "");
    showInbox(inbox, items);
  } catch (failure) {
    if (generation === view.generation) showError($("inbox-error"), failure.message);
  }
}

async function loadMore() {
  if (!view.next) return;
  const generation = ++view.generation;
  const button = $("inbox-more");
  button.disabled = true;
  view.pages += 1;
  try {
    const inbox = await api("GET", inboxUrl(view.next));
    if (generation === view.generation) showInbox(inbox, [...view.items, ...inbox.items]);
    else loadInbox();  // a refresh began meanwhile with one page fewer: read them all again
  } catch (failure) {
    view.pages -= 1;
    showError($("inbox-error"), failure.message);
  } finally {
    button.disabled = false;
  }
}

$("inbox-more").addEventListener("click", loadMore);

// Others' changes refresh the list at once: rows update in place, so a note being typed survives (updateRows).
openEvents(loadInbox, (message) => {
  if (["ticket_changed", "ticket_created", "ticket_escalated"].includes(message.name)) loadInbox();
});
