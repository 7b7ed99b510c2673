// tailab dashboard: follow new gradings without reloading the page. Every few
// seconds, ask /api/version with the last ETag (304 while nothing changed); on a
// new version, fetch this page again and swap its <main> and header.
(function () {
  "use strict";
  var body = document.body;
  var version = body.getAttribute("data-version") || "";
  var every = parseInt(body.getAttribute("data-poll-ms"), 10) || 3000;
  var etag = '"' + version + '"';
  var live = document.getElementById("live");

  function swap() {
    return fetch(location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var open = {};
        document.querySelectorAll("details[id]").forEach(function (d) { open[d.id] = d.open; });
        ["main", "header.top"].forEach(function (sel) {
          var now = document.querySelector(sel), next = doc.querySelector(sel);
          if (now && next) { now.replaceWith(document.importNode(next, true)); }
        });
        document.title = doc.title;
        version = doc.body.getAttribute("data-version") || version;
        body.setAttribute("data-version", version);
        live = document.getElementById("live");
      });
  }

  function tick() {
    // Never swap the page under a jury member typing in a form: wait.
    var a = document.activeElement;
    if (a && a.form) { setTimeout(tick, every); return; }
    fetch("/api/version", { headers: { "If-None-Match": etag }, cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 304) { return null; }
        if (!r.ok) { throw new Error(r.status); }
        etag = r.headers.get("ETag") || etag;
        return r.json();
      })
      .then(function (v) {
        if (live) { live.classList.remove("stale"); }
        if (v && v.version !== version) { return swap(); }
      })
      .catch(function () { if (live) { live.classList.add("stale"); } })
      .then(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
