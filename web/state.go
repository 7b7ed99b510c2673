package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// latest is a candidate's most recent stored grading.
type latest struct {
	Key, Lab, Referential string
	At                    time.Time
	Report                *checks.Report         // the whole stored report (for the jury page)
	Candidate             checks.CandidateReport // with the jury's marks (applyJury)
	Raw                   checks.CandidateReport // as the machine graded it
}

// checkKey identifies a check of a candidate across gradings.
type checkKey struct{ Candidate, Suite, Check string }

// histPoint is one check's verdict in one stored grading.
type histPoint struct {
	Key         string
	At          time.Time
	Status      checks.Status
	Points, Max float64
	Message     string
}

// state is what the dashboard shows, rebuilt incrementally from the store: only
// reports not seen before are decoded; evidence is kept for each candidate's
// latest grading only, history as compact verdicts.
type state struct {
	mu       sync.RWMutex
	keys     []string // stored report keys, oldest first
	version  string
	session  *provision.Session // nil when the session record is gone
	latest   map[string]*latest
	history  map[checkKey][]histPoint
	lastAt   time.Time
	loadedAt time.Time
	jury     string // juryVersion of the entries applied
}

// errNoSession is returned when neither a session record nor a stored report exists.
var errNoSession = errors.New("no such session and no stored report")

// refresh reads the store again; it reports whether anything changed.
func (s *Server) refresh() (bool, error) {
	st := s.cfg.State
	sess, err := st.Session(s.cfg.Session)
	if err != nil && !errors.Is(err, provision.ErrNoSession) {
		return false, err
	}
	keys, err := s.cfg.Results.Keys(s.cfg.Session)
	if err != nil {
		return false, err
	}
	if sess == nil && len(keys) == 0 {
		return false, fmt.Errorf("session %q: %w (see `tailab session list`)", s.cfg.Session, errNoSession)
	}
	entries, err := s.cfg.Results.Jury(s.cfg.Session)
	if err != nil {
		return false, err
	}
	jv := juryVersion(entries)
	s.st.mu.RLock()
	old := s.st.keys
	same := slices.Equal(old, keys) && sessionVersion(sess) == sessionVersion(s.st.session) && jv == s.st.jury
	s.st.mu.RUnlock()
	if same {
		return false, nil
	}
	// Incremental when the old keys are a prefix of the new ones (the usual case:
	// grade appended reports); else rebuild.
	var fresh []string
	incremental := len(old) <= len(keys) && slices.Equal(old, keys[:len(old)])
	if incremental {
		fresh = keys[len(old):]
	} else {
		fresh = keys
	}
	reports, err := s.cfg.Results.Load(s.cfg.Session, fresh)
	if err != nil {
		return false, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if !incremental || s.st.latest == nil {
		s.st.latest = map[string]*latest{}
		s.st.history = map[checkKey][]histPoint{}
		s.st.lastAt = time.Time{}
	}
	for _, r := range reports {
		s.st.add(r)
	}
	s.st.applyJury(entries, func(f string, a ...any) { fmt.Fprintf(s.cfg.Log, f+"\n", a...) })
	s.st.keys, s.st.jury = keys, jv
	s.st.session = sess
	s.st.version = versionOf(keys, sess, jv)
	s.st.loadedAt = time.Now()
	return true, nil
}

func (st *state) add(r results.Grading) {
	rep := r.Report
	if r.At.After(st.lastAt) {
		st.lastAt = r.At
	}
	for _, c := range rep.Candidates {
		st.latest[c.ID] = &latest{
			Key: r.Key, At: r.At, Lab: rep.Lab, Referential: rep.Referential,
			Report: rep, Candidate: c, Raw: c,
		}
		for _, res := range c.Results {
			k := checkKey{c.ID, res.Suite, res.CheckID}
			st.history[k] = append(st.history[k], histPoint{
				Key: r.Key, At: r.At, Status: res.Status,
				Points: res.Points, Max: res.MaxPoints, Message: res.Message,
			})
		}
	}
	// Reports no candidate points to any more are dropped with their evidence.
}

func sessionVersion(s *provision.Session) string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(s.Name + "\x00" + s.Lab)
	for _, c := range s.Candidates {
		b.WriteString("\x00" + c.ID + "\x00" + c.LastName + "\x00" + c.FirstName)
	}
	return b.String()
}

// versionOf is the dashboard's version (the ETag): it changes when a report is
// stored, the roster changes or the jury enters something.
func versionOf(keys []string, sess *provision.Session, jury string) string {
	h := sha256.New()
	h.Write([]byte(sessionVersion(sess) + "\x00" + jury))
	for _, k := range keys {
		h.Write([]byte("\x00" + k))
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// roster is the session's candidates (from the session record, then any graded
// candidate no longer in it), in natural ID order.
func (st *state) roster() []labs.Candidate {
	var out []labs.Candidate
	seen := map[string]bool{}
	if st.session != nil {
		for _, c := range st.session.Candidates {
			seen[c.ID] = true
			out = append(out, c)
		}
	}
	for id, l := range st.latest {
		if !seen[id] {
			out = append(out, labs.Candidate{ID: id, LastName: l.Candidate.LastName, FirstName: l.Candidate.FirstName})
		}
	}
	slices.SortFunc(out, func(a, b labs.Candidate) int { return naturalCompare(a.ID, b.ID) })
	return out
}
