package gateway

import (
	"context"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tailab/tailab/internal/testenv"
)

// TestBrowser drives the browser side in headless Chromium as a candidate
// would: log in, read the countdown, see the topology, open the srv
// terminal, type hostname and read the machine's name back.
func TestBrowser(t *testing.T) {
	chromium := testenv.RequireBinary(t, "chromium")
	l := startLab(t)
	allowUncontained(t)
	l.open(t)
	if _, err := CloseWindow(l.store, "s1", time.Now().Add(90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	base, _ := l.startWeb(t)

	ctx := chromiumTab(t, chromium, 40*time.Second)

	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			t.Fatalf("%s (%s): %v", what, expr, err)
		}
	}
	step("login", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`input[name=identifiant]`)),
		chromedp.SendKeys(css(`input[name=identifiant]`), "c01"),
		chromedp.SendKeys(css(`input[name=motdepasse]`), l.passwords["c01"]),
		chromedp.Click(css(`button[type=submit]`)), chromedp.WaitVisible(css(`#onglets`)))
	poll("countdown", `document.getElementById("compte").textContent.startsWith("Temps restant")`)
	countdown, _ := chromedp.Run(ctx, chromedp.Text(css(`#compte`)))
	step("topology tab", chromedp.Click(css(`button[data-tab=topologie]`)))
	poll("topology", `document.querySelector("#topologie img").naturalWidth > 0`)
	svgWidth, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector("#topologie img").naturalWidth`))
	step("terminal tab", chromedp.Click(css(`button[data-tab=terminal-srv]`)))
	step("terminal", chromedp.WaitVisible(css(`#terminal-srv .xterm`)))
	poll("prompt", `document.querySelector("#terminal-srv .xterm-rows").textContent.includes("#")`)
	step("type", chromedp.Focus(css(`#terminal-srv textarea.xterm-helper-textarea`)), typeKeys("hostname\r"))
	// a row that is the command's output alone (the prompt holds the name too)
	poll("hostname", `[...document.querySelectorAll("#terminal-srv .xterm-rows > div")].some(r => r.textContent.trim() === "srv-c01")`)
	terminal, _ := chromedp.Run(ctx, chromedp.Text(css(`#terminal-srv .xterm-rows`)))
	shot, _ := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if !strings.HasPrefix(countdown, "Temps restant : 1 h 29 min") {
		t.Errorf("countdown %q", countdown)
	}
	if svgWidth < 300 {
		t.Errorf("topology width %d", svgWidth)
	}
	if !strings.Contains(terminal, "srv-c01") {
		t.Errorf("terminal %q", terminal)
	}
	saveShot(t, "candidate-terminal.png", shot)
	if log := l.auditLog(t); !hasLine(log, "terminal c01 srv", "shell (web from") {
		t.Errorf("audit log:\n%s", strings.Join(log, "\n"))
	}
}

// saveShot keeps a screenshot in $TAILAB_ARTIFACTS/gateway (else the
// test's temporary dir) and says where.
func saveShot(t *testing.T, name string, png []byte) {
	t.Helper()
	dir := t.TempDir()
	if a := os.Getenv("TAILAB_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "gateway")
		_ = os.MkdirAll(dir, 0o755)
	}
	_ = os.WriteFile(filepath.Join(dir, name), png, 0o644)
	t.Logf("screenshot: %s", filepath.Join(dir, name))
}

// chromiumTab starts headless Chromium and returns a tab's context, ended
// (and Chromium stopped) with the test.
func chromiumTab(t *testing.T, chromium string, timeout time.Duration) context.Context {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("ignore-certificate-errors", true), // a self-signed certificate; the sheet prints its fingerprint
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancel(); cancelTab(); cancelAlloc() })
	return ctx
}

// typeKeys types text as a keyboard does: one keydown carrying the
// character and one keyup per key (chromedp's SendKeys adds a "char" event
// on top, which a terminal takes as a second keystroke).
func typeKeys(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, r := range text {
			down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: string(r), Text: string(r)}
			if r == '\r' {
				down.Key, down.Code, down.WindowsVirtualKeyCode = "Enter", "Enter", 13
			}
			up := down
			up.Type, up.Text = input.DispatchKeyEventTypeKeyUp, ""
			for _, ev := range []input.DispatchKeyEventParams{down, up} {
				if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
