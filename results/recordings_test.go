package results_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/store"
	"github.com/tailab/tailab/results"
)

// TestRecordingsIndex: the gateway indexes a recording when it starts and
// again when it ends (the same key, updated); listings are per candidate, by
// start; a lookup names a candidate and an id, so another candidate's id is
// not found; a report gets the session's recordings in a copy.
func TestRecordingsIndex(t *testing.T) {
	rs, err := results.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 6, 3, 8, 30, 0, 0, time.UTC)
	for _, r := range []checks.Recording{
		{ID: "srv-2", Candidate: "c01", Machine: "srv", Start: t0.Add(time.Hour), File: "/r/c01/srv-2.cast"},
		{ID: "srv-1", Candidate: "c01", Machine: "srv", Start: t0, File: "/r/c01/srv-1.cast"},
		{ID: "srv-1", Candidate: "c01", Machine: "srv", Start: t0, File: "/r/c01/srv-1.cast", Duration: time.Minute, Size: 512}, // its end
		{ID: "srv-1", Candidate: "c02", Machine: "srv", Start: t0.Add(time.Minute), File: "/r/c02/srv-1.cast"},
	} {
		if err := rs.SaveRecording("s1", r); err != nil {
			t.Fatal(err)
		}
	}
	if err := rs.SaveRecording("s1", checks.Recording{Machine: "srv"}); err == nil {
		t.Error("a recording without candidate or id was indexed")
	}
	c01, err := rs.Recordings("s1", "c01")
	if err != nil {
		t.Fatal(err)
	}
	if len(c01) != 2 || c01[0].ID != "srv-1" || c01[0].Duration != time.Minute || c01[0].Size != 512 || c01[1].ID != "srv-2" {
		t.Errorf("c01's recordings: %+v", c01)
	}
	if all, _ := rs.Recordings("s1", ""); len(all) != 3 || all[2].Candidate != "c02" {
		t.Errorf("the session's recordings: %+v", all)
	}
	if none, err := rs.Recordings("other", "c01"); err != nil || len(none) != 0 {
		t.Errorf("another session: %+v, %v", none, err)
	}
	if r, err := rs.Recording("s1", "c02", "srv-1"); err != nil || r.File != "/r/c02/srv-1.cast" {
		t.Errorf("c02's srv-1: %+v, %v", r, err)
	}
	if _, err := rs.Recording("s1", "c02", "srv-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("c01's srv-2 as c02's: %v, want not found", err)
	}
	rep := report(t0, "c01")
	with, err := rs.WithRecordings("s1", rep)
	if err != nil || len(with.Recordings) != 3 || rep.Recordings != nil {
		t.Errorf("WithRecordings: %d recordings, the stored report has %d (%v)", len(with.Recordings), len(rep.Recordings), err)
	}
}
