package exam

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// shortIDs drops the suite from a check key when the id is unique among keys.
func shortIDs(keys []string, all []CheckVerdict) []string {
	count := map[string]int{}
	for _, c := range all {
		_, id, _ := strings.Cut(c.ID, "/")
		count[id]++
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		_, id, _ := strings.Cut(k, "/")
		if count[id] == 1 {
			k = id
		}
		out[i] = k
	}
	return out
}

// Print writes the verdict as two tables, steps then checks, and a last line
// (surprises, or "Verified both ways").
func (v Verdict) Print(w io.Writer) error {
	t := newTable(w, "STEP", "GAINED IN ORDER", "FAIL WHEN LEFT OUT", "VERDICT")
	for _, s := range v.Steps {
		verdict := "ok"
		if len(s.Surprises) > 0 {
			verdict = "SURPRISE"
		}
		t.row(s.Step, orDash(shortIDs(s.Gained, v.Checks)), orDash(shortIDs(s.Needs, v.Checks)), verdict)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t = newTable(w, "CHECK", "PTS", "UNTOUCHED", "FULL", "GAINED AT", "NEEDS STEPS", "VERDICT")
	for _, c := range v.Checks {
		verdict := "ok"
		if len(c.Surprises) > 0 {
			verdict = "SURPRISE"
		}
		id := shortIDs([]string{c.ID}, v.Checks)[0]
		t.row(id, fmt.Sprintf("%g", c.Points), string(c.Untouched), string(c.Full), c.GainedAt, orDash(c.Needs), verdict)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nUntouched: %g/%g pts; reference solution: %g/%g pts; %d step(s), %d check(s).\n",
		v.UntouchedPoints, v.MaxPoints, v.FullPoints, v.MaxPoints, len(v.Steps), len(v.Checks))
	for _, e := range v.Errors {
		fmt.Fprintln(w, "ERROR", e)
	}
	for _, s := range v.Surprises {
		fmt.Fprintln(w, "SURPRISE", s)
	}
	if len(v.Errors)+len(v.Surprises) == 0 {
		fmt.Fprintln(w, "Verified both ways: no surprise.")
	}
	return nil
}

func orDash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cols ...string) { fmt.Fprintln(t.tw, strings.Join(cols, "\t")) }
func (t *table) flush() error       { return t.tw.Flush() }
