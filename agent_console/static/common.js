// The pages' shared module: the vocabulary the server embeds, the API client, Persian formatting, keyed table
// rows and the live websocket. Persian digits and Jalali dates only here, at the edge: the API speaks ASCII
// digits and UTC. No rule of the server is restated here: what the pages show or check comes in `vocabulary`.

// Built by agent_console/vocabulary.py from the modules that own each rule, embedded in every page (base.html).
// (No document when a test imports this module under node: only the pure helpers are used there.)
const embedded = globalThis.document ? document.getElementById("vocabulary") : null;
export const vocabulary = embedded ? JSON.parse(embedded.textContent) : {};

export const $ = (id) => document.getElementById(id);

// --- Formatting ------------------------------------------------------------------------------------------------

export const toPersianDigits = (value) => String(value).replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]);
const dateFormat = new Intl.DateTimeFormat("fa-IR-u-ca-persian", { dateStyle: "medium", timeZone: "Asia/Tehran" });
const dateTimeFormat = new Intl.DateTimeFormat("fa-IR-u-ca-persian",
  { dateStyle: "medium", timeStyle: "short", timeZone: "Asia/Tehran" });
export const jalaliDate = (iso) => dateFormat.format(new Date(iso));
export const jalaliDateTime = (iso) => dateTimeFormat.format(new Date(iso));
export const groupCode = (code) => code.replace(/(\d{3})(?=\d)/g, "$1-");
export const trackingCode = (code) => ltr(toPersianDigits(groupCode(code)));
export const percent = (value) => (value === null || value === undefined ? "—" : `${toPersianDigits(Math.round(value * 100))}٪`);

// Seconds as m:ss (or h:mm:ss) in Persian digits, for time in state and waiting time.
export function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), sec = total % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return toPersianDigits(`${h ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`);
}

// Names the server gave, falling back to the raw value (never blank) for something newer than the page.
const named = (table, key) => (vocabulary[table] && vocabulary[table][key]) || key;
export const lineName = (numberOrQueue) => {
  const line = (vocabulary.lines || []).find((l) => l.number === numberOrQueue || l.queue === numberOrQueue);
  return line ? line.name : numberOrQueue;
};
export const statusName = (status) => named("statuses", status);
export const priorityName = (priority) => named("priorities", priority);
export const verdictName = (verdict) => named("verdicts", verdict);
export const feedbackName = (kind) => named("feedback_kinds", kind);
// How a ticket came in (its source), and the reports' channels (the phone's two sources are one channel).
export const sourceName = (source) => named("sources", source || "operator");
export function sourceTag(source) {
  const tag = document.createElement("span");
  tag.className = "source";
  tag.dataset.source = source || "operator";
  tag.textContent = sourceName(source);
  return tag;
}
// «تلفن ۳ · سامانه اینترنتی ۱ · …»: counts per channel (a ChannelCounts of the server), in the server's order.
export const channelCounts = (counts) => (vocabulary.channels || [])
  .map(({ channel, name }) => `${name} ${toPersianDigits(counts[channel] || 0)}`).join(" · ");
export const pauseReasonName = (reason) => named("pause_reasons", reason);
export function agentStateLabel(state, reason) {
  const label = named("agent_states", state);
  return state === "paused" && reason ? `${label} (${pauseReasonName(reason)})` : label;
}

// Every element marked data-digits shows its (server-rendered) digits in Persian.
export function persianDigitsInPage() {
  document.querySelectorAll("[data-digits]").forEach((el) => { el.textContent = toPersianDigits(el.textContent); });
}

// --- API -------------------------------------------------------------------------------------------------------

const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

// The one error the server answers for "nothing was saved, send it again as it was" (docs/adr/0087).
const DATABASE_UNAVAILABLE = "database-unavailable";

async function answer(response) {
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    // The server's errors carry a Persian message; FastAPI's own validation errors (a list in "detail") do not.
    const message = data.message || (Array.isArray(data.detail) ? "اطلاعات فرم کامل یا درست نیست." : "خطا در ارتباط با سامانه.");
    const error = new Error(message);
    error.errorId = data.error_id;
    error.retryable = data.error_id === DATABASE_UNAVAILABLE;
    throw error;
  }
  return data;
}

// fetch itself failing: the server unreachable (restarting, the network cut); nothing is known to be saved.
async function sent(url, options) {
  try {
    return await fetch(url, options);
  } catch (cause) {
    const error = new Error("ارتباط با سامانه برقرار نیست.", { cause });
    error.retryable = true;
    throw error;
  }
}

export async function api(method, url, body) {
  const response = await sent(url, {
    method,
    headers: {
      Accept: "application/json",
      ...(body ? { "Content-Type": "application/json" } : {}),
      "X-CSRF-Token": csrfToken(),
    },
    body: body ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  return answer(response);
}

const RETRY_MS = 2000;

// `send()` again and again, unchanged, while the database (or the server) is away: safe for a request that
// carries its own request_id or expected status, so a repeat is never a second ticket or step. `waiting(message)`
// tells the page what is happening (a Persian sentence), and `waiting("")` that it is over; other errors throw.
export async function retryWhileAway(send, waiting) {
  for (;;) {
    try {
      const result = await send();
      waiting("");
      return result;
    } catch (error) {
      if (!error.retryable) { waiting(""); throw error; }
      waiting(error.errorId === DATABASE_UNAVAILABLE ? "ارتباط با پایگاه داده قطع است؛ دوباره تلاش می‌کنیم…"
        : "ارتباط با سامانه قطع است؛ دوباره تلاش می‌کنیم…");
      await new Promise((resolve) => { setTimeout(resolve, RETRY_MS); });
    }
  }
}

// A multipart body (the browser sets the boundary, so no Content-Type here).
export async function apiForm(url, form) {
  const response = await sent(url, {
    method: "POST",
    headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
    body: form,
    credentials: "same-origin",
  });
  return answer(response);
}

export function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

// --- Tables ----------------------------------------------------------------------------------------------------

// Codes and numbers read left to right even inside Persian text ("۱۲۳-۴۵۶-۷۸۹", not its groups reversed).
export function ltr(text) {
  const element = document.createElement("bdi");
  element.className = "num";
  element.textContent = text;
  return element;
}

export function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = tr.insertCell();
    if (cell instanceof Node) td.append(cell); else td.textContent = cell;
  }
  return tr;
}

// The table's rows follow `items`, keyed by `key(item)`: a row whose item did not change stays as it is (what is
// typed in it, its focus, its chosen files untouched); a changed one is built anew by `build(item)` and takes
// over the values of its old row's [data-keep] inputs; rows of items that are gone are removed. So a refresh,
// even one asked for before someone started typing, never loses their words.
export function updateRows(table, empty, items, key, build) {
  const body = table.tBodies[0];
  const old = new Map([...body.rows].map((tr) => [tr.dataset.key, tr]));
  const focused = document.activeElement;
  let refocus = null;
  const rows = items.map((item) => {
    const id = String(key(item));
    const signature = JSON.stringify(item);
    const existing = old.get(id);
    if (existing && existing.dataset.signature === signature) return existing;
    const fresh = build(item);
    fresh.dataset.key = id;
    fresh.dataset.signature = signature;
    if (existing) refocus = carryInputs(existing, fresh, focused) || refocus;
    return fresh;
  });
  rows.forEach((tr, index) => {
    const current = body.rows[index];
    if (current === tr) return;
    // A rebuilt row takes its old row's place; anything else is moved there (rows left over end up last).
    if (current && !tr.isConnected && old.get(tr.dataset.key) === current) current.replaceWith(tr);
    else body.insertBefore(tr, current || null);
  });
  while (body.rows.length > rows.length) body.rows[rows.length].remove();
  if (refocus) restoreFocus(refocus);
  table.hidden = rows.length === 0;
  empty.hidden = rows.length !== 0;
}

function carryInputs(from, to, focused) {
  let refocus = null;
  for (const input of from.querySelectorAll("[data-keep]")) {
    const twin = to.querySelector(`[data-keep="${CSS.escape(input.dataset.keep)}"]`);
    if (!twin) continue;
    if (input.type === "file") {
      if (input.files.length) twin.files = input.files;
    } else {
      twin.value = input.value;
    }
    if (input === focused) refocus = { element: twin, start: input.selectionStart, end: input.selectionEnd };
  }
  return refocus;
}

function restoreFocus({ element, start, end }) {
  element.focus();
  if (typeof start === "number" && element.setSelectionRange) element.setSelectionRange(start, end);
}

// --- Lists in pages ----------------------------------------------------------------------------------------------

// A list the server gives a page at a time (ADR 0078): each answer has its items, the total, the page size and the
// cursor of the next page. `urlOf(after)` is the address of a page (the first when `after` is null), `key(item)`
// names an item, and `show(page, items)` draws every item read so far. `load()` reads as many pages as are shown,
// from the first (a refresh), `more()` adds the next one, `restart()` goes back to one page (another filter).
// A read overtaken by a newer one is dropped; an item that moved between two pages' reads is kept once.
export function keysetPages(urlOf, key, show) {
  const state = { pages: 1, items: [], next: null, generation: 0 };
  const settle = (page, items) => {
    state.items = [...new Map(items.map((item) => [key(item), item])).values()];
    state.next = page.next_cursor;
    show(page, state.items);
  };
  async function load() {
    const generation = ++state.generation;
    try {
      let page = await api("GET", urlOf(null));
      const items = [...page.items];
      let pages = 1;
      while (pages < state.pages && page.next_cursor) {
        page = await api("GET", urlOf(page.next_cursor));
        items.push(...page.items);
        pages += 1;
      }
      if (generation !== state.generation) return;
      state.pages = pages;
      settle(page, items);
    } catch (failure) {
      if (generation === state.generation) throw failure;
    }
  }
  async function more() {
    if (!state.next) return;
    const generation = ++state.generation;
    state.pages += 1;
    try {
      const page = await api("GET", urlOf(state.next));
      if (generation === state.generation) settle(page, [...state.items, ...page.items]);
      else await load();  // a refresh began meanwhile, with one page fewer: read them all again
    } catch (failure) {
      state.pages -= 1;
      throw failure;
    }
  }
  return { load, more, restart: () => { state.pages = 1; return load(); } };
}

// Under a paged list: «۵۰ از ۵۵ درخواست» and the button «نمایش ۵ درخواست بعدی», hidden on the last page.
export function showMoreLine(line, shown, button, page, count) {
  line.hidden = count === 0;
  shown.textContent = `${toPersianDigits(count)} از ${toPersianDigits(page.total)} درخواست`;
  button.hidden = !page.next_cursor;
  const coming = Math.max(1, Math.min(page.page_size, page.total - count));
  button.textContent = `نمایش ${toPersianDigits(coming)} درخواست بعدی`;
}

// --- Charts ----------------------------------------------------------------------------------------------------

// Chart.js (vendored, a classic script loaded before the modules) with Persian digits on every axis, tooltip and
// legend: numbers through the fa-IR locale, our own labels through toPersianDigits. Undefined when the library
// failed to load (the numbers still show in the tables).
function persianTick(value, index, ticks) {
  const label = this.type === "category" ? this.getLabelForValue(value)
    : globalThis.Chart.Ticks.formatters.numeric.call(this, value, index, ticks);
  return Array.isArray(label) ? label.map(toPersianDigits) : toPersianDigits(label);
}

export function persianChart(canvas, config) {
  const Chart = globalThis.Chart;
  if (typeof Chart === "undefined") return undefined;
  Chart.defaults.font.family = "Vazirmatn, Tahoma, sans-serif";
  Chart.defaults.locale = "fa-IR";
  const options = config.options || {};
  const scales = options.scales || {};
  for (const axis of ["x", "y", ...Object.keys(scales)]) {
    scales[axis] = scales[axis] || {};
    scales[axis].ticks = { callback: persianTick, ...(scales[axis].ticks || {}) };
  }
  const plugins = options.plugins || {};
  const legend = plugins.legend || {};
  const tooltip = plugins.tooltip || {};
  const defaultLabels = Chart.defaults.plugins.legend.labels.generateLabels;
  return new Chart(canvas, {
    ...config,
    options: {
      ...options,
      scales,
      plugins: {
        ...plugins,
        legend: {
          ...legend,
          labels: {
            ...(legend.labels || {}),
            generateLabels: (chart) => defaultLabels(chart).map((item) => ({ ...item, text: toPersianDigits(item.text) })),
          },
        },
        tooltip: {
          ...tooltip,
          callbacks: {
            title: (items) => items.map((item) => toPersianDigits(item.label)),
            label: (item) => `${toPersianDigits(item.dataset.label)}: ${toPersianDigits(item.formattedValue)}`,
            ...(tooltip.callbacks || {}),
          },
        },
      },
    },
  });
}

// --- Live events -----------------------------------------------------------------------------------------------

// Reconnecting: exponential from a second, capped at half a minute, with jitter (a restarted server is not met
// by every page at the same instant). `random` is there for a test.
const RECONNECT_FIRST_MS = 1000;
const RECONNECT_CAP_MS = 30000;
export function reconnectDelay(attempt, random = Math.random) {
  const ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_FIRST_MS * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

// The websocket: `loadSnapshot` (returning a promise) loads the page's state over REST on every (re)connect,
// then deltas arrive in order. Messages are numbered per connection (hello = 0); a gap, or a "resync" from the
// server, means something was missed and the snapshot is loaded again.
// A snapshot read before a delta can land after it and undo it (an operator presses "ready" right after the
// page connects: the answer to /api/me, read before the queue event, arrives after the event). So a delta that
// arrives while a snapshot is loading marks that snapshot stale, and it is loaded once more.
export function openEvents(loadSnapshot, onEvent) {
  let loading = false;
  let stale = false;
  let failures = 0;
  let open = false;  // the badge speaks of the snapshot only while the socket is up; else it says «قطع»
  // The snapshot is asked again while the database is away (the badge says so), so a page never keeps a view it
  // could not load; another failure is said on the badge until the next event or reconnect loads it again.
  const waiting = (message) => {
    if (!open) return;
    $("connection").textContent = message ? "در انتظار" : "متصل";
    $("connection").className = message ? "badge off" : "badge on";
    $("connection").title = message;
  };
  const refresh = async () => {
    if (loading) { stale = true; return; }
    loading = true;
    try {
      do { stale = false; await retryWhileAway(loadSnapshot, waiting); } while (stale);
    } catch (error) {
      if (open) {
        $("connection").textContent = "خطا"; $("connection").className = "badge off";
        $("connection").title = error.message;
      }
    } finally {
      loading = false;
    }
  };
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const connect = () => {
    let lastSeq = -1;
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    socket.onopen = () => {
      failures = 0;
      open = true;
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
      open = false;
      $("connection").textContent = "قطع"; $("connection").className = "badge off";
      setTimeout(connect, reconnectDelay(failures));
      failures += 1;
    };
  };
  connect();
}
