// Search and record pages. A search result answered to a POST replaces its history entry with
// the GET address of the same search (?s=<id>), so that going back to it, reloading it and
// paging never re-send the form.
(function () {
  "use strict";
  var section = document.querySelector("[data-replace-url]");
  if (section && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", section.getAttribute("data-replace-url"));
  }
  // 「検索結果に戻る」: back to the result page the record was opened from (its own link, the
  // search form, serves a browser without history).
  var back = document.querySelector("[data-history-back]");
  if (back && window.history.length > 1) {
    back.addEventListener("click", function (event) {
      event.preventDefault();
      window.history.back();
    });
  }
})();
