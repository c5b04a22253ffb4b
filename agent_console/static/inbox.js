// The inbox: a unit liaison's referred, reopened and accepted tickets, or a field supervisor's disputed ones,
// each with its deadline and the buttons of the lifecycle steps that person may take (helpers: common.js).
"use strict";

const PRIORITY_NAMES = { normal: "عادی", high: "بالا", urgent: "فوری" };
const ROLE = document.getElementById("inbox-panel").dataset.role;
const VERDICT_NAMES = { citizen_right: "حق با شهروند", unit_right: "حق با واحد", partly: "تا حدی" };
// What each status lets the page's person do: [action, button text, note required?, verdict].
const BUTTONS = {
  referred: [["accept", "پذیرش", false], ["decline", "بازگرداندن به مرکز تماس", true]],
  reopened: [["accept", "پذیرش", false], ["dispute", "اعتراض", true]],
  accepted: [["report_done", "اعلام انجام کار", true]],
  disputed: [
    ["field_verdict", VERDICT_NAMES.citizen_right, false, "citizen_right"],
    ["field_verdict", VERDICT_NAMES.unit_right, false, "unit_right"],
    ["field_verdict", VERDICT_NAMES.partly, true, "partly"],
  ],
};
const NOTE_MISSING = {
  decline: "بنویسید چرا این درخواست به این واحد مربوط نیست.",
  dispute: "دلیل اعتراض واحد را بنویسید.",
  report_done: "بنویسید چه کاری انجام شد.",
  field_verdict: "بنویسید کدام بخش از کار هنوز مانده است.",
};
// Photos with "report done" (decision 29): the server checks them again by their bytes; these checks only spare
// the liaison an upload that would be refused.
const MAX_PHOTOS = 5;
const MAX_PHOTO_BYTES = 5 * 1024 * 1024;
const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];

// Like common.js's api(), for a multipart body (the browser sets the boundary, so no Content-Type here).
async function apiForm(url, form) {
  const response = await fetch(url, {
    method: "POST",
    headers: { Accept: "application/json", "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content },
    body: form,
    credentials: "same-origin",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.message || "خطا در ارتباط با سامانه.");
  return data;
}

function photoProblem(files) {
  if (files.length > MAX_PHOTOS) return `حداکثر ${toPersianDigits(MAX_PHOTOS)} عکس می‌توانید بفرستید.`;
  for (const file of files) {
    if (file.size > MAX_PHOTO_BYTES) return `عکس «${file.name}» بزرگ‌تر از ${toPersianDigits(5)} مگابایت است.`;
    if (file.type && !PHOTO_TYPES.includes(file.type)) return `فایل «${file.name}» عکس JPEG، PNG یا WebP نیست.`;
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
    box.append(noteLine(`رأی ناظر میدانی (${VERDICT_NAMES[item.verdict]})`, item.verdict_note || "—"));
  }
  if (ROLE === "field_supervisor") showPhotos(t, box);
  return box;
}

function actionsCell(item) {
  const box = document.createElement("div");
  box.className = "actions";
  const note = document.createElement("textarea");
  note.rows = 2;
  note.maxLength = 4000;
  note.className = "note";
  note.setAttribute("aria-label", "توضیح");
  note.placeholder = item.ticket.status === "disputed" ? "توضیح رأی (برای «تا حدی» لازم است)" : "توضیح (برای بازگرداندن، اعتراض و اعلام انجام کار لازم است)";
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("role", "alert");
  error.hidden = true;
  box.append(note);
  let photos = null;
  if (item.ticket.status === "accepted") {
    photos = document.createElement("input");
    photos.type = "file";
    photos.multiple = true;
    photos.accept = PHOTO_TYPES.join(",");
    photos.className = "photos-input";
    const label = document.createElement("label");
    label.append(`عکس کار انجام‌شده (اختیاری، تا ${toPersianDigits(MAX_PHOTOS)} عکس) `, photos);
    box.append(label);
  }
  for (const [action, label, needsNote, verdict] of BUTTONS[item.ticket.status] || []) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.dataset.action = action;
    if (verdict) button.dataset.verdict = verdict;
    button.addEventListener("click", () => act(item.ticket, { action, verdict, needsNote }, note, error, box, photos));
    box.append(button);
  }
  box.append(error);
  return box;
}

async function act(ticket, step, note, error, box, photos) {
  const text = note.value.trim();
  if (step.needsNote && !text) {
    showError(error, NOTE_MISSING[step.action]);
    note.focus();
    return;
  }
  const files = step.action === "report_done" && photos ? [...photos.files] : [];
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
  category.append(t.category_name || "—", document.createElement("br"), t.district_name || "منطقه نامشخص");
  const tr = row([
    ltr(toPersianDigits(groupCode(t.tracking_code))), category, whatCell(item), PRIORITY_NAMES[t.priority],
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

async function loadInbox() {
  try {
    const inbox = await api("GET", "/api/inbox");
    if (ROLE === "unit_liaison") {
      $("unit-name").textContent = inbox.unit_name || "";
      if (!inbox.unit_name) showError($("inbox-error"), "برای شما واحدی تعیین نشده است؛ از مدیر سامانه بخواهید واحدتان را ثبت کند.");
    }
    $("inbox-count").textContent = toPersianDigits(inbox.items.length);
    keepingTypedNotes($("inbox"), () => fillTable($("inbox"), $("inbox-empty"), inbox.items.map(inboxRow)));
  } catch (failure) {
    showError($("inbox-error"), failure.message);
  }
}

// A note being typed must survive: refresh on others' changes only when nobody is typing in this page.
function refreshSoon() {
  if (document.activeElement && document.activeElement.classList.contains("note") && document.activeElement.value) return;
  if ([...document.querySelectorAll(".photos-input")].some((input) => input.files.length)) return;
  loadInbox();
}

openEvents(loadInbox, (message) => {
  if (["ticket_changed", "ticket_created", "ticket_escalated"].includes(message.name)) refreshSoon();
});
