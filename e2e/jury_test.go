package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/results"
)

// englishWords must not appear in what the jury signs (whole words, any
// case): the record is French from top to bottom.
var englishWords = []string{
	"pass", "passed", "fail", "failed", "error", "skip", "skipped", "override", "overridden",
	"candidate", "score", "points of", "mark", "jury mark", "graded", "grading", "check", "checks",
	"decision", "proposed", "acquired", "total of", "page of", "signature of", "machine verdict", "undefined", "null",
}

// TestJuryDay: the jury enters two marks, one correction and one decision in
// the dashboard (behind its token); the candidate's record, as HTML and
// printed to PDF, then shows the totals with the jury's points, the
// correction with its reason and the machine's verdict, and decisions for
// the assessed CCPs alone (the rule's proposal, the jury's). The PDF is read back with poppler: pages, the candidate's name on
// each, nothing unrendered, nothing English.
func TestJuryDay(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	d, err := Populate(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A grading where c02 has two criteria left to the jury.
	g := Grading(T0.Add(time.Minute), false)
	ref := referential.MustLoad(referential.Default)
	for i := range g.Candidates {
		c := &g.Candidates[i]
		if c.ID == "c02" {
			c.Results = append(c.Results, checks.Result{CheckID: "ad.plan-oral", Suite: "tpe", Title: "Explication orale du plan de nommage",
				Competence: "C2.2", Status: checks.StatusJury, MaxPoints: 2, StartedAt: g.StartedAt})
			checks.Score(ref, c)
		}
	}
	if err := d.Save(g); err != nil {
		t.Fatal(err)
	}
	cfg := d.Config()
	cfg.Jury = func(e results.JuryEntry) error { return exam.SetJury(dir, Session, e) }
	const token = "e2e-jury-token-0123456789"
	base := serveConfig(t, cfg, token)
	shots := artifacts(t)

	do(t, ctx, chromedp.Navigate(base+"/c/c02?token="+token), chromedp.WaitVisible(chromedp.CSS("#saisie")))
	before := text(t, ctx, "p.meta strong.pill")
	saved := func(item string) {
		t.Helper()
		expr := `(() => { const s = document.querySelector('#saisie .saved'); return !!s && s.textContent.includes(` + strconv.Quote(item) + `); })()`
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok { // errors while the page navigates
				return
			}
		}
		alert, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " " + ((document.querySelector("#saisie [role=alert]") || document.querySelector("main") || {}).textContent || "").slice(0, 600)`))
		t.Fatalf("%s not saved: %s", item, alert)
	}
	// Two marks: the name typed once is kept for the next form (cookie).
	f := `form[data-item="support.accueil"] `
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(f+`input[name=points]`), "1,5"),
		chromedp.SendKeys(chromedp.CSS(f+`input[name=note]`), "reformulation claire du besoin"),
		chromedp.SendKeys(chromedp.CSS(f+`input[name=author]`), "Mme Martin"),
		chromedp.Click(chromedp.CSS(f+`button`)),
	)
	saved("support.accueil")
	f = `form[data-item="ad.plan-oral"] `
	if a := eval[string](t, ctx, `document.querySelector('`+f+`input[name=author]').value`); a != "Mme Martin" {
		t.Errorf("the second form's author: %q, want the name typed before", a)
	}
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(f+`input[name=points]`), "2"),
		chromedp.Click(chromedp.CSS(f+`button`)),
	)
	saved("ad.plan-oral")
	// One correction: ad.users failed on the machine, the jury accepts it.
	f = `form[data-check="ad.users"] `
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`#corrections summary`)),
		chromedp.WaitVisible(chromedp.CSS(f+`select`)),
		chromedp.SetValue(chromedp.CSS(f+`select[name=status]`), "pass"),
		chromedp.SendKeys(chromedp.CSS(f+`input[name=note]`), "comptes créés dans l'OU voisine, accepté"),
		chromedp.Click(chromedp.CSS(f+`button`)),
	)
	saved("ad.users")
	// One decision: the rule proposes "non acquis" for CCP3, the jury retains "acquis".
	f = `form[data-ccp="CCP3"] `
	if p := text(t, ctx, f+`strong.proposed`); p != "non acquis" {
		t.Errorf("CCP3's proposal %q, want non acquis (30 %% < 50 %%)", p)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('form[data-ccp]').length`); n != 2 {
		t.Errorf("%d decision forms, want CCP2 and CCP3 (CCP1 is not assessed)", n)
	}
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS(f+`select[name=decision]`), "acquis"),
		chromedp.SendKeys(chromedp.CSS(f+`input[name=note]`), "diagnostic oral convaincant"),
		chromedp.Click(chromedp.CSS(f+`button`)),
	)
	saved("CCP3")
	after := text(t, ctx, "p.meta strong.pill")
	// 3 + 4 (corrected) + 1,5 + 2 of 18.
	if after == before || !strings.HasPrefix(after, "10,5/18") {
		t.Errorf("total before %q, after %q: want 10,5/18 (automatic + jury)", before, after)
	}
	screenshot(t, ctx, shots, "06-jury-form-c02.png")

	// The record, as `tailab report --candidate c02` writes it.
	paris, _ := time.LoadLocation("Europe/Paris")
	html, err := exam.Record(dir, Session, "c02", time.Time{}, "html", paris)
	if err != nil {
		t.Fatal(err)
	}
	page := string(html)
	for _, want := range []string{
		"10,5/18", "Corrigé par le jury (Mme Martin", "comptes créés dans l&#39;OU voisine, accepté", "verdict de la machine : échec 0/4",
		"reformulation claire du besoin", "LEFÈVRE Zoé",
		"Proposée par la règle : <strong>non acquis</strong> (30,0 % &lt; 50,0 %)</span><br>Retenue par le jury : <strong>acquis (Mme Martin, ",
		"— diagnostic oral convaincant</strong>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("record HTML: no %q", want)
		}
	}
	decisions := regexp.MustCompile(`<tr><td>(CCP\d)</td><td>[^<]*</td><td class="fill">`).FindAllStringSubmatch(page, -1)
	var got []string
	for _, m := range decisions {
		got = append(got, m[1])
	}
	if strings.Join(got, " ") != "CCP2 CCP3" {
		t.Errorf("decisions offered for %v, want the assessed CCP2 and CCP3 alone", got)
	}

	// Printed: the PDF read back with poppler.
	pdf := filepath.Join(shots, "record-c02.pdf")
	pctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := exam.PrintPDF(pctx, chromiumPath(t), html, pdf); err != nil {
		t.Fatal(err)
	}
	pages := pdfPages(t, pdf, shots)
	if pages < 2 {
		t.Errorf("record of %d page(s): want the scores, checks and decisions over at least 2", pages)
	}
	all := ""
	for p := 1; p <= pages; p++ {
		txt := pdftotext(t, pdf, p)
		if !strings.Contains(txt, "LEFÈVRE Zoé") || !strings.Contains(txt, "c02") {
			t.Errorf("page %d/%d without the candidate's name and number:\n%.300s", p, pages, txt)
		}
		all += txt
	}
	all = strings.Join(strings.Fields(all), " ") // lines wrapped in table cells
	for _, want := range []string{"Corrigé par le jury", "comptes créés dans l'OU voisine", "10,5/18", "non évaluée dans ce sujet",
		"Proposée par la règle : non acquis", "Retenue par le jury : acquis (Mme Martin"} {
		if !strings.Contains(all, want) {
			t.Errorf("PDF: no %q", want)
		}
	}
	if strings.Contains(all, "{{") || strings.Contains(all, "}}") {
		t.Errorf("PDF holds an unrendered template")
	}
	for _, w := range englishWords {
		if m := regexp.MustCompile(`(?i)(^|[^\pL.-])` + regexp.QuoteMeta(w) + `($|[^\pL.-])`).FindString(all); m != "" {
			t.Errorf("PDF holds the English %q (%q)", w, m)
		}
	}
}

// pdfPages renders a PDF's pages to PNG (pdftoppm) and counts them.
func pdfPages(t *testing.T, pdf, dir string) int {
	t.Helper()
	prefix := filepath.Join(dir, "record-c02-page")
	if out, err := exec.Command("pdftoppm", "-r", "50", "-png", pdf, prefix).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm (poppler-utils): %v\n%s", err, out)
	}
	pngs, _ := filepath.Glob(prefix + "*.png")
	for _, p := range pngs {
		if st, err := os.Stat(p); err != nil || st.Size() < 1000 {
			t.Errorf("page image %s is empty", p)
		}
	}
	return len(pngs)
}

// pdftotext is the text of one page of a PDF.
func pdftotext(t *testing.T, pdf string, page int) string {
	t.Helper()
	n := strconv.Itoa(page)
	out, err := exec.Command("pdftotext", "-f", n, "-l", n, "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils): %v", err)
	}
	return string(out)
}
