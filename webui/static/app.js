/* immoshare contact page: progressive enhancement only. Without JavaScript every
   control is a plain link or form; with it, the view switch and search act at once. */
(function () {
  "use strict";

  var VIEW_COOKIE = "view";

  function setView(view) {
    var entries = document.getElementById("entries");
    if (entries) {
      entries.setAttribute("data-view", view);
    }
    var buttons = document.querySelectorAll("[data-view-choice]");
    for (var i = 0; i < buttons.length; i++) {
      var pressed = buttons[i].getAttribute("data-view-choice") === view;
      buttons[i].setAttribute("aria-pressed", pressed ? "true" : "false");
    }
    document.cookie = VIEW_COOKIE + "=" + view + "; path=/; max-age=31536000; samesite=lax";
  }

  function bindViewSwitch() {
    var buttons = document.querySelectorAll("[data-view-choice]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function (event) {
        event.preventDefault();
        setView(this.getAttribute("data-view-choice"));
      });
    }
  }

  function bindLiveSearch() {
    var form = document.getElementById("search-form");
    var input = document.getElementById("search");
    if (!form || !input || !window.fetch || !window.DOMParser) {
      return;
    }
    var timer = null;
    var latest = 0;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var params = new URLSearchParams(new FormData(form));
        if (!input.value.trim()) {
          params.delete("q");
        }
        var query = params.toString();
        var url = form.getAttribute("action") + (query ? "?" + query : "");
        var mine = ++latest;
        window.fetch(url, {credentials: "same-origin", headers: {"X-Immoshare-Partial": "1"}})
          .then(function (response) { return response.text(); })
          .then(function (html) {
            if (mine !== latest) {
              return;
            }
            var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("results");
            var current = document.getElementById("results");
            if (fresh && current) {
              current.parentNode.replaceChild(document.importNode(fresh, true), current);
              window.history.replaceState(null, "", url);
            }
          })
          .catch(function () { /* the form still works by submitting it */ });
      }, 250);
    });
  }

  // A thumbnail that cannot be shown (not made yet, or not an image after all) goes,
  // and the file-type icon beneath it shows instead.
  function bindThumbnailFallback() {
    document.addEventListener("error", function (event) {
      var target = event.target;
      if (target && target.classList && target.classList.contains("entry__thumb")) {
        target.parentNode.removeChild(target);
      }
    }, true);
    var thumbs = document.querySelectorAll("img.entry__thumb");
    for (var i = 0; i < thumbs.length; i++) {
      if (thumbs[i].complete && thumbs[i].naturalWidth === 0) {
        thumbs[i].parentNode.removeChild(thumbs[i]);
      }
    }
  }

  bindViewSwitch();
  bindLiveSearch();
  bindThumbnailFallback();
}());
