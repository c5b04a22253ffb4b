// The complaint analytics page's charts, drawn from the figures the server embedded (the tables beside them carry
// the same numbers, so the page reads without JavaScript).
import { $, persianChart, toPersianDigits, vocabulary } from "./common.js";

const figures = JSON.parse($("analytics-data").textContent);
// The same colours as the scorecard and its PDF (scorecard_export.PALETTE), embedded by the server.
const PALETTE = vocabulary.palette;
const rtl = { rtl: true, textDirection: "rtl" };

// A line per ground, the oldest month on the right (right to left), and the months' totals as a dashed line.
function drawTrend() {
  const datasets = figures.grounds.map((ground, index) => ({
    label: ground.name, data: ground.counts, borderColor: PALETTE[index % PALETTE.length],
    backgroundColor: PALETTE[index % PALETTE.length], tension: 0, pointRadius: 3,
  }));
  datasets.push({ label: "همه زمینه‌ها", data: figures.month_totals, borderColor: "#1d2733", backgroundColor: "#1d2733",
    borderDash: [6, 4], tension: 0, pointRadius: 3 });
  persianChart($("trend-chart"), {
    type: "line",
    data: { labels: figures.months, datasets },
    options: {
      animation: false,
      scales: { x: { reverse: true }, y: { beginAtZero: true, position: "right", ticks: { precision: 0 } } },
      plugins: { legend: rtl, tooltip: rtl },
    },
  });
}

// Each unit's delay complaints as bars, and its 137 on-time rate (percent, its own axis) as dots beside them.
function drawDelays() {
  const canvas = $("delay-chart");
  if (!canvas) return;
  persianChart(canvas, {
    data: {
      labels: figures.delays.map((d) => d.unit),
      datasets: [
        { type: "bar", label: "شکایت تأخیر", data: figures.delays.map((d) => d.complaints), backgroundColor: "#0b6e4f", yAxisID: "y" },
        { type: "line", label: "پاسخ به‌موقع ۱۳۷ (٪)", data: figures.delays.map((d) => d.on_time_rate), showLine: false,
          pointRadius: 6, borderColor: "#d62728", backgroundColor: "#d62728", yAxisID: "rate" },
      ],
    },
    options: {
      animation: false,
      scales: {
        x: { reverse: true },
        y: { beginAtZero: true, position: "right", ticks: { precision: 0 } },
        rate: { min: 0, max: 100, position: "left", grid: { drawOnChartArea: false },
          ticks: { callback: (value) => `${toPersianDigits(value)}٪` } },
      },
      plugins: { legend: rtl, tooltip: rtl },
    },
  });
}

drawTrend();
drawDelays();
