// Behaviour of every console page (no inline scripts: the CSP allows scripts from this origin only).
(function () {
  "use strict";

  // Progress bars: widths come from data-percent (inline style attributes are not allowed).
  function sizeBars(root) {
    root.querySelectorAll("[data-percent]").forEach(function (bar) {
      var percent = Math.max(0, Math.min(100, parseFloat(bar.dataset.percent) || 0));
      bar.style.width = percent + "%";
    });
  }

  // <button data-print> prints the page (pick lists, shipping labels, poster codes).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
    }
  });

  // <form data-confirm="…"> asks before submitting (suspensions, payouts, rejections).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // <select data-autosubmit> submits its form when changed (filters).
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) {
      event.target.form.requestSubmit();
    }
  });

  sizeBars(document);
  document.body.addEventListener("htmx:afterSwap", function (event) {
    sizeBars(event.target);
  });
})();
