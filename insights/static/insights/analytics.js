// Charts of the analytics dashboard, drawn from the JSON the page embeds (#analytics-data).
// The page reads fine without them: every figure and table is HTML.
"use strict";

(function () {
  const source = document.getElementById("analytics-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const COLORS = ["#417690", "#e6a23c", "#67c23a", "#9b59b6", "#f56c6c", "#1abc9c", "#34495e", "#d35400"];
  const ABSTAINED_COLOR = "#b0b0b0";
  const OTHER_COLOR = "#dddddd";
  // More issues than this are summed into "Other issues" so the stacked bars stay readable.
  const MAX_ISSUES = 8;
  // The acceptance chart keeps the most shown issues (the data comes most shown first).
  const acceptance = data.acceptance.slice(0, 15);

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) {
      new Chart(canvas, config);
    }
  }

  function percent(value) {
    return value === null ? null : Math.round(value * 1000) / 10;
  }

  function volumeDatasets(series) {
    const issues = series.filter((item) => !item.abstained);
    const abstained = series.filter((item) => item.abstained);
    const datasets = issues.slice(0, MAX_ISSUES).map((item, n) => ({
      label: item.label,
      data: item.counts,
      backgroundColor: COLORS[n % COLORS.length],
    }));
    const rest = issues.slice(MAX_ISSUES);
    if (rest.length) {
      const summed = rest[0].counts.map((_, n) => rest.reduce((total, item) => total + item.counts[n], 0));
      datasets.push({ label: `Other issues (${rest.length})`, data: summed, backgroundColor: OTHER_COLOR });
    }
    abstained.forEach((item) => datasets.push({ label: item.label, data: item.counts, backgroundColor: ABSTAINED_COLOR }));
    return datasets;
  }

  const LABEL_CHARACTERS = 32;
  const shortened = (text) => (text.length > LABEL_CHARACTERS ? `${text.slice(0, LABEL_CHARACTERS - 1)}…` : text);
  const percentAxis = { beginAtZero: true, max: 100, ticks: { callback: (value) => `${value}%` } };

  draw("volume-chart", {
    type: "bar",
    data: { labels: data.volume.periods, datasets: volumeDatasets(data.volume.series) },
    options: {
      maintainAspectRatio: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: {
        // Below the plot, in short labels (the tooltip names the whole issue): ten long titles on
        // top of the plot used to cover it and squash it to a third of the chart.
        legend: {
          position: "bottom",
          labels: {
            boxWidth: 12,
            generateLabels: (chart) =>
              Chart.defaults.plugins.legend.labels
                .generateLabels(chart)
                .map((item) => ({ ...item, text: shortened(item.text) })),
          },
        },
      },
    },
  });

  draw("acceptance-chart", {
    type: "bar",
    data: {
      labels: acceptance.map((row) => row.issue.title),
      datasets: [
        {
          label: "Acceptance rate",
          data: acceptance.map((row) => percent(row.acceptance_rate)),
          backgroundColor: COLORS[2],
        },
      ],
    },
    options: {
      indexAxis: "y",
      maintainAspectRatio: false,
      scales: {
        x: percentAxis,
        // Long issue titles would crowd the bars out; the tooltip shows the whole title.
        y: { ticks: { callback: (value) => shortened(acceptance[value].issue.title) } },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: (items) => acceptance[items[0].dataIndex].issue.title,
            label: (item) => {
              const row = acceptance[item.dataIndex];
              return `${item.formattedValue}% of ${row.suggested} shown`;
            },
          },
        },
      },
    },
  });

  draw("abstain-chart", {
    type: "line",
    data: {
      labels: data.abstain_rate.map((point) => point.period),
      datasets: [
        {
          label: "Abstained",
          data: data.abstain_rate.map((point) => percent(point.rate)),
          borderColor: COLORS[4],
          backgroundColor: COLORS[4],
          spanGaps: true,
        },
      ],
    },
    options: {
      maintainAspectRatio: false,
      scales: { y: percentAxis },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) => {
              const point = data.abstain_rate[item.dataIndex];
              return `${item.formattedValue}% (${point.abstained} of ${point.mentions} mentions)`;
            },
          },
        },
      },
    },
  });
})();
