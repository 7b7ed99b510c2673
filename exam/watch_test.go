package exam

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
)

// rep builds a report: per candidate, "suite/check=status:points" items.
func rep(cands map[string][]string, order ...string) *checks.Report {
	r := &checks.Report{}
	for _, id := range order {
		cr := checks.CandidateReport{ID: id}
		for _, item := range cands[id] {
			name, verdict, _ := strings.Cut(item, "=")
			suite, check, _ := strings.Cut(name, "/")
			status, pts, _ := strings.Cut(verdict, ":")
			res := checks.Result{Suite: suite, CheckID: check, Status: checks.Status(status), MaxPoints: 2}
			if pts != "" {
				res.Points = map[string]float64{"0": 0, "1": 1, "2": 2, "0.5": 0.5}[pts]
			}
			cr.Results = append(cr.Results, res)
			cr.Points += res.Points
			cr.MaxPoints += res.MaxPoints
			cr.Counts.Add(res.Status)
		}
		r.Candidates = append(r.Candidates, cr)
	}
	return r
}

func TestDiffReports(t *testing.T) {
	base := map[string][]string{
		"c01": {"s/srv-ssh=pass:1", "s/dns-actif=fail", "s/jury-accueil=jury"},
		"c02": {"s/srv-ssh=pass:1", "s/dns-actif=pass:2", "s/jury-accueil=jury"},
	}
	tests := []struct {
		name string
		prev *checks.Report
		cur  *checks.Report
		want []string
	}{
		{"first round", nil, rep(base, "c01", "c02"), nil},
		{"unchanged lab, same verdicts", rep(base, "c01", "c02"), rep(base, "c01", "c02"), nil},
		{"one check fixed", rep(base, "c01", "c02"), rep(map[string][]string{
			"c01": {"s/srv-ssh=pass:1", "s/dns-actif=pass:2", "s/jury-accueil=jury"},
			"c02": base["c02"],
		}, "c01", "c02"), []string{"12:03:10 c01 dns-actif échec → réussi (+2 pts)"}},
		{"broken, lost to an error, in report order", rep(base, "c01", "c02"), rep(map[string][]string{
			"c01": {"s/srv-ssh=error", "s/dns-actif=skip", "s/jury-accueil=jury"},
			"c02": {"s/srv-ssh=pass:1", "s/dns-actif=fail", "s/jury-accueil=jury"},
		}, "c01", "c02"), []string{
			"12:03:10 c01 srv-ssh réussi → erreur (-1 pts)",
			"12:03:10 c01 dns-actif échec → ignoré",
			"12:03:10 c02 dns-actif réussi → échec (-2 pts)",
		}},
		{"partial credit", rep(base, "c01"), rep(map[string][]string{
			"c01": {"s/srv-ssh=pass:0.5", "s/dns-actif=fail", "s/jury-accueil=jury"},
		}, "c01"), []string{"12:03:10 c01 srv-ssh réussi → réussi (-0,5 pts)"}},
		{"new candidate and check", rep(base, "c01"), rep(map[string][]string{
			"c01": {"s/srv-ssh=pass:1", "s/dns-actif=fail", "s/jury-accueil=jury", "s/partage=pass:1"},
			"c03": {"s/srv-ssh=fail"},
		}, "c01", "c03"), []string{
			"12:03:10 c01 partage (nouveau) → réussi (+1 pts)",
			"12:03:10 c03 srv-ssh (nouveau) → échec",
		}},
		{"same id in two suites", rep(map[string][]string{"c01": {"a/ping=pass:1", "b/ping=pass:1"}}, "c01"),
			rep(map[string][]string{"c01": {"a/ping=pass:1", "b/ping=fail"}}, "c01"),
			[]string{"12:03:10 c01 b/ping réussi → échec (-1 pts)"}},
	}
	at := time.Date(2026, 6, 3, 12, 3, 10, 0, time.Local)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range Diff(tt.prev, tt.cur) {
				got = append(got, c.Line(at))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestRoundSummary(t *testing.T) {
	at := time.Date(2026, 6, 3, 12, 3, 10, 0, time.Local)
	r := rep(map[string][]string{
		"c01": {"s/a=pass:1", "s/b=fail", "s/c=error", "s/j=jury"},
		"c02": {"s/a=pass:2", "s/b=skip"},
	}, "c01", "c02")
	tests := []struct {
		n, changes int
		want       string
	}{
		{1, 0, "12:03:10 tour 1 : première correction ; 2 réussies, 1 échec, 1 erreur, 1 ignorée ; 3/12 pts (2 candidats)"},
		{4, 3, "12:03:10 tour 4 : 3 changements ; 2 réussies, 1 échec, 1 erreur, 1 ignorée ; 3/12 pts (2 candidats)"},
	}
	for _, tt := range tests {
		if got := RoundSummary(at, tt.n, tt.changes, r); got != tt.want {
			t.Errorf("roundSummary = %q\nwant            %q", got, tt.want)
		}
	}
}
