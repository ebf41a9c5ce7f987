// Batch progress: poll the project's own JSON status endpoint and update the bars in place.
// Rows carry data-batch-id (and data-batch-live while not finished) inside a container with
// data-batch-status-url. When a batch reaches a final state the page reloads once, so the
// server draws what that state offers (the download, the password form).
(function () {
  "use strict";
  var container = document.querySelector("[data-batch-status-url]");
  if (!container) return;
  var url = container.getAttribute("data-batch-status-url");
  var FINAL = { done: true, rejected: true, failed: true };
  var delay = 2000;
  var timer = null;

  function live() {
    return Array.prototype.slice.call(container.querySelectorAll("[data-batch-live]"));
  }

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

  function poll() {
    var rows = live();
    if (!rows.length) return;
    var ids = rows.map(function (row) { return row.getAttribute("data-batch-id"); });
    fetch(url + "?ids=" + encodeURIComponent(ids.join(",")), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        var finished = false;
        var moving = false;
        rows.forEach(function (row) {
          var status = data.batches[row.getAttribute("data-batch-id")];
          if (!status) return;
          update(row, status);
          if (FINAL[status.state]) finished = true;
          if (status.state === "running" || status.state === "approved") moving = true;
        });
        if (finished) { window.location.reload(); return; }
        // Every 2 s while a batch runs; every 10 s while they only wait for an approval.
        delay = moving ? 2000 : 10000;
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
