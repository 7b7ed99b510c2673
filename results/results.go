// Package results is the one owner of what the grader stores about a
// session's gradings: every report `grade` produced (a grading), read back by
// the dashboard (`serve`), the jury record (`report`) and the tests. Nothing
// else knows the buckets or the keys: callers save and read gradings through
// a Store.
//
// Layout (bbolt, in the data dir's state file shared with provision's
// session records; unchanged since the first stored report, so existing data
// dirs keep reading):
//
//	results/<session>   key: the time the grading finished, RFC 3339 with
//	                    nanoseconds, UTC; value: the JSON of checks.Report
//	recordings/<session> key: CANDIDATE/ID; value: the JSON of
//	                    checks.Recording (the gateway's terminal recordings)
//
// Each other record has its own bucket per session, read through this
// package only: the jury's marks and overrides of a grading ("marks/<session>",
// keyed by candidate, pointing at a grading by its Key, never rewriting the
// stored report, so the evidence digest of a printed record stays checkable;
// marks.go) and the index of the gateway's recordings (recordings.go).
// bucketOf names every bucket of the package, so a new record adds one kind
// there and one file of methods.
package results

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/store"
)

// kind is one kind of record this package keeps per session.
type kind string

// kindGradings is the stored reports (see the package comment for the others
// to come).
const kindGradings kind = "results"

// bucketOf is the bucket of a session's records of one kind.
func bucketOf(k kind, session string) string { return string(k) + "/" + session }

// Store reads and writes the gradings of a data dir.
type Store struct{ st *store.Store }

// Open returns the results of a data dir (the same state file as
// provision.OpenState's; it is opened per operation, so both may be used at
// once, also by several processes).
func Open(dataDir string) (*Store, error) {
	st, err := store.Open(dataDir)
	if err != nil {
		return nil, fmt.Errorf("open results: %w", err)
	}
	return &Store{st: st}, nil
}

// OnStore returns the results kept in an open store (provision.State.Store):
// one handle for a process that writes both, no lock waits between two.
func OnStore(st *store.Store) *Store { return &Store{st: st} }

// ErrNoGrading is returned when a session, or a candidate of it, has no stored
// grading that fits the request.
var ErrNoGrading = errors.New("no stored grading")

// Grading is one stored report.
type Grading struct {
	Key    string    // its key in the store: the time the grading finished (KeyOf)
	At     time.Time // Key as a time
	Number int       // 1 for the session's first grading, in time order (0: not known, see Load)
	Report *checks.Report
}

// KeyOf is the key a report is stored under: the time its grading finished,
// RFC 3339 with nanoseconds, UTC (now when unset).
func KeyOf(rep *checks.Report) string {
	if rep.FinishedAt.IsZero() {
		return time.Now().UTC().Format(time.RFC3339Nano)
	}
	return rep.FinishedAt.UTC().Format(time.RFC3339Nano)
}

// Save stores a report of the session and returns its key.
func (s *Store) Save(session string, rep *checks.Report) (string, error) {
	key := KeyOf(rep)
	err := s.st.Update(func(tx *store.Tx) error { return tx.Put(bucketOf(kindGradings, session), key, rep) })
	if err != nil {
		return "", fmt.Errorf("store the grading of session %q: %w", session, err)
	}
	return key, nil
}

// Keys lists the keys of a session's gradings, oldest first (by time: RFC 3339
// keys of different precision do not sort as strings). The grading with
// Keys()[i] has number i+1.
func (s *Store) Keys(session string) ([]string, error) {
	var keys []string
	err := s.st.View(func(tx *store.Tx) error {
		var err error
		keys, err = tx.Keys(bucketOf(kindGradings, session), "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list the gradings of session %q: %w", session, err)
	}
	sortKeys(keys)
	return keys, nil
}

// Sessions lists the sessions that have stored gradings, by name: those kept
// after `down` removed the session itself included.
func (s *Store) Sessions() ([]string, error) {
	var out []string
	err := s.st.View(func(tx *store.Tx) error {
		var err error
		out, err = tx.Buckets(string(kindGradings))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list the sessions with gradings: %w", err)
	}
	return out, nil
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

// Load reads the gradings of a session with the given keys, in their order
// (Number left 0); nil keys reads the whole history, oldest first, numbered.
func (s *Store) Load(session string, keys []string) ([]Grading, error) {
	numbered := keys == nil
	if numbered {
		var err error
		if keys, err = s.Keys(session); err != nil {
			return nil, err
		}
	}
	out := make([]Grading, 0, len(keys))
	err := s.st.View(func(tx *store.Tx) error {
		for i, k := range keys {
			var rep checks.Report
			if err := tx.Get(bucketOf(kindGradings, session), k, &rep); err != nil {
				return err
			}
			at, _ := time.Parse(time.RFC3339Nano, k)
			g := Grading{Key: k, At: at, Report: &rep}
			if numbered {
				g.Number = i + 1
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the gradings of session %q: %w", session, err)
	}
	return out, nil
}

// Latest is the session's most recent grading.
func (s *Store) Latest(session string) (*Grading, error) {
	keys, err := s.Keys(session)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("session %q: %w (run `tailab grade --session %s` first)", session, ErrNoGrading, session)
	}
	return s.one(session, keys, len(keys))
}

// ByNumber is the session's n-th grading (1: the first).
func (s *Store) ByNumber(session string, n int) (*Grading, error) {
	keys, err := s.Keys(session)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > len(keys) {
		return nil, fmt.Errorf("session %q has %d grading(s), no number %d: %w", session, len(keys), n, ErrNoGrading)
	}
	return s.one(session, keys, n)
}

// one reads the grading numbered n among keys.
func (s *Store) one(session string, keys []string, n int) (*Grading, error) {
	gs, err := s.Load(session, keys[n-1:n])
	if err != nil {
		return nil, err
	}
	gs[0].Number = n
	return &gs[0], nil
}

// ForCandidate is the latest grading of the session holding the candidate, or
// with at set, the latest finished at or before at. A grading of some
// candidates only (`grade --candidate`) holds only them: the latest grading of
// the session may not hold everybody. Gradings are read one at a time, newest
// first, so a long history costs only what is needed.
func (s *Store) ForCandidate(session, candidate string, at time.Time) (*Grading, error) {
	keys, err := s.Keys(session)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("session %q: %w (run `tailab grade --session %s` first)", session, ErrNoGrading, session)
	}
	for n := len(keys); n >= 1; n-- {
		if t, err := time.Parse(time.RFC3339Nano, keys[n-1]); err == nil && !at.IsZero() && t.After(at) {
			continue
		}
		g, err := s.one(session, keys, n)
		if err != nil {
			return nil, err
		}
		if g.holds(candidate) {
			return g, nil
		}
	}
	if !at.IsZero() {
		return nil, fmt.Errorf("%w of candidate %q in session %q finished at or before %s", ErrNoGrading, candidate, session, at.Format(time.RFC3339Nano))
	}
	return nil, fmt.Errorf("candidate %q was never graded in session %q: %w", candidate, session, ErrNoGrading)
}

// holds reports whether the grading holds the candidate.
func (g *Grading) holds(candidate string) bool {
	for _, c := range g.Report.Candidates {
		if c.ID == candidate {
			return true
		}
	}
	return false
}
