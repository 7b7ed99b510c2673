// The console tabs: noVNC over a WebSocket to the gateway, which logs in to
// the VM's VNC server itself. The browser is offered no password (security
// type None): there is nothing to type and nothing to leak.
import RFB from "./vendor/novnc/core/rfb.js";

const consoles = {};

function status(sec, text, state) {
  sec.querySelector(".etat").textContent = text;
  sec.dataset.etat = state;
}

function openConsole(sec) {
  const name = sec.dataset.console;
  if (consoles[name]) {
    consoles[name].focus();
    return;
  }
  const url = "wss://" + location.host + "/console?machine=" + encodeURIComponent(name);
  const rfb = new RFB(sec.querySelector(".ecran"), url, { shared: true });
  rfb.scaleViewport = true;
  rfb.focusOnClick = true;
  consoles[name] = rfb;
  rfb.addEventListener("connect", () => { status(sec, "Console de " + name + " — connectée.", "connectee"); rfb.focus(); });
  rfb.addEventListener("desktopname", (e) => { sec.dataset.nom = e.detail.name; });
  rfb.addEventListener("securityfailure", (e) => {
    status(sec, e.detail.reason || "Console refusée par la passerelle.", "refusee");
  });
  rfb.addEventListener("disconnect", () => {
    delete consoles[name];
    if (sec.dataset.etat !== "refusee") {
      status(sec, "Console de " + name + " fermée — rouvrez l'onglet pour vous reconnecter.", "fermee");
    }
  });
}

for (const b of document.querySelectorAll("#onglets button[data-console]")) {
  // after app.js has shown the tab: noVNC sizes its screen to a visible box
  b.addEventListener("click", () => setTimeout(() => openConsole(document.getElementById("console-" + b.dataset.console)), 0));
}
