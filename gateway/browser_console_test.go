package gateway

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tailab/tailab/internal/testenv"
)

// canvasDrawn is true once the console's canvas holds more than one colour:
// the VM's screen (SeaBIOS, then the kernel's text), not an empty frame.
const canvasDrawn = `(() => {
  const c = document.querySelector("#console-ws canvas");
  if (!c || c.width < 100 || c.height < 100) return false;
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  for (let i = 4; i < d.length; i += 4) {
    if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return true;
  }
  return false;
})()`

// TestBrowserConsole opens a tiny TCG VM's console in headless Chromium as a
// candidate would: log in, open the console tab; noVNC completes the RFB
// handshake through the gateway without asking for a password, and draws the
// VM's screen. At the close the page warns and the console is closed after
// the grace period.
func TestBrowserConsole(t *testing.T) {
	chromium := testenv.RequireBinary(t, "chromium")
	l, _, pws := consoleLab(t)
	l.open(t)
	base, _ := l.startWeb(t)
	ctx := chromiumTab(t, chromium, 120*time.Second)

	var pageMu sync.Mutex
	var page []string // the page's console, for a failure's diagnosis
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			pageMu.Lock()
			page = append(page, m.String())
			pageMu.Unlock()
		}
	}()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll := func(what, expr string, d time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(d))); err != nil {
			state, _ := chromedp.Run(ctx, chromedp.Text(css(`#console-ws .etat`)))
			pageMu.Lock()
			defer pageMu.Unlock()
			t.Fatalf("%s (%s): %v; console says %q; the page's console:\n%s", what, expr, err, state, strings.Join(page, "\n"))
		}
	}
	step("login", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`input[name=identifiant]`)),
		chromedp.SendKeys(css(`input[name=identifiant]`), "c01"),
		chromedp.SendKeys(css(`input[name=motdepasse]`), l.passwords["c01"]),
		chromedp.Click(css(`button[type=submit]`)), chromedp.WaitVisible(css(`#onglets`)))
	// the page's modules (noVNC) load before the tabs answer clicks
	poll("page loaded", `document.readyState === "complete"`, 30*time.Second)
	step("console tab", chromedp.Click(css(`button[data-tab=console-ws]`)))
	poll("RFB handshake", `document.getElementById("console-ws").dataset.etat === "connectee"`, 30*time.Second)
	name, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("console-ws").dataset.nom || ""`))
	poll("a frame drawn", canvasDrawn, 60*time.Second)
	html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	shot, _ := chromedp.Run(ctx, chromedp.CaptureScreenshot())

	// the close: the page warns (the countdown at zero), the gateway closes
	// the console after the grace period
	if _, err := CloseWindow(l.store, "s1", time.Now()); err != nil {
		t.Fatal(err)
	}
	step("countdown at zero", chromedp.Evaluate[chromedp.Void](`closes = Date.now() - 1000; tick()`))
	poll("close notice", `!document.getElementById("avis").hidden && document.getElementById("avis").textContent.startsWith("L'examen est terminé")`, 5*time.Second)
	poll("console closed", `document.getElementById("console-ws").dataset.etat === "fermee"`, 30*time.Second)
	if name != "QEMU (vm-c01)" {
		t.Errorf("desktop name %q, want c01's VM", name)
	}
	if strings.Contains(html, pws["c01"]) {
		t.Error("the console password is in the page")
	}
	saveShot(t, "candidate-console.png", shot)
	if log := l.auditLog(t); !hasLine(log, "console c01 ws", "opened (web from") {
		t.Errorf("audit log:\n%s", strings.Join(log, "\n"))
	}
}
