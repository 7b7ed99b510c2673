package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/e2e"
	"github.com/tailab/tailab/internal/testenv"
)

// runTailab runs the CLI in-process with args; it returns stdout, stderr and
// the exit code.
func runTailab(t *testing.T, ctx context.Context, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), statusOf(err)
}

func TestServeRefusesExposureWithoutToken(t *testing.T) {
	dir := t.TempDir()
	if _, err := e2e.Populate(dir); err != nil {
		t.Fatal(err)
	}
	t.Setenv(serveTokenEnv, "")
	for _, listen := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8080"} {
		_, stderr, code := runTailab(t, context.Background(), "serve", "--data-dir", dir, "--session", e2e.Session, "--listen", listen)
		if code != ExitUsage || !strings.Contains(stderr, "without a token") || !strings.Contains(stderr, serveTokenEnv) {
			t.Errorf("--listen %s: exit %d, %q", listen, code, stderr)
		}
	}
	t.Setenv(serveTokenEnv, "too-short")
	if _, stderr, code := runTailab(t, context.Background(), "serve", "--data-dir", dir, "--session", e2e.Session, "--listen", "0.0.0.0:0"); code != ExitUsage || !strings.Contains(stderr, "at least 16") {
		t.Errorf("short token: exit %d, %q", code, stderr)
	}
	t.Setenv(serveTokenEnv, "")
	if _, stderr, code := runTailab(t, context.Background(), "serve", "--data-dir", dir, "--session", "nope"); code != ExitUsage || !strings.Contains(stderr, `session "nope"`) {
		t.Errorf("unknown session: exit %d, %q", code, stderr)
	}
}

// TestServeWithToken serves on every interface with a token (from a file) and
// stops on cancel.
func TestServeWithToken(t *testing.T) {
	dir := t.TempDir()
	if _, err := e2e.Populate(dir); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	const token = "a-long-enough-token-1234"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t, "127.0.0.1")))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan string, 1)
	go func() {
		_, stderr, _ := runTailab(t, ctx, "serve", "--data-dir", dir, "--session", e2e.Session, "--listen", addr, "--token-file", tokenFile)
		done <- stderr
	}()
	testenv.WaitTCP(t, addr, 10*time.Second)
	for _, tc := range []struct {
		auth string
		code int
	}{{"", 401}, {"Bearer " + token, 200}} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("auth %q: %d, want %d", tc.auth, resp.StatusCode, tc.code)
		}
	}
	cancel()
	stderr := <-done
	if !strings.Contains(stderr, "token required") || strings.Contains(stderr, token) {
		t.Errorf("serve output: %q", stderr)
	}
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	st, err := e2e.Populate(dir)
	if err != nil {
		t.Fatal(err)
	}
	second := e2e.Grading(e2e.T0.Add(10*time.Minute), true)
	if err := st.Save(second); err != nil {
		t.Fatal(err)
	}
	first := e2e.Grading(e2e.T0, false)
	args := func(extra ...string) []string {
		return append([]string{"report", "--data-dir", dir, "--session", e2e.Session}, extra...)
	}
	ctx := context.Background()

	html, _, code := runTailab(t, ctx, args("--candidate", "c02")...)
	latestDigest, _ := report.EvidenceDigest(second, "c02")
	if code != 0 || !strings.Contains(html, latestDigest) || !strings.Contains(html, "Relevé d’évaluation") {
		t.Errorf("html: exit %d, digest of the latest grading missing", code)
	}
	digest, _, code := runTailab(t, ctx, args("--candidate", "c02", "--at", "2026-06-12T14:03:07Z", "-o", "digest")...)
	firstDigest, _ := report.EvidenceDigest(first, "c02")
	if code != 0 || !strings.HasPrefix(digest, firstDigest+"  tailab-evidence/1") {
		t.Errorf("digest --at: exit %d, %q, want %s", code, digest, firstDigest)
	}
	bundle, _, _ := runTailab(t, ctx, args("--candidate", "c02", "-o", "bundle")...)
	if got, _, _ := report.EvidenceBundle(second, "c02"); bundle != string(got) {
		t.Error("-o bundle differs from the digested bundle")
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{args("--candidate", "c99"), ExitUsage, "never graded"},
		{args("--candidate", "c02", "--at", "2020-01-01T00:00:00Z"), ExitUsage, "at or before"},
		{args("--candidate", "c02", "--at", "hier"), ExitUsage, "--at"},
		{args("--candidate", "c02", "-o", "docx"), ExitUsage, "unknown output"},
		{[]string{"report", "--data-dir", dir, "-o", "csv"}, ExitUsage, "--session is required"},
		{[]string{"report", "--data-dir", dir, "--session", "vide", "--candidate", "c01"}, ExitUsage, "no stored grading"},
	} {
		_, stderr, code := runTailab(t, ctx, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d %q, want %d %q", tc.args[4:], code, stderr, tc.code, tc.msg)
		}
	}

	// Without Chromium: a clear error.
	t.Run("no chromium", func(t *testing.T) {
		t.Setenv("TAILAB_CHROMIUM", "")
		t.Setenv("PATH", t.TempDir())
		_, stderr, code := runTailab(t, ctx, args("--candidate", "c02", "-o", "pdf", "--out", filepath.Join(t.TempDir(), "x.pdf"))...)
		if code != ExitInfra || !strings.Contains(stderr, "apt-get install chromium") {
			t.Errorf("exit %d, %q", code, stderr)
		}
	})
}

// TestReportPDF prints the record through the real headless Chromium.
func TestReportPDF(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil && os.Getenv("TAILAB_CHROMIUM") == "" {
		testenv.Unavailable(t, "chromium not installed (apt-get install chromium)")
	}
	dir := t.TempDir()
	if _, err := e2e.Populate(dir); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "c02.pdf")
	_, stderr, code := runTailab(t, context.Background(), "report", "--data-dir", dir, "--session", e2e.Session, "--candidate", "c02", "-o", "pdf", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(data, []byte("%PDF-")) || len(data) < 10000 {
		t.Fatalf("not a PDF (%d bytes): %v", len(data), err)
	}
	if a := os.Getenv("TAILAB_ARTIFACTS"); a != "" {
		_ = os.WriteFile(filepath.Join(a, "jury-c02.pdf"), data, 0o644)
	}
	checkRecordPDF(t, out, "LEFÈVRE Zoé — n° c02")
}

// englishWords must not appear on a record a French jury signs (whole words).
var englishWords = []string{"pass", "passed", "fail", "failed", "error", "errors", "skipped", "candidate", "check", "checks",
	"grade", "graded", "jury 0/0", "create", "keep", "remove", "reset", "revert", "round", "none", "unknown"}

// checkRecordPDF reads a printed record back with poppler (pdftotext per
// page, pdftoppm for the page images): at least two pages, the candidate's
// running header on every page, no template text, no English word.
func checkRecordPDF(t *testing.T, pdf, header string) {
	t.Helper()
	for _, tool := range []string{"pdftotext", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, "%s not installed (apt-get install poppler-utils)", tool)
		}
	}
	dir := t.TempDir()
	if out, err := exec.Command("pdftoppm", "-r", "30", "-png", pdf, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page-*.png"))
	if len(pages) < 2 {
		t.Fatalf("%d page(s), want the record on at least 2 (scores, checks, decisions, signatures)", len(pages))
	}
	for n := 1; n <= len(pages); n++ {
		text, err := exec.Command("pdftotext", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "-layout", pdf, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext page %d: %v", n, err)
		}
		page := string(text)
		if !strings.Contains(page, header) {
			t.Errorf("page %d/%d lacks the running header %q", n, len(pages), header)
		}
		if !strings.Contains(page, fmt.Sprintf("page %d / %d", n, len(pages))) {
			t.Errorf("page %d/%d lacks its number", n, len(pages))
		}
		if strings.Contains(page, "{{") {
			t.Errorf("page %d holds template text", n)
		}
		words := strings.FieldsFunc(strings.ToLower(page), func(r rune) bool { return !unicode.IsLetter(r) && r != '/' && r != '0' })
		for _, w := range englishWords {
			if slices.Contains(words, w) || (strings.Contains(w, " ") && strings.Contains(strings.ToLower(page), w)) {
				t.Errorf("page %d holds the English word %q", n, w)
			}
		}
	}
}
