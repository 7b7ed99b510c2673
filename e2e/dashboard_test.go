package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/web"
)

// TestMain runs the package in a private network namespace (loopback only) when
// it can: the browser then has no network beyond the dashboard.
func TestMain(m *testing.M) { testenv.RunInNetns(m) }

// chromiumPath is Debian's chromium (TAILAB_CHROMIUM overrides); missing, the
// test fails in CI and skips elsewhere.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TAILAB_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		testenv.Unavailable(t, "chromium not installed (/usr/bin/chromium; apt-get install chromium)")
	}
	return "/usr/bin/chromium"
}

// artifacts is where screenshots go: $TAILAB_ARTIFACTS/e2e, else a temp dir.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if a := os.Getenv("TAILAB_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "e2e")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// browser starts a headless Chromium with a fresh profile and no background
// traffic; the returned context drives one tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Env("TZ=UTC"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// serve runs the dashboard of the fixture session on 127.0.0.1 and returns its URL.
func serve(t *testing.T, d *Data, token string) string {
	t.Helper()
	return serveConfig(t, d.Config(), token)
}

// serveConfig runs a dashboard of cfg on 127.0.0.1 and returns its URL.
func serveConfig(t *testing.T, cfg web.Config, token string) string {
	t.Helper()
	cfg.Poll, cfg.Token = 200*time.Millisecond, secret.New(token)
	srv, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + l.Addr().String()
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// gridCell is what the browser shows in one cell of the grid.
type gridCell struct {
	Candidate  string `json:"c"`
	Competence string `json:"k"`
	Class      string `json:"cls"`
	Percent    string `json:"pct"`
	Text       string `json:"text"`
}

const readGrid = `Array.from(document.querySelectorAll('#grid td.cell')).map(td => ({
  c: td.dataset.candidate, k: td.dataset.competence, cls: td.className,
  pct: td.dataset.percent || "", text: (td.querySelector('.pct') || td).textContent.trim()}))`

func grid(t *testing.T, ctx context.Context) map[string]gridCell {
	t.Helper()
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[]gridCell](readGrid))
	if err != nil {
		t.Fatalf("read grid: %v", err)
	}
	out := map[string]gridCell{}
	for _, c := range cells {
		out[c.Candidate+"/"+c.Competence] = c
	}
	return out
}

func checkCells(t *testing.T, got map[string]gridCell, want []gridCell) {
	t.Helper()
	for _, w := range want {
		c, ok := got[w.Candidate+"/"+w.Competence]
		if !ok {
			t.Errorf("no cell %s × %s", w.Candidate, w.Competence)
			continue
		}
		for _, cls := range strings.Fields(w.Class) {
			if !strings.Contains(" "+c.Class+" ", " "+cls+" ") {
				t.Errorf("cell %s × %s: class %q, want %q", w.Candidate, w.Competence, c.Class, w.Class)
			}
		}
		if c.Percent != w.Percent || c.Text != w.Text {
			t.Errorf("cell %s × %s: percent %q text %q, want %q %q", w.Candidate, w.Competence, c.Percent, c.Text, w.Percent, w.Text)
		}
	}
}

func TestDashboard(t *testing.T) {
	ctx := browser(t)
	st, err := Populate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, st, "")
	shots := artifacts(t)

	// 1. The grid: one cell per candidate × competence, coloured by score.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#grid"))); err != nil {
		t.Fatalf("open the grid: %v", err)
	}
	cells := grid(t, ctx)
	competences := 0
	for _, c := range cells {
		if strings.HasPrefix(c.Competence, "C") && !strings.HasPrefix(c.Competence, "CCP") {
			competences++
		}
	}
	if competences != 3*4 {
		t.Errorf("%d competence cells, want 3 candidates × 4 competences", competences)
	}
	checkCells(t, cells, []gridCell{
		{Candidate: "c01", Competence: "C2.2", Class: "cell high", Percent: "100.0", Text: "100,0 %"},
		{Candidate: "c01", Competence: "C3.1", Class: "cell none", Percent: "", Text: "jury"},
		{Candidate: "c02", Competence: "C2.2", Class: "cell low capped", Percent: "0.0", Text: "0,0 %"},
		{Candidate: "c02", Competence: "C3.4", Class: "cell low", Percent: "0.0", Text: "0,0 %"},
		{Candidate: "c10", Competence: "C2.2", Class: "cell low", Percent: "42.9", Text: "42,9 %"},
		{Candidate: "c10", Competence: "C2.3", Class: "cell high", Percent: "100.0", Text: "100,0 %"},
		{Candidate: "c10", Competence: "total", Class: "cell mid", Percent: "50.0", Text: "50,0 %"},
	})
	screenshot(t, ctx, shots, "01-grid.png")

	// 2. Drill-down: candidate c02, competence C2.2, the failed check and its
	// evidence, shown as text (markup in evidence is not interpreted).
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`td[data-candidate="c02"][data-competence="C2.2"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`section.check[data-check="ad.users"] pre.evidence`)),
	)
	evidence := text(t, ctx, `section.check[data-check="ad.users"] pre.evidence`)
	if !strings.Contains(evidence, "<script>document.title='pwned'</script> & <b>gras</b>") || !strings.Contains(evidence, `\x1b[31mrouge`) {
		t.Errorf("evidence shown as %q", evidence)
	}
	injected := eval[int](t, ctx, `document.querySelectorAll('pre.evidence b, pre.evidence script').length`)
	if title := eval[string](t, ctx, `document.title`); injected != 0 || strings.Contains(title, "pwned") {
		t.Errorf("markup from the evidence was interpreted (elements %d, title %q)", injected, title)
	}
	if msg := text(t, ctx, `section.check[data-check="ad.users"] .msg`); msg != "2 comptes sur 4 sont conformes" {
		t.Errorf("message %q", msg)
	}
	screenshot(t, ctx, shots, "02-competence-c02-C2.2.png")

	do(t, ctx,
		chromedp.Click(chromedp.CSS(`section.check[data-check="ad.users"] .head a`)),
		chromedp.WaitVisible(chromedp.CSS("#history")),
	)
	if rows := eval[int](t, ctx, `document.querySelectorAll('#history tbody tr').length`); rows != 1 {
		t.Errorf("history of one grading: %d rows", rows)
	}

	// 3. A re-grade stored while the grid is open updates it in place; c02's
	// machines were reset after the exam opened: the grid marks c02 alone.
	do(t, ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#grid")))
	eval[int](t, ctx, `window.tailabMarker = 42`)
	second := T0.Add(10 * time.Minute)
	regrade := Grading(second, true)
	regrade.Interventions = []checks.Intervention{{Time: regrade.StartedAt.Add(time.Minute), User: "mme.dupont", Action: "reset", Candidate: "c02", Machine: "pc1"}}
	if err := st.Save(regrade); err != nil {
		t.Fatal(err)
	}
	updated, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`(() => { const td = document.querySelector('td[data-candidate="c02"][data-competence="C2.2"]');
		          return td && td.classList.contains('high') && td.dataset.percent === '100.0'; })()`,
		chromedp.WithPollingTimeout(15*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil || !updated {
		t.Fatalf("the grid did not follow the new grading: %v", err)
	}
	if marker := eval[int](t, ctx, `window.tailabMarker || 0`); marker != 42 {
		t.Errorf("the page was reloaded instead of updated in place (marker %d)", marker)
	}
	checkCells(t, grid(t, ctx), []gridCell{
		{Candidate: "c02", Competence: "C2.2", Class: "cell high", Percent: "100.0", Text: "100,0 %"},
		{Candidate: "c02", Competence: "C3.4", Class: "cell high", Percent: "100.0", Text: "100,0 %"},
		{Candidate: "c01", Competence: "C2.2", Class: "cell high", Percent: "100.0", Text: "100,0 %"},
	})
	marks := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#grid .mark')).map(m => m.closest('tr').dataset.candidate + ' ' + m.textContent + ' ' + m.title)`)
	if len(marks) != 1 || !strings.HasPrefix(marks[0], "c02 ⚑ Machines remises à l'état initial") {
		t.Errorf("intervention marks on the grid: %q, want c02's alone", marks)
	}
	if meta := text(t, ctx, "header.top .meta"); !strings.Contains(meta, "2 correction(s)") {
		t.Errorf("header after the re-grade: %q", meta)
	}
	screenshot(t, ctx, shots, "03-grid-after-regrade.png")

	// 4. History: when the check turned green.
	do(t, ctx,
		chromedp.Navigate(base+"/c/c02/C3.4/fault.dns-client?suite=tpe"),
		chromedp.WaitVisible(chromedp.CSS("#history")),
	)
	rows := eval[int](t, ctx, `document.querySelectorAll('#history tbody tr').length`)
	since := text(t, ctx, "strong.ok")
	if want := "Réussie depuis le " + second.Format("02/01/2006 15:04:05"); rows != 2 || !strings.Contains(since, want) {
		t.Errorf("history: %d rows, %q; want 2 rows and %q", rows, since, want)
	}
	screenshot(t, ctx, shots, "04-check-history.png")

	// 5. The jury's printable page of a candidate.
	do(t, ctx, chromedp.Navigate(base+"/c/c02/jury"), chromedp.WaitVisible(chromedp.CSS("footer.digest code")))
	if digest := text(t, ctx, "footer.digest code"); len(digest) != 64 {
		t.Errorf("jury page digest %q", digest)
	}
	screenshot(t, ctx, shots, "05-jury-c02.png")
}

// TestDashboardToken: with a token, the browser gets in once with ?token=, then
// keeps a cookie (the page's refresh requests included).
func TestDashboardToken(t *testing.T) {
	ctx := browser(t)
	st, err := Populate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const token = "e2e-token-0123456789abcdef"
	base := serve(t, st, token)

	// Without the token: 401 with a Basic challenge, which headless Chromium
	// reports as a failed navigation (a browser with a window asks for it).
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err == nil {
		if body := text(t, ctx, "body"); !strings.Contains(body, "Accès refusé") {
			t.Errorf("without the token: %q", body)
		}
	} else if !strings.Contains(err.Error(), "AUTH") {
		t.Errorf("without the token: %v", err)
	}
	do(t, ctx, chromedp.Navigate(base+"/?token="+token), chromedp.WaitVisible(chromedp.CSS("#grid")))
	url := eval[string](t, ctx, `location.href`)
	html := eval[string](t, ctx, `document.documentElement.outerHTML`)
	if strings.Contains(url, token) || strings.Contains(html, token) {
		t.Errorf("the token stays visible (url %s)", url)
	}
	if err := st.Save(Grading(T0.Add(5*time.Minute), true)); err != nil {
		t.Fatal(err)
	}
	updated, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`document.querySelector('td[data-candidate="c02"][data-competence="C2.2"]').classList.contains('high')`,
		chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil || !updated {
		t.Fatalf("refresh with the cookie: %v", err)
	}
}

// do runs steps in the tab, failing the test on error.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// text is the visible text of the first element matching a CSS selector.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}
