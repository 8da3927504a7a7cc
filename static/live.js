// Live pages: an element with data-live-subject listens to Wharf's event stream for that
// subject and fires `wharf:event` on the body, which htmx partials refresh on
// (hx-trigger="wharf:event from:body"). EventSource reconnects by itself and resumes from
// the last event id.
(function () {
  "use strict";
  var element = document.querySelector("[data-live-subject]");
  if (!element || !window.EventSource) {
    return;
  }
  var url = "/api/v1/events/stream?subject=" + encodeURIComponent(element.getAttribute("data-live-subject"));
  var source = new EventSource(url);
  source.onmessage = function () {
    document.body.dispatchEvent(new CustomEvent("wharf:event"));
  };
  window.addEventListener("pagehide", function () {
    source.close();
  });
})();
