// 整合性確認: poll each live check's JSON status (data-check-status-url, data-check-live) and
// update its progress bar and counts in place. When a check finishes, the page reloads once so
// the server draws what a finished check offers (the differences). Without JavaScript the page
// still works: it has a 再読み込み link.
(function () {
  "use strict";
  var FINAL = { done: true, failed: true };
  var FIELDS = ["matched", "missing_here", "missing_there", "different", "code_differs"];
  var delay = 2000;
  var timer = null;

  function live() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-check-live][data-check-status-url]"));
  }

  function set(element, name, text) {
    var target = element.querySelector('[data-field="' + name + '"]');
    if (target) target.textContent = text;
  }

  function update(element, status) {
    var bar = element.querySelector("progress");
    if (bar) bar.value = status.progress;
    set(element, "percent", Math.round(status.progress * 100) + "%");
    set(element, "state", status.state_label);
    FIELDS.forEach(function (name) {
      if (name in status.counts) set(element, name, String(status.counts[name]));
    });
  }

  function ask(element) {
    return fetch(element.getAttribute("data-check-status-url"), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (status) {
      update(element, status);
      return FINAL[status.state] === true;
    });
  }

  function poll() {
    var elements = live();
    if (!elements.length) return;
    Promise.all(elements.map(ask))
      .then(function (finished) {
        if (finished.indexOf(true) !== -1) { window.location.reload(); return; }
        delay = 2000;
        timer = setTimeout(poll, delay);
      })
      .catch(function () {
        delay = Math.min(delay * 2, 30000); // the server or the session is away: back off
        timer = setTimeout(poll, delay);
      });
  }

  // A locked screen (idle.js) hides the page; stop asking while nobody looks.
  document.addEventListener("visibilitychange", function () {
    clearTimeout(timer);
    if (!document.hidden) poll();
  });
  timer = setTimeout(poll, delay);
})();
