package gateway

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/results"
	"github.com/tailab/tailab/web"
)

// TestRecordingsForJury follows a terminal recording from the gateway to the
// jury (whose record gives the exam window too): an SSH terminal session is recorded and indexed with the session's
// results (machine, start, duration, size, file), holds none of the
// gateway's credentials, is listed in the jury record (start in the centre's
// time zone) and on the dashboard's candidate page, and plays back there in
// headless Chromium with the vendored asciinema-player.
func TestRecordingsForJury(t *testing.T) {
	chromium := testenv.RequireBinary(t, "chromium")
	l := startLab(t)
	allowUncontained(t)
	if err := SetWindow(l.dataDir, "s1", "open", "", io.Discard); err != nil { // as `tailab session open`: audited
		t.Fatal(err)
	}
	t0 := time.Now()
	out, _, code := l.ssh(t, "c01+srv", l.passwords["c01"], "", "-tt", "echo MARQUEUR-$((6*7)); hostname")
	if code != 0 || !strings.Contains(out, "MARQUEUR-42") {
		t.Fatalf("code %d, out %q", code, out)
	}
	rs, err := results.Open(l.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	var recs []checks.Recording
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) { // indexed when the relay ends
		if recs, err = rs.Recordings("s1", "c01"); err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].Duration > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(recs) != 1 {
		t.Fatalf("c01's recordings: %+v", recs)
	}
	rec := recs[0]
	fi, err := os.Stat(rec.File)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Machine != "srv" || rec.Duration <= 0 || rec.Size != fi.Size() || rec.Start.Before(t0.Add(-time.Second)) || rec.Start.After(time.Now()) {
		t.Errorf("index entry %+v (file of %d bytes)", rec, fi.Size())
	}
	if other, _ := rs.Recordings("s1", "c02"); len(other) != 0 {
		t.Errorf("c02 has c01's recordings: %+v", other)
	}

	// none of the gateway's credentials: the machine's key, the console and
	// gateway passwords
	cast, err := os.ReadFile(rec.File)
	if err != nil {
		t.Fatal(err)
	}
	labDef, _ := l.sess.LoadLab()
	secrets, err := l.st.Secrets("s1", labDef, "c01")
	if err != nil {
		t.Fatal(err)
	}
	consolePW, _ := l.st.ConsolePassword("s1", "c01")
	creds := []string{l.passwords["c01"], consolePW.Reveal()}
	for _, line := range strings.Split(secrets["ssh-key"].Reveal(), "\n") {
		if len(line) > 20 && !strings.HasPrefix(line, "-----") {
			creds = append(creds, line)
		}
	}
	for _, c := range creds {
		if strings.Contains(string(cast), c) {
			t.Errorf("the recording holds a credential (%d characters)", len(c))
		}
	}
	if !strings.Contains(string(cast), "MARQUEUR-42") {
		t.Errorf("recording without the output:\n%s", cast)
	}

	// the jury record lists it, in the centre's time zone
	if _, err := rs.Save("s1", &checks.Report{SchemaVersion: checks.ReportSchemaVersion, Session: "s1", Lab: "gw-test",
		StartedAt: time.Now(), FinishedAt: time.Now(), Candidates: []checks.CandidateReport{{ID: "c01", Index: 1}, {ID: "c02", Index: 2}}}); err != nil {
		t.Fatal(err)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	record, err := exam.Record(l.dataDir, "s1", "c01", time.Time{}, "html", paris)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(record), "<th>Fenêtre de l’épreuve</th><td colspan=\"3\">ouverte le "+t0.In(paris).Format("02/01/2006")) {
		t.Errorf("jury record without the exam window:\n%s", record)
	}
	if start := rec.Start.In(paris).Format("02/01/2006 15:04:05 MST"); !strings.Contains(string(record), "Enregistrements des terminaux") ||
		!strings.Contains(string(record), "<td>srv</td><td>"+start+"</td>") {
		t.Errorf("jury record without the recording (start %s):\n%s", start, record)
	}

	// ...and so does its PDF
	pdftotext := testenv.RequireBinary(t, "pdftotext")
	pdf := filepath.Join(t.TempDir(), "record.pdf")
	if err := exam.PrintPDF(context.Background(), chromium, record, pdf); err != nil {
		t.Fatal(err)
	}
	if text, err := exec.Command(pdftotext, "-layout", pdf, "-").Output(); err != nil || !strings.Contains(string(text), "Enregistrements des terminaux") ||
		!strings.Contains(string(text), rec.Start.In(paris).Format("02/01/2006 15:04:05")) {
		t.Errorf("the printed record (%v):\n%s", err, text)
	}

	// the dashboard lists it and plays it back
	srv, err := web.New(web.Config{State: l.st, Results: rs, Session: "s1", Location: paris})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	c := hs.Client()
	href := "/c/c01/enregistrements/" + rec.ID
	if code, body := get(t, c, hs.URL+"/c/c01"); code != 200 || !strings.Contains(body, `href="`+href+`"`) {
		t.Errorf("candidate page: %d %s", code, body)
	}
	if code, body := get(t, c, hs.URL+href+"/cast"); code != 200 || body != string(cast) {
		t.Errorf("the recording's file: %d", code)
	}
	for _, p := range []string{"/c/c02/enregistrements/" + rec.ID, "/c/c02/enregistrements/" + rec.ID + "/cast",
		"/c/c01/enregistrements/..%2F..%2Fstate.db/cast", "/c/c02/enregistrements/..%2Fc01%2F" + rec.ID + "/cast"} {
		if code, body := get(t, c, hs.URL+p); code != 404 || strings.Contains(body, "MARQUEUR") {
			t.Errorf("%s: %d", p, code)
		}
	}
	ctx := chromiumTab(t, chromium, 60*time.Second)
	page := chromedp.Console(ctx)
	var mu sync.Mutex
	var msgs []string // the page's console, for a failure's diagnosis
	go func() {
		for m, err := range page {
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, m.String())
			mu.Unlock()
		}
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/c/c01"), chromedp.Click(chromedp.CSS(`#enregistrements a`)),
		chromedp.WaitReady(chromedp.CSS(`#lecteur`))); err != nil {
		t.Fatal(err)
	}
	played := `(document.querySelector("#lecteur .ap-term-text") || {textContent: ""}).textContent.includes("MARQUEUR-42")`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](played, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.outerHTML`))
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("the player never showed the recorded output: %v\n%s\n%s", err, html, strings.Join(msgs, "\n"))
	}
	shot, _ := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	saveShot(t, "recording-playback.png", shot)
}
