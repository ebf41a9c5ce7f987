// Batch progress: rows carry data-batch-id (and data-batch-live while not finished) inside a
// container with data-batch-status-url; one request asks for all live rows (poll.js loops).
(function () {
  "use strict";
  var container = document.querySelector("[data-batch-status-url]");
  if (!container) return;
  var url = container.getAttribute("data-batch-status-url");
  var FINAL = { done: true, rejected: true, failed: true };

  function update(row, status) {
    var bar = row.querySelector("progress");
    if (bar) { bar.max = status.row_count || 1; bar.value = status.rows_done; }
    var rows = row.querySelector('[data-field="rows"]');
    if (rows) rows.textContent = status.rows_done + "/" + status.row_count;
    var counts = row.querySelector('[data-field="counts"]');
    if (counts) counts.textContent = status.counts.provided + "・" + status.counts.not_found + "・" + status.counts.failed;
    var state = row.querySelector('[data-field="state"]');
    if (state) { state.textContent = status.state_label; state.className = "state-" + status.state; }
  }

  window.jukinetPoll(function () {
    var rows = Array.prototype.slice.call(container.querySelectorAll("[data-batch-live]"));
    if (!rows.length) return null;
    var ids = rows.map(function (row) { return row.getAttribute("data-batch-id"); });
    return window.jukinetGetJson(url + "?ids=" + encodeURIComponent(ids.join(","))).then(function (data) {
      var result = { finished: false, waiting: true };
      rows.forEach(function (row) {
        var status = data.batches[row.getAttribute("data-batch-id")];
        if (!status) return;
        update(row, status);
        if (FINAL[status.state]) result.finished = true;
        if (status.state === "running" || status.state === "approved") result.waiting = false;
      });
      return result;
    });
  });
})();
