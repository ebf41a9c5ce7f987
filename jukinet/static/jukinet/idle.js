// Blank the screen after an idle time; the server is told, so a reload stays locked.
(function () {
  "use strict";
  var body = document.body;
  var seconds = parseInt(body.dataset.blankSeconds || "0", 10);
  var overlay = document.getElementById("screen-lock");
  if (!body.dataset.staff || !seconds || !overlay) return;
  var form = document.getElementById("screen-lock-form");
  var input = document.getElementById("screen-lock-password");
  var error = document.getElementById("screen-lock-error");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var timer = null;

  function lock() {
    body.classList.add("screen-locked");
    overlay.hidden = false;
    input.value = "";
    input.focus();
    fetch("/lock", { method: "POST", headers: { "X-CSRFToken": csrf, Accept: "application/json" }, credentials: "same-origin" });
  }
  function unlocked() {
    body.classList.remove("screen-locked");
    overlay.hidden = true;
    error.textContent = "";
    restart();
  }
  function restart() {
    if (body.classList.contains("screen-locked")) return;
    clearTimeout(timer);
    timer = setTimeout(lock, seconds * 1000);
  }
  ["keydown", "mousemove", "mousedown", "touchstart", "wheel"].forEach(function (name) {
    document.addEventListener(name, restart, { passive: true });
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    fetch("/unlock", {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) { return response.json().then(function (json) { return [response.ok, json]; }); })
      .then(function (result) {
        if (result[0]) { unlocked(); } else { error.textContent = result[1].error.message; input.value = ""; input.focus(); }
      })
      .catch(function () { error.textContent = "通信できませんでした。もう一度お試しください。"; });
  });
  restart();
})();
