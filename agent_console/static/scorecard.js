// The units' evaluation scorecard for a Jalali month: a ranked table, a chart, and the six months' trend as a line
// chart. Month names, this month and the units' colours (shared with the PDF) come from the server.
import { $, api, channelCounts, percent as pct, persianChart, row, showError, toPersianDigits, updateRows, vocabulary } from "./common.js";

const MONTHS = vocabulary.months;
const hours = (value) => (value === null || value === undefined ? "—" : toPersianDigits(value.toFixed(1)));
let chart = null;
let trendChart = null;
let trend = null;
// One colour per unit line, in the trend's order; the PDF uses the same (scorecard_export.PALETTE).
const PALETTE = vocabulary.palette;
const monthLabel = (m) => `${MONTHS[m.month - 1]} ${toPersianDigits(m.year)}`;

async function loadScorecard(year, month) {
  showError($("scorecard-error"), "");
  // The downloads follow the month on screen, so the file matches what the reader just looked at.
  $("export-xlsx").href = `/api/scorecard.xlsx?year=${year}&month=${month}`;
  $("export-pdf").href = `/api/scorecard.pdf?year=${year}&month=${month}`;
  try {
    const card = await api("GET", `/api/scorecard?year=${year}&month=${month}`);
    $("period").textContent = `${MONTHS[month - 1]} ${toPersianDigits(year)}`;
    $("channels").textContent = channelCounts(card.received_by_channel);
    updateRows($("units"), $("no-units"), card.units, (u) => u.unit_id, (u) => {
      const tr = row([toPersianDigits(u.rank), u.unit_name, toPersianDigits(u.received), pct(u.on_time_rate),
        hours(u.median_hours_to_done), hours(u.p90_hours_to_done), pct(u.verification_pass_rate), pct(u.reopen_rate),
        `${toPersianDigits(u.verdicts_against)} / ${toPersianDigits(u.verdicts_for)}`, pct(u.citizen_satisfaction),
        channelCounts(u.received_by_channel)]);
      tr.dataset.unit = u.unit_id;
      return tr;
    });
    drawScores(card.units);
  } catch (error) {
    showError($("scorecard-error"), error.message);
  }
  loadTrend(year, month);
}

async function loadTrend(year, month) {
  showError($("trend-error"), "");
  try {
    trend = await api("GET", `/api/scorecard/trend?year=${year}&month=${month}`);
    const months = trend.months;
    $("trend-period").textContent = `${monthLabel(months[0])} تا ${monthLabel(months[months.length - 1])}`;
    drawTrend();
  } catch (error) {
    showError($("trend-error"), error.message);
  }
}

// A line per unit of the chosen measure, as percentages; a month the unit received nothing is a gap, not 0 %.
// Right to left: the oldest month on the right, the value axis beside it.
function drawTrend() {
  if (trend === null) return;
  const measure = $("trend-measure").value;
  const data = {
    labels: trend.months.map(monthLabel),
    datasets: trend.units.map((unit, index) => ({
      label: unit.unit_name,
      data: unit.points.map((p) => (p === null || p[measure] === null ? null : Math.round(p[measure] * 100))),
      borderColor: PALETTE[index % PALETTE.length],
      backgroundColor: PALETTE[index % PALETTE.length],
      spanGaps: false,
      tension: 0,
      pointRadius: 4,
      clip: false, // a unit at 100 % or 0 % keeps its whole dot
    })),
  };
  if (trendChart) { trendChart.data = data; trendChart.update("none"); return; }
  trendChart = persianChart($("trend-chart"), {
    type: "line",
    data,
    options: {
      animation: false,
      layout: { padding: { top: 6 } },
      scales: {
        x: { reverse: true, offset: true },
        y: { min: 0, max: 100, position: "right", ticks: { callback: (value) => `${toPersianDigits(value)}٪` } },
      },
      plugins: {
        legend: { rtl: true, textDirection: "rtl" },
        tooltip: { rtl: true, textDirection: "rtl", callbacks: { label: (item) => `${item.dataset.label}: ${toPersianDigits(item.raw)}٪` } },
      },
    },
  });
}

function drawScores(units) {
  const data = {
    labels: units.map((u) => u.unit_name),
    datasets: [{ label: "امتیاز", data: units.map((u) => (u.score === null ? 0 : Math.round(u.score * 100))), backgroundColor: "#0b6e4f" }],
  };
  if (chart) { chart.data = data; chart.update("none"); return; }
  chart = persianChart($("score-chart"), { type: "bar", data, options: { animation: false, indexAxis: "y", scales: { x: { min: 0, max: 100 } } } });
}

{
  const { year, month } = vocabulary.this_month;
  MONTHS.forEach((name, index) => $("month").add(new Option(name, index + 1)));
  $("year").value = year;
  $("month").value = String(month);
  $("trend-measure").addEventListener("change", drawTrend);
  $("period-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadScorecard(Number($("year").value), Number($("month").value));
  });
  loadScorecard(year, month);
}
