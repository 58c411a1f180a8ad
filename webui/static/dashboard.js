// The agents' dashboard: everything works without this file; it only saves clicks.
// - a form marked data-autosubmit is sent as soon as its checkbox changes
//   ("active": unticking revokes at once);
// - "copy link" puts the contact's personal link on the clipboard.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("change", function (event) {
    var input = event.target;
    var form = input.form;
    if (input.type === "checkbox" && form && form.hasAttribute("data-autosubmit")) {
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-testid=copy-link]");
    if (!button) { return; }
    var link = button.getAttribute("data-link");
    var done = function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied");
      window.setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(link).then(done, function () {});
    } else {
      var details = button.parentNode.querySelector("details");
      if (details) { details.open = true; details.querySelector("input").select(); }
    }
  });
}());
