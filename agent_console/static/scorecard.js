// The units' evaluation scorecard for a Jalali month: a ranked table and a chart (helpers: common.js).
"use strict";

const MONTHS = ["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"];
const pct = (value) => (value === null || value === undefined ? "—" : `${toPersianDigits(Math.round(value * 100))}٪`);
const hours = (value) => (value === null || value === undefined ? "—" : toPersianDigits(value.toFixed(1)));
let chart = null;

function currentJalaliMonth() {
  const parts = new Intl.DateTimeFormat("en-u-ca-persian-nu-latn", { year: "numeric", month: "numeric", timeZone: "Asia/Tehran" })
    .formatToParts(new Date());
  return { year: Number(parts.find((p) => p.type === "year").value), month: Number(parts.find((p) => p.type === "month").value) };
}

async function loadScorecard(year, month) {
  showError($("scorecard-error"), "");
  // The downloads follow the month on screen, so the file matches what the reader just looked at.
  $("export-xlsx").href = `/api/scorecard.xlsx?year=${year}&month=${month}`;
  $("export-pdf").href = `/api/scorecard.pdf?year=${year}&month=${month}`;
  try {
    const card = await api("GET", `/api/scorecard?year=${year}&month=${month}`);
    $("period").textContent = `${MONTHS[month - 1]} ${toPersianDigits(year)}`;
    fillTable($("units"), $("no-units"), card.units.map((u) => {
      const tr = row([toPersianDigits(u.rank), u.unit_name, toPersianDigits(u.received), pct(u.on_time_rate),
        hours(u.median_hours_to_done), hours(u.p90_hours_to_done), pct(u.verification_pass_rate), pct(u.reopen_rate),
        `${toPersianDigits(u.verdicts_against)} / ${toPersianDigits(u.verdicts_for)}`, pct(u.citizen_satisfaction)]);
      tr.dataset.unit = u.unit_id;
      return tr;
    }));
    drawScores(card.units);
  } catch (error) {
    showError($("scorecard-error"), error.message);
  }
}

function drawScores(units) {
  if (typeof Chart === "undefined") return;
  const data = {
    labels: units.map((u) => u.unit_name),
    datasets: [{ label: "امتیاز", data: units.map((u) => (u.score === null ? 0 : Math.round(u.score * 100))), backgroundColor: "#0b6e4f" }],
  };
  if (chart) { chart.data = data; chart.update("none"); return; }
  Chart.defaults.font.family = "Vazirmatn, Tahoma, sans-serif";
  chart = new Chart($("score-chart"), { type: "bar", data, options: { animation: false, indexAxis: "y", scales: { x: { min: 0, max: 100 } } } });
}

document.addEventListener("DOMContentLoaded", () => {
  const { year, month } = currentJalaliMonth();
  MONTHS.forEach((name, index) => $("month").add(new Option(name, index + 1)));
  $("year").value = year;
  $("month").value = String(month);
  $("period-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadScorecard(Number($("year").value), Number($("month").value));
  });
  loadScorecard(year, month);
});
