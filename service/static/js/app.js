// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // After a failed submit, move focus to the error summary so screen readers announce it.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }

  // Live character count for text areas with a maxlength.
  document.querySelectorAll("textarea[data-counter][maxlength]").forEach(function (area) {
    var max = Number(area.getAttribute("maxlength"));
    var counter = document.createElement("p");
    counter.className = "counter";
    counter.id = area.id + "-counter";
    counter.setAttribute("aria-live", "polite");
    area.insertAdjacentElement("afterend", counter);
    var update = function () {
      counter.textContent = (max - area.value.length) + " characters left";
    };
    area.addEventListener("input", update);
    update();
  });
})();
