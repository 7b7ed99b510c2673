package results

import (
	"fmt"
	"sort"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/store"
)

// kindRecordings is the index of the gateway's terminal recordings, per
// session, keyed CANDIDATE/ID: the files stay where the gateway wrote them
// (DATA_DIR/recordings/SESSION/CANDIDATE/ID.cast); readers find them here, by
// candidate, never from a path a request names.
const kindRecordings kind = "recordings"

// SaveRecording indexes (or updates: the gateway saves a recording when it
// starts and again when it ends) recordings of the session, in one
// transaction (the gateway batches them: one sync of the state file for
// many terminals); a later one of the same recording wins.
func (s *Store) SaveRecording(session string, rs ...checks.Recording) error {
	for _, r := range rs {
		if r.Candidate == "" || r.ID == "" {
			return fmt.Errorf("index a recording of session %q: no candidate or id", session)
		}
	}
	err := s.st.Update(func(tx *store.Tx) error {
		for _, r := range rs {
			if err := tx.Put(bucketOf(kindRecordings, session), r.Candidate+"/"+r.ID, r); err != nil {
				return fmt.Errorf("%s/%s: %w", r.Candidate, r.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index recordings of session %q: %w", session, err)
	}
	return nil
}

// Recordings lists the session's recordings of a candidate ("" for every
// candidate), by candidate then start.
func (s *Store) Recordings(session, candidate string) ([]checks.Recording, error) {
	var out []checks.Recording
	prefix := ""
	if candidate != "" {
		prefix = candidate + "/"
	}
	err := s.st.View(func(tx *store.Tx) error {
		keys, err := tx.Keys(bucketOf(kindRecordings, session), prefix)
		if err != nil {
			return err
		}
		for _, k := range keys {
			var r checks.Recording
			if err := tx.Get(bucketOf(kindRecordings, session), k, &r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the recordings of session %q: %w", session, err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Candidate != out[j].Candidate {
			return out[i].Candidate < out[j].Candidate
		}
		return out[i].Start.Before(out[j].Start)
	})
	return out, nil
}

// Recording is the candidate's recording with that id.
func (s *Store) Recording(session, candidate, id string) (checks.Recording, error) {
	var r checks.Recording
	err := s.st.View(func(tx *store.Tx) error {
		return tx.Get(bucketOf(kindRecordings, session), candidate+"/"+id, &r)
	})
	if err != nil {
		return r, fmt.Errorf("recording %q of candidate %q in session %q: %w", id, candidate, session, err)
	}
	return r, nil
}

// WithRecordings returns a copy of rep listing the session's recordings: the
// jury record shows each candidate's. The stored grading is left as it is.
func (s *Store) WithRecordings(session string, rep *checks.Report) (*checks.Report, error) {
	recs, err := s.Recordings(session, "")
	if err != nil {
		return nil, err
	}
	out := *rep
	out.Recordings = recs
	return &out, nil
}
