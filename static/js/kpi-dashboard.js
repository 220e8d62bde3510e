/* The KPI dashboard's charts, drawn with the vendored Chart.js from the specs the page embeds (#kpi-charts).
   Every chart's figures are also in the data table that follows it, so nothing depends on this script. */
(function () {
  "use strict";
  var source = document.getElementById("kpi-charts");
  if (!source || !window.Chart) {
    return;
  }
  var specs = JSON.parse(source.textContent);
  // Colour-blind-safe (Okabe-Ito), with a dash pattern per series so lines differ without colour too.
  var colours = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"];
  var dashes = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function format(value, unit) {
    if (value === null || value === undefined) {
      return "—";
    }
    if (unit === "percent") {
      return (value * 100).toFixed(1) + " %";
    }
    if (unit === "money") {
      return value.toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2});
    }
    if (unit === "hours") {
      return value.toFixed(1) + " h";
    }
    return value.toLocaleString(undefined, {maximumFractionDigits: 4});
  }

  specs.forEach(function (spec) {
    var canvas = document.getElementById("kpi-" + spec.id + "-chart");
    if (!canvas) {
      return;
    }
    new window.Chart(canvas, {
      type: spec.kind,
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (series, index) {
          var colour = colours[index % colours.length];
          return {
            label: series.label,
            data: series.values,
            borderColor: colour,
            backgroundColor: colour,
            borderDash: spec.kind === "line" ? dashes[index % dashes.length] : undefined,
            spanGaps: false,
            tension: 0
          };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: reduceMotion ? false : undefined,
        interaction: {mode: "index", intersect: false},
        scales: {
          y: {beginAtZero: true, ticks: {callback: function (value) { return format(value, spec.unit); }}}
        },
        plugins: {
          legend: {position: "bottom"},
          tooltip: {
            callbacks: {
              label: function (context) {
                return context.dataset.label + ": " + format(context.parsed.y, spec.unit);
              }
            }
          }
        }
      }
    });
  });
}());
