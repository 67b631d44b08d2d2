// gitfleet view: live updates. The server sends an event on /events whenever the
// reconcile loop's state changes; the page is then fetched again and its <main> swapped
// in, so what is shown stays current without a reload. Without this script every page is
// still complete, only not live.
(function () {
  "use strict";
  var live = document.getElementById("live");
  function say(text) { if (live) { live.textContent = text; } }
  if (!window.EventSource || !window.fetch || !window.DOMParser) {
    say("Live updates: not supported by this browser; reload to refresh");
    return;
  }
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("content"), cur = document.getElementById("content");
        if (!next || !cur) { return; }
        // Keep the keyboard focus on the same link or region after the swap.
        var focused = document.activeElement, key = null;
        if (focused && cur.contains(focused)) { key = focused.getAttribute("href") || focused.getAttribute("aria-label"); }
        cur.replaceWith(next);
        document.title = doc.title;
        if (key) {
          var match = next.querySelector('[href="' + CSS.escape(key) + '"], [aria-label="' + CSS.escape(key) + '"]');
          if (match) { match.focus(); }
        }
        say("Live updates: on; last change " + new Date().toLocaleTimeString());
      })
      .catch(function (e) { say("Live updates: the page could not be refreshed (" + e.message + "); reload to retry"); })
      .finally(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var events = new EventSource("/events");
  events.addEventListener("open", function () { say("Live updates: on"); });
  events.addEventListener("change", refresh);
  events.addEventListener("error", function () { say("Live updates: connection lost, reconnecting"); });
})();
