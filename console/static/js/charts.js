// ECharts for the dashboard; the figures come from data-series attributes (fen, shown in yuan).
(function () {
  "use strict";
  if (typeof echarts === "undefined") {
    return;
  }
  var GREEN = "#198754";
  var ORANGE = "#e07a1f";

  function yuan(fen) {
    return Math.round(fen) / 100;
  }

  function money(value) {
    return "¥" + Number(value).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function barOption(categories, gmv, income, rotate) {
    return {
      color: [GREEN, ORANGE],
      // richText: the tooltip is drawn on the canvas, so no HTML with inline styles (CSP).
      tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: money },
      legend: { data: ["销售额", "脱贫户·监测对象收入"], top: 0 },
      grid: { left: 8, right: 8, bottom: 8, top: 36, containLabel: true },
      xAxis: { type: "category", data: categories, axisLabel: { rotate: rotate || 0, hideOverlap: true } },
      yAxis: { type: "value", axisLabel: { formatter: function (v) { return v >= 10000 ? v / 10000 + "万" : v; } } },
      series: [
        { name: "销售额", type: "bar", data: gmv.map(yuan) },
        { name: "脱贫户·监测对象收入", type: "bar", data: income.map(yuan) },
      ],
    };
  }

  var builders = {
    trend: function (data, width) {
      var months = data.months.map(function (m) { return m.slice(2); });
      return barOption(months, data.gmv_fen, data.poor_household_income_fen, width < 600 ? 45 : 0);
    },
    comparison: function (data, width) {
      var crowded = data.names.length * 70 > width;
      var option = barOption(data.names, data.gmv_fen, data.poor_household_income_fen, crowded ? 40 : 0);
      option.xAxis.axisLabel.interval = 0;
      return option;
    },
  };

  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (element) {
    var build = builders[element.dataset.chart];
    if (!build) {
      return;
    }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(build(JSON.parse(element.dataset.series), element.clientWidth));
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
