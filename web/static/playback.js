// tailab dashboard: plays a terminal recording back with the vendored
// asciinema-player (no CDN: the page works offline).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var el = document.getElementById("lecteur");
  AsciinemaPlayer.create(el.getAttribute("data-src"), el, { autoPlay: true, idleTimeLimit: 2, fit: "width", preload: true });
});
