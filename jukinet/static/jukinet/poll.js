// The polling loop the progress pages share (batch provision: progress.js; 整合性確認:
// consistency.js). jukinetPoll(ask): ask() returns null when nothing on the page is live, or a
// promise of {finished, waiting}. Every 2 s while work moves, every 10 s while it only waits
// (for an approval), backing off to 30 s while the server or the session is away; nothing is
// asked while the page is hidden (idle.js's lock); when something finished the page reloads
// once, so the server draws what the final state offers.
(function () {
  "use strict";

  window.jukinetGetJson = function (url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(
      function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      }
    );
  };

  window.jukinetPoll = function (ask) {
    var delay = 2000;
    var timer = null;

    function poll() {
      var asked = ask();
      if (!asked) return;
      asked
        .then(function (result) {
          if (result.finished) { window.location.reload(); return; }
          delay = result.waiting ? 10000 : 2000;
          timer = setTimeout(poll, delay);
        })
        .catch(function () {
          delay = Math.min(delay * 2, 30000);
          timer = setTimeout(poll, delay);
        });
    }

    document.addEventListener("visibilitychange", function () {
      clearTimeout(timer);
      if (!document.hidden) poll();
    });
    timer = setTimeout(poll, delay);
  };
})();
