// The candidate's page: tabs, the countdown to the close, one terminal per
// machine (xterm.js over a WebSocket to the gateway). No inline script: the
// page's Content-Security-Policy allows only this file.
"use strict";

const terminals = {};

function show(id) {
  for (const b of document.querySelectorAll("#onglets button")) {
    b.setAttribute("aria-selected", b.dataset.tab === id ? "true" : "false");
  }
  for (const s of document.querySelectorAll(".onglet")) {
    s.hidden = s.id !== id;
  }
  const sec = document.getElementById(id);
  if (sec && sec.dataset.machine) {
    openTerminal(sec);
  }
}

function notice(text) {
  const a = document.getElementById("avis");
  a.textContent = text;
  a.hidden = false;
}

// Pieces of a paste stay under the gateway's message limit.
const PIECE = 64 * 1024;

function openTerminal(sec) {
  const name = sec.dataset.machine;
  if (terminals[name]) {
    terminals[name].fit.fit();
    terminals[name].term.focus();
    return;
  }
  const term = new Terminal({ cursorBlink: true, fontSize: 15, scrollback: 5000 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(sec);
  fit.fit();
  const ws = new WebSocket("wss://" + location.host + "/terminal?machine=" + encodeURIComponent(name));
  ws.binaryType = "arraybuffer";
  terminals[name] = { term, fit, ws };
  const send = (msg) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); };
  ws.onopen = () => { send({ cols: term.cols, rows: term.rows }); term.focus(); };
  ws.onmessage = (ev) => {
    if (typeof ev.data === "string") {
      const m = JSON.parse(ev.data);
      if (m.avis) { term.write("\r\n\x1b[1;31m*** " + m.avis + " ***\x1b[0m\r\n"); notice(m.avis); }
      return;
    }
    term.write(new Uint8Array(ev.data));
  };
  ws.onclose = () => { term.write("\r\n\x1b[33m[connexion fermée — rouvrez l'onglet pour une nouvelle session]\x1b[0m\r\n"); delete terminals[name]; };
  term.onData((d) => { for (let i = 0; i < d.length; i += PIECE) send({ i: d.slice(i, i + PIECE) }); });
  term.onResize(({ cols, rows }) => send({ cols, rows }));
  window.addEventListener("resize", () => fit.fit());
}

// The countdown runs on the server's clock (offset measured once a minute).
let closes = null, offset = 0;
async function refresh() {
  try {
    const r = await fetch("/etat", { cache: "no-store" });
    if (!r.ok) { notice(await r.text()); return; }
    const s = await r.json();
    offset = Date.parse(s.maintenant) - Date.now();
    closes = s.fermeture ? Date.parse(s.fermeture) : null;
    document.getElementById("compte").title = s.fermeture_texte ? "Fermeture le " + s.fermeture_texte : "";
  } catch (e) { /* the next refresh tries again */ }
}
let closeNoticed = false;
function tick() {
  const el = document.getElementById("compte");
  if (closes === null) { el.textContent = "Fermeture non programmée"; return; }
  let left = Math.max(0, Math.floor((closes - (Date.now() + offset)) / 1000));
  const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
  el.textContent = left === 0 ? "Examen terminé" : "Temps restant : " + (h > 0 ? h + " h " : "") + String(m).padStart(2, "0") + " min " + String(s).padStart(2, "0") + " s";
  el.classList.toggle("bientot", left < 600);
  if (left === 0 && !closeNoticed) { // consoles get no text from the gateway: the page says it
    closeNoticed = true;
    notice("L'examen est terminé : enregistrez votre travail, vos terminaux et consoles vont être fermés.");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("#onglets button")) {
    b.addEventListener("click", () => show(b.dataset.tab));
  }
  refresh().then(tick);
  setInterval(tick, 1000);
  setInterval(refresh, 60000);
});
