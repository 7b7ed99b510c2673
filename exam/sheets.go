package exam

import (
	"fmt"
	"time"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/person"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/templates/sheets"
)

// sheetData is what a candidate sheet template sees.
type sheetData struct {
	Session   string
	Lab       string
	StartedAt string
	Candidate labs.Candidate
	Params    map[string]any
	// Faults are the faults drawn for the candidate (their Description is the
	// symptom as the user reports it).
	Faults []labs.Fault
}

// Sheet is one candidate's exam statement.
type Sheet struct {
	Candidate string
	Body      []byte // Markdown, or a printable HTML page
}

// Sheets renders the exam statement of the session's lab for each candidate
// (or only those given), with the values drawn for them (names, addresses,
// the incidents of their faults): the values the grader checks. With html,
// each is a printable page with the candidate's running header; dates are
// shown in loc.
func Sheets(sess *provision.Session, only []string, html bool, loc *time.Location) ([]Sheet, error) {
	lab, err := sess.LoadLab()
	if err != nil {
		return nil, errclass.Wrap(errclass.BadInput, err)
	}
	if !sheets.Has(lab.Name) {
		return nil, errclass.Usagef("lab %q has no candidate sheet (templates/sheets/%s.md)", lab.Name, lab.Name)
	}
	insts, err := sess.Instances(only...)
	if err != nil {
		return nil, errclass.Wrap(errclass.NotFound, err)
	}
	out := make([]Sheet, 0, len(insts))
	for _, in := range insts {
		scen, err := lab.ResolveScenario(labs.ResolveInput{Session: sess.Name, Candidate: in.Candidate})
		if err != nil {
			return nil, errclass.Wrap(errclass.BadInput, err)
		}
		md, err := sheets.Render(lab.Name, sheetData{
			Session: sess.Name, Lab: lab.Name, Candidate: in.Candidate, Params: in.Params, Faults: scen.Drawn,
			StartedAt: sess.StartedAt.In(loc).Format("02/01/2006 15:04"),
		})
		if err != nil {
			return nil, errclass.Wrap(errclass.BadInput, err)
		}
		if html {
			md = sheets.HTML(fmt.Sprintf("%s — %s", lab.Name, in.Candidate.ID), person.RunningHeader(in.Candidate.FullName(), in.Candidate.ID, sess.Name), md)
		}
		out = append(out, Sheet{Candidate: in.Candidate.ID, Body: md})
	}
	return out, nil
}
