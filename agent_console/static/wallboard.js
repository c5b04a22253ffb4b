// Supervisor wallboard: a snapshot over REST (agents, waiting calls, today's KPIs), then websocket deltas.
// Agent states apply at once; anything about calls reloads the snapshot (debounced), so KPIs never drift.
import {
  $, agentStateLabel, api, channelCounts, clock, jalaliDate, jalaliDateTime, lineName, ltr, openEvents, percent, persianChart,
  persianDigitsInPage, row, showError, toPersianDigits, updateRows, vocabulary,
} from "./common.js";

const CAN_SUPERVISE = document.getElementById("wallboard-script").dataset.canSupervise === "yes";
const board = { agents: new Map(), waiting: [], kpis: null, skewMs: 0, reloadTimer: null, charts: {} };

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
  updateRows($("recent"), $("no-recent"), calls, (c) => c.id, (c) => {
    let recording = "—";
    if (CAN_SUPERVISE && c.has_recording) {
      recording = document.createElement("audio");
      recording.controls = true;
      recording.preload = "none";
      recording.src = `/api/calls/${c.id}/recording`;
    }
    const talked = c.ended_at && c.answered_at ? clock((new Date(c.ended_at) - new Date(c.answered_at)) / 1000) : "—";
    const tr = row([jalaliDateTime(c.started_at), lineName(c.line),
      c.anonymous ? "ناشناس" : ltr(toPersianDigits(c.caller_number || "—")), ltr(toPersianDigits(c.operator_extension || "—")),
      ltr(talked), c.transferred_to ? `منتقل به ${toPersianDigits(lineName(c.transferred_to))}` : "", recording]);
    tr.dataset.call = c.id;
    return tr;
  });
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
  $("kpi-lost-to-fault").textContent = toPersianDigits(k.lost_to_fault);
  $("kpi-channels").textContent = channelCounts(k.tickets_by_channel);
}

function answeredToday(extension) {
  const found = board.kpis && board.kpis.operators.find((o) => o.extension === extension);
  return found ? found.answered : 0;
}

function spyButtons(agent) {
  const cell = document.createElement("span");
  if (!CAN_SUPERVISE || agent.state !== "talking") return cell;
  for (const { mode, name: label } of vocabulary.spy_modes || []) {
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
  const withAnswered = agents.map((a) => ({ ...a, answered: answeredToday(a.extension) }));
  updateRows($("agents"), $("no-agents"), withAnswered, agentKey, (a) => {
    const since = document.createElement("bdi");
    since.className = "num since";
    since.dataset.since = a.since;
    const status = document.createElement("span");
    status.className = `state state-${a.state}`;
    status.textContent = agentStateLabel(a.state, a.reason);
    const tr = row([a.name || a.extension, ltr(toPersianDigits(a.extension)), lineName(a.queue), status,
      since, toPersianDigits(a.answered), spyButtons(a)]);
    tr.dataset.extension = a.extension;
    tr.dataset.queue = a.queue;
    tr.dataset.state = a.state;
    return tr;
  });
  tick();
}

function renderWaiting() {
  $("waiting-count").textContent = toPersianDigits(board.waiting.length);
  updateRows($("waiting"), $("no-waiting"), board.waiting, (c) => c.id, (c) => {
    const waited = document.createElement("bdi");
    waited.className = "num since";
    waited.dataset.since = c.queued_at;
    const tr = row([lineName(c.line), c.anonymous ? "ناشناس" : ltr(toPersianDigits(c.caller_number || "—")), waited]);
    tr.dataset.call = c.id;
    return tr;
  });
  tick();
}

function tick() {
  document.querySelectorAll("[data-since]").forEach((el) => {
    el.textContent = clock((serverNow() - new Date(el.dataset.since).getTime()) / 1000);
  });
}

function drawChart(id, config) {
  if (board.charts[id]) {
    board.charts[id].data = config.data;
    board.charts[id].update("none");
    return;
  }
  board.charts[id] = persianChart($(id), config);  // undefined if the library failed to load: numbers still show
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
  } else if (name.startsWith("call_") || name === "ticket_created") {
    scheduleReload();  // a ticket filed on any channel moves today's counts per channel
  }
}

persianDigitsInPage();
openEvents(() => loadSnapshot().catch(reportLoadError), onEvent);
setInterval(tick, 1000);
