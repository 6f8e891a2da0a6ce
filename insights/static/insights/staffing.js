// The staffing page's chart: agents needed (bars) and agents who worked (a line) for each hour of
// the week, drawn from the JSON the page embeds (#staffing-data). The tables below say the same.
"use strict";

(function () {
  const source = document.getElementById("staffing-data");
  const canvas = document.getElementById("staffing-chart");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  const hours = JSON.parse(source.textContent).hours;
  const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const label = (item) => `${DAYS[item.weekday]} ${String(item.hour).padStart(2, "0")}`;
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: hours.map(label),
      datasets: [
        { type: "bar", label: "Agents needed", data: hours.map((item) => item.agents_needed), backgroundColor: "#417690" },
        {
          type: "line",
          label: "Agents who worked",
          data: hours.map((item) => item.agents_worked),
          borderColor: "#e6a23c",
          backgroundColor: "#e6a23c",
          pointRadius: 0,
          stepped: "middle",
        },
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: { x: { ticks: { autoSkip: true, maxTicksLimit: 28 } }, y: { beginAtZero: true, title: { display: true, text: "agents" } } },
    },
  });
})();
