// The reliability chart, drawn from the bins the page embeds (#reliability-data). The table
// below it carries the same figures, so the page reads fine without it.
"use strict";

(function () {
  const source = document.getElementById("reliability-data");
  const canvas = document.getElementById("reliability-chart");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  const bins = JSON.parse(source.textContent).filter((bin) => bin.count > 0);
  const percent = (value) => Math.round(value * 1000) / 10;
  const axis = (title) => ({
    min: 0,
    max: 100,
    title: { display: true, text: title },
    ticks: { callback: (value) => `${value}%` },
  });
  new Chart(canvas, {
    type: "scatter",
    data: {
      datasets: [
        {
          label: "Top suggestions, by confidence bin",
          data: bins.map((bin) => ({ x: percent(bin.mean_confidence), y: percent(bin.observed), count: bin.count })),
          backgroundColor: "#417690",
          borderColor: "#417690",
          showLine: true,
          pointRadius: bins.map((bin) => Math.min(12, 3 + Math.sqrt(bin.count))),
        },
        {
          label: "Perfect calibration",
          data: [{ x: 0, y: 0 }, { x: 100, y: 100 }],
          borderColor: "#b0b0b0",
          borderDash: [4, 4],
          showLine: true,
          pointRadius: 0,
        },
      ],
    },
    options: {
      maintainAspectRatio: false,
      scales: { x: axis("Mean confidence"), y: axis("Sent by agents") },
      plugins: {
        tooltip: {
          callbacks: {
            label: (item) =>
              item.raw.count === undefined
                ? ""
                : `${item.raw.count} mentions: ${item.raw.x}% predicted, ${item.raw.y}% sent`,
          },
        },
      },
    },
  });
})();
