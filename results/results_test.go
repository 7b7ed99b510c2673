package results_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/e2e"
	"github.com/tailab/tailab/internal/store"
	"github.com/tailab/tailab/results"
)

func report(at time.Time, candidates ...string) *checks.Report {
	rep := &checks.Report{Session: "s1", Lab: "tpe-local", FinishedAt: at}
	for _, c := range candidates {
		rep.Candidates = append(rep.Candidates, checks.CandidateReport{ID: c})
	}
	return rep
}

// TestLayout: a grading is filed under results/<session>, keyed by the time it
// finished (RFC 3339, nanoseconds, UTC): the layout of every data dir written
// so far, read here through the raw store as an older tailab wrote it.
func TestLayout(t *testing.T) {
	dir := t.TempDir()
	fin := time.Date(2026, 6, 3, 8, 30, 0, 123, time.UTC)
	raw, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := report(fin.Add(-time.Hour), "c01")
	if err := raw.Update(func(tx *store.Tx) error {
		return tx.Put("results/demo", old.FinishedAt.Format(time.RFC3339Nano), old)
	}); err != nil {
		t.Fatal(err)
	}
	rs, err := results.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := rs.Save("demo", report(fin, "c01"))
	if err != nil {
		t.Fatal(err)
	}
	if key != "2026-06-03T08:30:00.000000123Z" {
		t.Errorf("key = %q", key)
	}
	var got checks.Report
	if err := raw.View(func(tx *store.Tx) error { return tx.Get("results/demo", key, &got) }); err != nil {
		t.Fatal(err)
	}
	if got.Lab != "tpe-local" || !got.FinishedAt.Equal(fin) {
		t.Errorf("stored report = %+v", got)
	}
	all, err := rs.Load("demo", nil)
	if err != nil || len(all) != 2 || !all[0].At.Equal(old.FinishedAt) || all[1].Number != 2 {
		t.Fatalf("history = %+v, %v; want the older tailab's grading first", all, err)
	}
}

func TestQueries(t *testing.T) {
	rs, err := results.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 6, 12, 14, 3, 7, 0, time.UTC)
	if _, err := rs.Latest("s1"); !errors.Is(err, results.ErrNoGrading) {
		t.Fatalf("latest of an empty session: %v, want ErrNoGrading", err)
	}
	for _, r := range []*checks.Report{
		report(t0, "c01", "c02"),
		report(t0.Add(time.Minute+500*time.Millisecond), "c01", "c02"),
		report(t0.Add(2*time.Minute), "c01"), // grade --candidate c01
	} {
		if _, err := rs.Save("s1", r); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := rs.Keys("s1")
	if err != nil || len(keys) != 3 || keys[1] != "2026-06-12T14:04:07.5Z" {
		t.Fatalf("keys = %v, %v", keys, err)
	}
	// As strings "…:07.5Z" sorts before "…:07Z": keys are ordered by time.
	for _, at := range []time.Time{t0.Add(500 * time.Millisecond), t0} {
		if _, err := rs.Save("s2", report(at, "c01")); err != nil {
			t.Fatal(err)
		}
	}
	if keys, err := rs.Keys("s2"); err != nil || len(keys) != 2 || keys[0] != "2026-06-12T14:03:07Z" {
		t.Errorf("keys of s2 = %v, %v; want by time", keys, err)
	}
	latest, err := rs.Latest("s1")
	if err != nil || latest.Number != 3 || !latest.At.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("latest = %+v, %v", latest, err)
	}
	second, err := rs.ByNumber("s1", 2)
	if err != nil || second.Key != keys[1] || second.Number != 2 {
		t.Fatalf("by number 2 = %+v, %v", second, err)
	}
	if _, err := rs.ByNumber("s1", 4); !errors.Is(err, results.ErrNoGrading) {
		t.Errorf("by number 4: %v, want ErrNoGrading", err)
	}
	tests := []struct {
		name, cand string
		at         time.Time
		want       int // grading number, 0: ErrNoGrading
	}{
		{"latest holding c01", "c01", time.Time{}, 3},
		{"c02 was not in the last grading", "c02", time.Time{}, 2},
		{"at or before", "c01", t0.Add(90 * time.Second), 2},
		{"at the exact key", "c02", t0, 1},
		{"before any grading", "c01", t0.Add(-time.Second), 0},
		{"never graded", "c99", time.Time{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := rs.ForCandidate("s1", tt.cand, tt.at)
			if tt.want == 0 {
				if !errors.Is(err, results.ErrNoGrading) {
					t.Fatalf("got %+v, %v; want ErrNoGrading", g, err)
				}
				return
			}
			if err != nil || g.Number != tt.want {
				t.Fatalf("got %+v, %v; want grading %d", g, err, tt.want)
			}
		})
	}
}

// TestFixtureGradings: the dashboard's fixture (e2e.Populate) stores through
// this package, and a later grading reads back after it.
func TestFixtureGradings(t *testing.T) {
	d, err := e2e.Populate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rep := e2e.Grading(e2e.T0.Add(time.Minute+500*time.Millisecond), true)
	if err := d.Save(rep); err != nil {
		t.Fatal(err)
	}
	keys, err := d.Results.Keys(e2e.Session)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[1] != results.KeyOf(rep) {
		t.Fatalf("keys %v, want the later grading last", keys)
	}
	reps, err := d.Results.Load(e2e.Session, keys[1:])
	if err != nil || reps[0].Report.Candidates[1].Results[1].Status != "pass" {
		t.Fatalf("read back: %v", err)
	}
}
