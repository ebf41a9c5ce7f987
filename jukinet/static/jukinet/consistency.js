// 整合性確認: each live check (data-check-live, data-check-status-url) has its progress bar and
// counts updated in place (poll.js loops). Without JavaScript the page has a 再読み込み link.
(function () {
  "use strict";
  var FINAL = { done: true, failed: true };
  var FIELDS = ["matched", "missing_here", "missing_there", "different", "code_differs"];

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

  window.jukinetPoll(function () {
    var elements = Array.prototype.slice.call(document.querySelectorAll("[data-check-live][data-check-status-url]"));
    if (!elements.length) return null;
    var asked = elements.map(function (element) {
      return window.jukinetGetJson(element.getAttribute("data-check-status-url")).then(function (status) {
        update(element, status);
        return FINAL[status.state] === true;
      });
    });
    return Promise.all(asked).then(function (finished) {
      return { finished: finished.indexOf(true) !== -1, waiting: false };
    });
  });
})();
