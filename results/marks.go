package results

import (
	"fmt"
	"strings"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/internal/store"
)

// kindMarks is the jury's marks and overrides, per session: they never
// rewrite a stored grading (its evidence digest stays checkable); they are
// applied when a grading is read for people (Apply).
const kindMarks kind = "marks"

// JuryEntry is one thing the jury gave: a mark for a criterion left to it
// (Points), an override of an automated verdict (Status) made on one
// grading (Grading, its key; overrides apply to that grading only, marks to
// every grading of the session), or the decision on a CCP (Decision, Item
// the CCP id; for every grading). Author and Note are shown wherever the
// entry is.
type JuryEntry struct {
	Candidate string        `json:"candidate"`
	Item      string        `json:"item"` // jury item id or check id
	Points    float64       `json:"points,omitempty"`
	Status    checks.Status `json:"status,omitempty"`   // set: an override
	Decision  string        `json:"decision,omitempty"` // set: a decision (checks.DecisionAcquired...)
	Grading   string        `json:"grading,omitempty"`
	Note      string        `json:"note,omitempty"`
	Author    string        `json:"author"`
	At        time.Time     `json:"at"`
}

// IsOverride tells an override from a mark.
func (e JuryEntry) IsOverride() bool { return e.Status != "" }

// IsDecision tells a decision on a CCP from a mark or an override.
func (e JuryEntry) IsDecision() bool { return e.Decision != "" }

func (e JuryEntry) key() string {
	k := "mark"
	switch {
	case e.IsDecision():
		k = "decision"
	case e.IsOverride():
		k = "override"
	}
	return k + "/" + e.Candidate + "/" + e.Item
}

// SaveJury stores (or replaces) a jury entry of the session.
func (s *Store) SaveJury(session string, e JuryEntry) error {
	err := s.st.Update(func(tx *store.Tx) error { return tx.Put(bucketOf(kindMarks, session), e.key(), e) })
	if err != nil {
		return fmt.Errorf("store the jury's %s of session %q: %w", e.key(), session, err)
	}
	return nil
}

// Jury lists the session's jury entries, decisions, marks then overrides,
// by candidate and item.
func (s *Store) Jury(session string) ([]JuryEntry, error) {
	var out []JuryEntry
	err := s.st.View(func(tx *store.Tx) error {
		keys, err := tx.Keys(bucketOf(kindMarks, session), "")
		if err != nil {
			return err
		}
		for _, k := range keys {
			var e JuryEntry
			if err := tx.Get(bucketOf(kindMarks, session), k, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the jury's marks of session %q: %w", session, err)
	}
	return out, nil
}

// JuryInput gathers the entries that apply to a grading (its key), by
// candidate.
func JuryInput(entries []JuryEntry, grading string) map[string]checks.JuryInput {
	out := map[string]checks.JuryInput{}
	for _, e := range entries {
		in := out[e.Candidate]
		if in.Marks == nil {
			in = checks.JuryInput{Marks: map[string]checks.JuryMark{}, Overrides: map[string]checks.Override{}, Decisions: map[string]checks.JuryDecision{}}
		}
		switch {
		case e.IsDecision():
			in.Decisions[e.Item] = checks.JuryDecision{CCP: e.Item, Decision: e.Decision, Note: e.Note, Author: e.Author, At: e.At}
		case !e.IsOverride():
			in.Marks[e.Item] = checks.JuryMark{Points: e.Points, Note: e.Note, Author: e.Author, At: e.At}
		case strings.EqualFold(e.Grading, grading):
			in.Overrides[e.Item] = checks.Override{Status: e.Status, Note: e.Note, Author: e.Author, At: e.At}
		}
		out[e.Candidate] = in
	}
	return out
}

// WithJury returns a copy of a stored grading with the jury's marks (and the
// overrides made on this grading) applied and scored: what people read. The
// stored grading is left as it is.
func (s *Store) WithJury(session string, g *Grading) (*checks.Report, error) {
	entries, err := s.Jury(session)
	if err != nil || len(entries) == 0 {
		return g.Report, err
	}
	ref, err := referential.Load(g.Report.Referential)
	if err != nil {
		return nil, fmt.Errorf("grading %s: %w", g.Key, err)
	}
	out := *g.Report
	out.Candidates = append([]checks.CandidateReport(nil), g.Report.Candidates...)
	inputs := JuryInput(entries, g.Key)
	for i := range out.Candidates {
		c := &out.Candidates[i]
		in, ok := inputs[c.ID]
		if !ok {
			continue
		}
		c.Results = append([]checks.Result(nil), c.Results...)
		if err := checks.ApplyJury(ref, c, in); err != nil {
			return nil, err
		}
	}
	return &out, nil
}
