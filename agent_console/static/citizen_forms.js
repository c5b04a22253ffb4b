// The citizens' public forms, progressively enhanced: they work as plain HTML forms; with this module a draft of
// what was typed survives a reload (sessionStorage, never the photos or the SMS code), «send code» asks the server
// without leaving the page, and an anonymous 1888 message hides the mobile. A filed page clears the drafts.

import { apiForm, showError } from "./common.js";

const DRAFT_PREFIX = "pasokh-draft:";
// Not kept: the session's token and the form's idempotency key come fresh with each page; a code is single-use.
const NOT_SAVED = new Set(["csrf_token", "request_id", "code", "intent", "photos"]);

function saveDraft(form) {
  const draft = {};
  for (const element of form.elements) {
    if (!element.name || NOT_SAVED.has(element.name) || element.type === "file") continue;
    if (element.type === "radio") {
      if (element.checked) draft[element.name] = element.value;
    } else if (element.type === "checkbox") {
      draft[element.name] = element.checked ? element.value : "";
    } else {
      draft[element.name] = element.value;
    }
  }
  sessionStorage.setItem(DRAFT_PREFIX + form.dataset.draft, JSON.stringify(draft));
}

// What the server rendered wins (a refused form comes back filled in); the draft fills only what is empty.
function restoreDraft(form) {
  const saved = sessionStorage.getItem(DRAFT_PREFIX + form.dataset.draft);
  if (!saved) return;
  let draft;
  try {
    draft = JSON.parse(saved);
  } catch {
    return;
  }
  for (const element of form.elements) {
    if (!element.name || !(element.name in draft) || NOT_SAVED.has(element.name)) continue;
    const value = draft[element.name];
    if (element.type === "radio") {
      const group = form.querySelectorAll(`input[name="${element.name}"]`);
      if (![...group].some((radio) => radio.checked)) element.checked = element.value === value;
    } else if (element.type === "checkbox") {
      if (!element.checked) element.checked = value === element.value;
    } else if (!element.value) {
      element.value = value;
    }
  }
}

function enhanceSendCode(form) {
  const button = form.querySelector("#send-code");
  if (!button) return;
  const mobile = form.querySelector("#mobile");
  const mobileError = form.querySelector("#mobile-error");
  const notice = form.querySelector("#code-notice");
  const codeField = form.querySelector("#code-field");
  button.addEventListener("click", async (event) => {
    event.preventDefault();
    const body = new FormData();
    body.append("mobile", mobile.value);
    button.disabled = true;
    try {
      const answer = await apiForm("/citizen/phone-code", body);
      showError(mobileError, "");
      mobile.removeAttribute("aria-invalid");
      notice.textContent = answer.message;
      notice.hidden = false;
      codeField.hidden = false;
      form.querySelector("#code").focus();
    } catch (error) {
      showError(mobileError, error.message);
      mobile.setAttribute("aria-invalid", "true");
      mobile.focus();
    } finally {
      button.disabled = false;
    }
  });
}

function enhanceAnonymity(form) {
  const anonymous = form.querySelector("#anonymous");
  const section = form.querySelector("#mobile-section");
  if (!anonymous || !section) return;
  const show = () => { section.hidden = anonymous.checked; };
  anonymous.addEventListener("change", show);
  show();
}

for (const form of document.querySelectorAll("form[data-draft]")) {
  restoreDraft(form);
  form.addEventListener("input", () => saveDraft(form));
  form.addEventListener("change", () => saveDraft(form));
  enhanceSendCode(form);
  enhanceAnonymity(form);
}

if (document.querySelector("[data-clear-drafts]")) {
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith(DRAFT_PREFIX)) sessionStorage.removeItem(key);
  }
}
