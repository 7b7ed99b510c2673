package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/internal/person"
)

// Jury renders the jury's record for each candidate: one self-contained French
// HTML page per candidate, printable on A4 (inline print CSS, no script, no
// external resource), with the title's CCP and competence structure from the
// referential, the incidents injected in the candidate's lab (when known: the
// checks of the others are "sans objet" and count nowhere), the machine-graded
// points, every automatic check's verdict, the
// criteria left to the jury with blank fields to fill in (mark, appreciation), a
// decision per CCP, signature boxes, the candidate's and the session's identity,
// and the SHA-256 digest of the candidate's evidence bundle (EvidenceDigest) so a
// re-check can prove the stored results did not change.
//
// It is not in the registry's default set: `tailab report` builds it directly.
type Jury struct {
	Opts Options
	// Candidates are the IDs to render, in natural order; empty means every
	// candidate of the report. An ID missing from the report is an error.
	Candidates []string
}

var _ Formatter = (*Jury)(nil)

// Name returns "jury".
func (*Jury) Name() string { return "jury" }

//go:embed jury.tmpl
var jurySource string

var juryTemplate = template.Must(template.New("jury").Parse(jurySource))

type juryTitle struct {
	Name, Code, Version string
	Level               int
}

type juryCompetence struct {
	ID, Title string
	htmlCell  // Word says why there is no number (non évaluée dans ce sujet...)
	Counts    checks.Counts
}

type juryCCP struct {
	ID, Title   string
	Total       htmlCell
	Competences []juryCompetence
	// Assessed: the subject assesses some competence of it; only those CCPs
	// get a decision to take.
	Assessed bool
	// Proposal is the decision the rule proposes ("acquis" / "non acquis")
	// and Why its reason; the jury confirms or changes it (JuryDecision, as
	// JuryDecisionText writes it: "" while not taken).
	Proposal, Why, JuryDecision string
}

// decide fills a CCP's proposed decision (Proposals' rule) and the jury's.
func decide(c juryCCP, r *checks.Report, cand *checks.CandidateReport, loc *time.Location) juryCCP {
	s := ccpByID(cand)[c.ID]
	if !c.Assessed || s == nil {
		return c
	}
	c.Proposal, c.Why = propose(r.Decision, s, cand)
	c.JuryDecision = JuryDecisionText(juryDecision(cand, c.ID), loc)
	return c
}

type juryItem struct {
	Competence, Title, Weight string
	Mark, Note                string // the jury's mark ("1,5"), and who gave it and why
}

type juryPage struct {
	ID, Name string
	// PageName names the candidate's printed pages (CSS named pages) so each
	// carries their own running header: name and number on every sheet.
	PageName, RunningHeader string
	Session, Lab            string
	GradedAt, Key           string
	Total                   htmlCell
	Counts                  checks.Counts
	CCPs                    []juryCCP
	Groups                  []htmlGroup
	JuryItems               []juryItem
	Faults                  []checks.Fault
	Interventions           []juryIntervention
	Recordings              []RecordingLine // the gateway's recordings of the candidate's terminals
	Window                  string          // the exam window (examWindow), "" when never set
	Digest, DigestFormat    string
}

// juryIntervention is one line of the record's "interventions on the lab".
type juryIntervention struct {
	Time, User, Action, Machine, Detail string
}

type juryDoc struct {
	Title juryTitle
	Pages []juryPage
}

// Format writes the pages to w.
func (j *Jury) Format(w io.Writer, rep *checks.Report) error {
	r, err := sorted(rep)
	if err != nil {
		return err
	}
	doc := juryDoc{Title: juryTitle{Name: "Technicien d’assistance en informatique", Version: r.Referential}}
	ref, refErr := referential.Load(r.Referential)
	if refErr == nil {
		doc.Title = juryTitle{Name: ref.Title, Code: ref.Code, Version: ref.Version, Level: ref.Level}
	}
	want := map[string]bool{}
	for _, id := range j.Candidates {
		want[id] = true
	}
	found := map[string]bool{}
	for i := range r.Candidates {
		c := &r.Candidates[i]
		if len(want) > 0 && !want[c.ID] {
			continue
		}
		found[c.ID] = true
		digest, err := EvidenceDigest(r, c.ID)
		if err != nil {
			return fmt.Errorf("report jury: %w", err)
		}
		p := juryPageOf(r, c, ref, digest, j.Opts.loc())
		p.PageName = fmt.Sprintf("candidat%d", len(doc.Pages)+1)
		doc.Pages = append(doc.Pages, p)
	}
	for _, id := range j.Candidates {
		if !found[id] {
			return fmt.Errorf("report jury: no candidate %q in the report of session %q", id, r.Session)
		}
	}
	bw := bufio.NewWriter(w)
	if err := juryTemplate.Execute(bw, doc); err != nil {
		return fmt.Errorf("report jury: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report jury: %w", err)
	}
	return nil
}

// ReportKey is the key a stored report is filed under (and `tailab report --at`
// accepts): its end time, RFC 3339 with nanoseconds, UTC.
func ReportKey(r *checks.Report) string {
	return r.FinishedAt.UTC().Format(time.RFC3339Nano)
}

func juryPageOf(r *checks.Report, c *checks.CandidateReport, ref *referential.Referential, digest string, loc *time.Location) juryPage {
	p := juryPage{
		ID: c.ID, Name: fullName(c), RunningHeader: person.RunningHeader(fullName(c), c.ID, r.Session),
		Session: r.Session, Lab: r.Lab, GradedAt: frTime(r.FinishedAt, loc), Key: ReportKey(r),
		Total:  cellOf(c.Points, c.MaxPoints, percentOf(c.Points, c.MaxPoints), false),
		Counts: c.Counts, Digest: digest, DigestFormat: EvidenceFormat,
	}
	for _, f := range c.Faults {
		p.Faults = append(p.Faults, checks.Fault{Name: safeText(f.Name), Title: safeText(f.Title)})
	}
	for _, in := range r.Interventions {
		if in.Candidate == "" || in.Candidate == c.ID {
			p.Interventions = append(p.Interventions, juryIntervention{Time: frTime(in.Time, loc), User: safeText(in.User),
				Action: interventionAction(in.Action), Machine: safeText(in.Machine), Detail: safeText(interventionDetail(in, loc))})
		}
	}
	p.Recordings = RecordingLines(r.Recordings, c.ID, loc)
	p.Window = examWindow(r, loc)
	comps := competenceByID(c)
	ccps := ccpByID(c)
	compOf := func(id, title string) juryCompetence {
		jc := juryCompetence{ID: id, Title: title, htmlCell: htmlCell{Word: WordNotAssessed, Band: bandNone}}
		if s, ok := comps[id]; ok {
			if jc.Title == "" {
				jc.Title = s.Title
			}
			jc.htmlCell = scoreCell(s)
			jc.Counts = s.Counts
		}
		return jc
	}
	ccpTotal := func(id string) htmlCell {
		if s, ok := ccps[id]; ok {
			return ccpCell(c, s)
		}
		return htmlCell{Word: WordNotAssessed, Band: bandNone}
	}
	if ref != nil {
		// The title's structure: every CCP and competence, in official order.
		for _, ccp := range ref.CCPs {
			jc := juryCCP{ID: ccp.ID, Title: ccp.Title, Total: ccpTotal(ccp.ID)}
			for _, comp := range ccp.Competences {
				jc.Competences = append(jc.Competences, compOf(comp.ID, comp.Title))
			}
			p.CCPs = append(p.CCPs, decide(assessedCCP(jc), r, c, loc))
		}
	} else {
		// Unknown referential: the structure the report itself carries.
		for _, s := range c.CCPs {
			jc := juryCCP{ID: s.ID, Title: s.Title, Total: ccpTotal(s.ID)}
			for _, comp := range c.Competences {
				if comp.CCP == s.ID {
					jc.Competences = append(jc.Competences, compOf(comp.ID, comp.Title))
				}
			}
			p.CCPs = append(p.CCPs, decide(assessedCCP(jc), r, c, loc))
		}
	}
	titles := map[string]string{}
	for _, s := range c.Competences {
		titles[s.ID] = s.Title
	}
	for _, res := range c.Results {
		if res.Status == checks.StatusJury {
			w := ""
			if res.MaxPoints > 0 {
				w = formatPoints(res.MaxPoints, true)
			}
			item := juryItem{Competence: safeText(res.Competence), Title: safeText(res.Title), Weight: w}
			if m := res.JuryMark; m != nil {
				item.Mark, item.Note = formatPoints(m.Points, true), juryNote(res, loc)
			}
			p.JuryItems = append(p.JuryItems, item)
			continue
		}
		if n := len(p.Groups); n == 0 || p.Groups[n-1].ID != res.Competence {
			p.Groups = append(p.Groups, htmlGroup{ID: res.Competence, Title: titles[res.Competence]})
		}
		g := &p.Groups[len(p.Groups)-1]
		g.Results = append(g.Results, htmlResult{
			Result:     cleanResult(res),
			JuryNote:   juryNote(res, loc),
			Label:      statusLabel(res.Status),
			PointsText: resultPoints(res),
		})
	}
	// Criteria named in the scores but with no jury result (older reports).
	if len(p.JuryItems) == 0 {
		for _, s := range c.Competences {
			for _, item := range s.JuryItems {
				p.JuryItems = append(p.JuryItems, juryItem{Competence: s.ID, Title: safeText(item)})
			}
		}
	}
	return p
}

// assessedCCP marks a CCP the subject assesses (some competence of it is not
// WordNotAssessed): only those get a decision on the record.
func assessedCCP(c juryCCP) juryCCP {
	for _, comp := range c.Competences {
		if comp.Word != WordNotAssessed {
			c.Assessed = true
		}
	}
	if !c.Assessed {
		c.Total = htmlCell{Word: WordNotAssessed, Band: bandNone}
	}
	return c
}
