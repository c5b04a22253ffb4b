// Supervisor wallboard: a snapshot over REST (agents, waiting calls, today's KPIs), then websocket deltas.
// Agent states apply at once; anything about calls reloads the snapshot (debounced), so KPIs never drift.
"use strict";

const CAN_SUPERVISE = document.getElementById("wallboard-script").dataset.canSupervise === "yes";
const QUEUE_NAMES = { line137: "۱۳۷", line1888: "۱۸۸۸" };
const SPY_MODES = [["listen", "شنود"], ["whisper", "نجوا"], ["barge", "ورود به مکالمه"]];
const board = { agents: new Map(), waiting: [], kpis: null, skewMs: 0, reloadTimer: null, charts: {} };

const percent = (value) => (value === null || value === undefined ? "—" : `${toPersianDigits(Math.round(value * 100))}٪`);
const seconds = (value) => (value === null || value === undefined ? "—" : clock(value));
const serverNow = () => Date.now() + board.skewMs;
const agentKey = (a) => `${a.extension}/${a.queue}`;

async function loadSnapshot() {
  const snapshot = await api("GET", "/api/wallboard");
  showError($("wallboard-error"), "");
  board.skewMs = new Date(snapshot.now).getTime() - Date.now();
  board.agents = new Map(snapshot.agents.map((a) => [agentKey(a), a]));
  board.waiting = snapshot.waiting;
  board.kpis = snapshot.kpis;
  renderKpis();
  renderAgents();
  renderWaiting();
  renderCharts();
  renderRecent(snapshot.recent);
}

// Answered calls that ended today, newest first; supervisors can play each conversation.
function renderRecent(calls) {
  fillTable($("recent"), $("no-recent"), calls.map((c) => {
    let recording = "—";
    if (CAN_SUPERVISE && c.has_recording) {
      recording = document.createElement("audio");
      recording.controls = true;
      recording.preload = "none";
      recording.src = `/api/calls/${c.id}/recording`;
    }
    const talked = c.ended_at && c.answered_at ? clock((new Date(c.ended_at) - new Date(c.answered_at)) / 1000) : "—";
    const tr = row([jalaliDateTime(c.started_at), LINE_NAMES[c.line] || c.line,
      c.anonymous ? "ناشناس" : ltr(toPersianDigits(c.caller_number || "—")), ltr(toPersianDigits(c.operator_extension || "—")),
      ltr(talked), c.transferred_to ? `منتقل به ${toPersianDigits(QUEUE_NAMES[c.transferred_to] || c.transferred_to)}` : "", recording]);
    tr.dataset.call = c.id;
    return tr;
  }));
}

function reportLoadError(error) {
  showError($("wallboard-error"), error.message || String(error));
  console.error(error);
}

function scheduleReload() {
  clearTimeout(board.reloadTimer);
  board.reloadTimer = setTimeout(() => loadSnapshot().catch(reportLoadError), 300);
}

function renderKpis() {
  const k = board.kpis;
  $("kpi-day").textContent = jalaliDate(k.start);
  $("kpi-service-level").textContent = percent(k.service_level);
  $("kpi-asa").textContent = seconds(k.average_speed_of_answer_seconds);
  $("kpi-abandon-rate").textContent = percent(k.abandon_rate);
  $("kpi-aht").textContent = seconds(k.average_handle_time_seconds);
  $("kpi-occupancy").textContent = percent(k.occupancy);
  $("kpi-counts").textContent = `${toPersianDigits(k.answered)} / ${toPersianDigits(k.abandoned)}`;
}

function answeredToday(extension) {
  const found = board.kpis && board.kpis.operators.find((o) => o.extension === extension);
  return found ? found.answered : 0;
}

function stateLabel(agent) {
  const label = AGENT_STATES[agent.state] || agent.state;
  return agent.state === "paused" && agent.reason ? `${label} (${PAUSE_REASONS[agent.reason] || agent.reason})` : label;
}

function spyButtons(agent) {
  const cell = document.createElement("span");
  if (!CAN_SUPERVISE || agent.state !== "talking") return cell;
  for (const [mode, label] of SPY_MODES) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary small";
    button.textContent = label;
    button.dataset.mode = mode;
    button.addEventListener("click", () => supervise(agent.extension, mode));
    cell.append(button);
  }
  return cell;
}

function renderAgents() {
  const agents = [...board.agents.values()].sort((a, b) => a.extension.localeCompare(b.extension));
  fillTable($("agents"), $("no-agents"), agents.map((a) => {
    const since = document.createElement("bdi");
    since.className = "num since";
    since.dataset.since = a.since;
    const status = document.createElement("span");
    status.className = `state state-${a.state}`;
    status.textContent = stateLabel(a);
    const tr = row([a.name || a.extension, ltr(toPersianDigits(a.extension)), QUEUE_NAMES[a.queue] || a.queue, status,
      since, toPersianDigits(answeredToday(a.extension)), spyButtons(a)]);
    tr.dataset.extension = a.extension;
    tr.dataset.queue = a.queue;
    tr.dataset.state = a.state;
    return tr;
  }));
  tick();
}

function renderWaiting() {
  $("waiting-count").textContent = toPersianDigits(board.waiting.length);
  fillTable($("waiting"), $("no-waiting"), board.waiting.map((c) => {
    const waited = document.createElement("bdi");
    waited.className = "num since";
    waited.dataset.since = c.queued_at;
    const tr = row([LINE_NAMES[c.line] || c.line, c.anonymous ? "ناشناس" : ltr(toPersianDigits(c.caller_number || "—")), waited]);
    tr.dataset.call = c.id;
    return tr;
  }));
  tick();
}

function tick() {
  document.querySelectorAll("[data-since]").forEach((el) => {
    el.textContent = clock((serverNow() - new Date(el.dataset.since).getTime()) / 1000);
  });
}

function drawChart(id, config) {
  if (typeof Chart === "undefined") return;  // the vendored library failed to load: numbers still show
  if (board.charts[id]) {
    board.charts[id].data = config.data;
    board.charts[id].update("none");
    return;
  }
  Chart.defaults.font.family = "Vazirmatn, Tahoma, sans-serif";
  board.charts[id] = new Chart($(id), config);
}

function renderCharts() {
  const hours = board.kpis.hourly;
  drawChart("hourly-chart", {
    type: "bar",
    data: {
      labels: hours.map((h) => toPersianDigits(h.hour)),
      datasets: [
        { label: "پاسخ‌داده", data: hours.map((h) => h.answered), backgroundColor: "#0b6e4f" },
        { label: "رهاشده", data: hours.map((h) => h.abandoned), backgroundColor: "#b3261e" },
      ],
    },
    options: { animation: false, responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  });
  const operators = board.kpis.operators;
  drawChart("operators-chart", {
    type: "bar",
    data: {
      labels: operators.map((o) => o.name),
      datasets: [{ label: "پاسخ‌داده", data: operators.map((o) => o.answered), backgroundColor: "#3d7ea6" }],
    },
    options: { animation: false, responsive: true, indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

async function supervise(extension, mode) {
  showError($("supervise-error"), "");
  $("supervise-note").hidden = true;
  try {
    await api("POST", "/api/supervise", { extension, mode });
    $("supervise-note").hidden = false;
  } catch (error) {
    showError($("supervise-error"), error.message);
  }
}

function onEvent(message) {
  const { name, data } = message;
  if (name === "agent_state") {
    const key = agentKey(data);
    if (data.state === "logged_out") {
      board.agents.delete(key);
    } else {
      const known = board.agents.get(key);
      board.agents.set(key, { ...data, name: known ? known.name : data.extension });
      if (!known) scheduleReload();  // a newcomer: the snapshot knows their name
    }
    renderAgents();
    if (data.state === "wrap_up" || data.state === "talking") scheduleReload();  // KPIs moved
  } else if (name.startsWith("call_")) {
    scheduleReload();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-digits]").forEach((el) => { el.textContent = toPersianDigits(el.textContent); });
  openEvents(() => loadSnapshot().catch(reportLoadError), onEvent);
  setInterval(tick, 1000);
});
