package exam

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/internal/atomicfile"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// Interventions reads a session's audit log for the jury record: what was
// done to the candidates' labs (up, down, reset, revert, faults...). Grading
// rounds and console-password reveals are left out: they change nothing in a
// lab.
func Interventions(st *provision.State, session string) ([]checks.Intervention, error) {
	log, err := st.AuditLog(session)
	if err != nil {
		return nil, fmt.Errorf("read the audit log of session %q: %w", session, err)
	}
	var out []checks.Intervention
	for _, e := range log {
		switch e.Action {
		case "grade", "access":
			continue
		}
		out = append(out, checks.Intervention{Time: e.Time, User: e.User, Action: e.Action,
			Candidate: e.Candidate, Machine: e.Machine, Detail: e.Detail, Facts: e.Facts})
	}
	return out, nil
}

// Records are the files WriteRecords wrote.
type Records struct {
	Session string   // the session's HTML report
	Jury    []string // each candidate's jury record, in the report's order
}

// WriteRecords writes a grading's session report (HTML) and each candidate's
// jury record, with the session's interventions and recordings, into dir (atomically, file
// by file); dates are shown in loc.
func WriteRecords(dir string, st *provision.State, rep *checks.Report, loc *time.Location) (*Records, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	formats, err := report.NewRegistry(report.Options{Location: loc})
	if err != nil {
		return nil, err
	}
	html, err := formats.Get("html")
	if err != nil {
		return nil, err
	}
	out := &Records{Session: filepath.Join(dir, rep.Session+".html")}
	if err := report.WriteFile(out.Session, html, rep); err != nil {
		return nil, err
	}
	if rep.Interventions, err = Interventions(st, rep.Session); err != nil {
		return nil, err
	}
	recs, err := results.OnStore(st.Store()).Recordings(rep.Session, "")
	if err != nil {
		return nil, err
	}
	rep.Recordings = recs
	for _, c := range rep.Candidates {
		jury := &report.Jury{Opts: report.Options{Location: loc}, Candidates: []string{c.ID}}
		path := filepath.Join(dir, fmt.Sprintf("%s-%s-jury.html", rep.Session, c.ID))
		f, err := atomicfile.Create(path)
		if err != nil {
			return nil, err
		}
		if err := jury.Format(f, rep); err != nil {
			f.Abort()
			return nil, err
		}
		if err := f.Commit(); err != nil {
			return nil, err
		}
		out.Jury = append(out.Jury, path)
	}
	return out, nil
}

// Record is one candidate's jury record from the latest stored grading
// holding them (or the latest finished at or before at, when set), with the
// session's interventions: output html (the A4 page, also what is printed to
// PDF), digest (the evidence digest line, to check a printed record) or bundle
// (the canonical JSON the digest is computed on). Dates are shown in loc.
func Record(dataDir, session, candidate string, at time.Time, output string, loc *time.Location) ([]byte, error) {
	st, err := provision.OpenState(dataDir)
	if err != nil {
		return nil, err
	}
	rs, err := results.Open(dataDir)
	if err != nil {
		return nil, err
	}
	g, err := rs.ForCandidate(session, candidate, at)
	if err != nil {
		return nil, Classify(err)
	}
	rep, err := rs.WithJury(session, g)
	if err != nil {
		return nil, err
	}
	if rep, err = rs.WithRecordings(session, rep); err != nil {
		return nil, err
	}
	if rep.Interventions, err = Interventions(st, session); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	switch output {
	case "digest":
		d, err := report.EvidenceDigest(rep, candidate)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&buf, "%s  %s session=%s candidate=%s grading=%s\n", d, report.EvidenceFormat, session, candidate, report.ReportKey(rep))
	case "bundle":
		b, _, err := report.EvidenceBundle(rep, candidate)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	default:
		j := &report.Jury{Opts: report.Options{Location: loc}, Candidates: []string{candidate}}
		if err := j.Format(&buf, rep); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// StoredGrading is the session's latest stored grading, or its n-th (1 the
// first) when n > 0: what `tailab report` renders again without probing.
func StoredGrading(dataDir, session string, n int) (*checks.Report, error) {
	rs, err := results.Open(dataDir)
	if err != nil {
		return nil, err
	}
	var g *results.Grading
	if n > 0 {
		g, err = rs.ByNumber(session, n)
	} else {
		g, err = rs.Latest(session)
	}
	if err != nil {
		return nil, Classify(err)
	}
	return rs.WithJury(session, g)
}
