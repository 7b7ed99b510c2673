package web

import (
	"fmt"
	"sort"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/store"
)

// ResultsBucket is the store bucket where `tailab grade` files every report of a
// session (JSON of checks.Report), keyed by StoredKey. cmd/tailab's grade uses the
// same layout (a test there checks both agree).
func ResultsBucket(session string) string { return "results/" + session }

// StoredKey is the key of a stored report: the time its grading finished,
// RFC 3339 with nanoseconds, UTC (now when unset).
func StoredKey(rep *checks.Report) string {
	if rep.FinishedAt.IsZero() {
		return time.Now().UTC().Format(time.RFC3339Nano)
	}
	return rep.FinishedAt.UTC().Format(time.RFC3339Nano)
}

// SaveReport stores a report the way `tailab grade` does.
func SaveReport(st *store.Store, session string, rep *checks.Report) error {
	key := StoredKey(rep)
	return st.Update(func(tx *store.Tx) error {
		if err := tx.Put(ResultsBucket(session), key, rep); err != nil {
			return fmt.Errorf("store report: %w", err)
		}
		return nil
	})
}

// StoredReport is one report read back from the store.
type StoredReport struct {
	Key    string    // bucket key
	At     time.Time // the key as a time
	Report *checks.Report
}

// ReportKeys lists the keys of a session's stored reports, oldest first (by
// time: RFC 3339 keys of different precision do not sort as strings).
func ReportKeys(st *store.Store, session string) ([]string, error) {
	var keys []string
	err := st.View(func(tx *store.Tx) error {
		var err error
		keys, err = tx.Keys(ResultsBucket(session), "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list reports of session %q: %w", session, err)
	}
	sortKeys(keys)
	return keys, nil
}

// sortKeys orders keys by the time they hold; keys that are not times go first,
// in string order.
func sortKeys(keys []string) {
	sort.SliceStable(keys, func(i, j int) bool {
		a, errA := time.Parse(time.RFC3339Nano, keys[i])
		b, errB := time.Parse(time.RFC3339Nano, keys[j])
		switch {
		case errA != nil && errB != nil:
			return keys[i] < keys[j]
		case errA != nil:
			return true
		case errB != nil:
			return false
		}
		return a.Before(b)
	})
}

// LoadReports reads the reports of a session with the given keys (all when
// keys is nil), in the order of keys.
func LoadReports(st *store.Store, session string, keys []string) ([]StoredReport, error) {
	if keys == nil {
		var err error
		if keys, err = ReportKeys(st, session); err != nil {
			return nil, err
		}
	}
	out := make([]StoredReport, 0, len(keys))
	err := st.View(func(tx *store.Tx) error {
		for _, k := range keys {
			var rep checks.Report
			if err := tx.Get(ResultsBucket(session), k, &rep); err != nil {
				return err
			}
			at, _ := time.Parse(time.RFC3339Nano, k)
			out = append(out, StoredReport{Key: k, At: at, Report: &rep})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read reports of session %q: %w", session, err)
	}
	return out, nil
}

// CandidateReport picks, among stored reports (oldest first), the latest one
// holding the candidate, or with at set, the latest finished at or before at.
// A grading of some candidates only (`grade --candidate`) stores a report with
// only them: the latest report of the session may not hold everybody.
func CandidateReport(reports []StoredReport, candidate string, at time.Time) (*StoredReport, bool) {
	for i := len(reports) - 1; i >= 0; i-- {
		r := &reports[i]
		if !at.IsZero() && r.At.After(at) {
			continue
		}
		for _, c := range r.Report.Candidates {
			if c.ID == candidate {
				return r, true
			}
		}
	}
	return nil, false
}
