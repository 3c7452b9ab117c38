// The participation record's "Print" button. The Content-Security-Policy allows no inline
// script, hence this file; without it the button stays hidden and the browser's own Print works.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
