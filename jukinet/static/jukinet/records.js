// A search result answered to a POST replaces its history entry with the GET address of the
// same search (?s=<id>), so that going back to it, reloading it and paging never re-send the form.
(function () {
  "use strict";
  var section = document.querySelector("[data-replace-url]");
  if (section && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", section.getAttribute("data-replace-url"));
  }
})();
