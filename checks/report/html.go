package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tailab/tailab/checks"
)

// HTML renders one self-contained French page (inline CSS, no script, no external
// resource: it works offline and can be mailed or archived): the session grid,
// candidates × competences with cells coloured by score band and a signature box
// for the jury, then one printed A4 page per candidate with the incidents drawn for
// them (when known), every check, its status, points, message, expectations and
// evidence. html/template escapes everything the
// report holds.
type HTML struct {
	Opts Options
}

var _ Formatter = (*HTML)(nil)

// Name returns "html".
func (*HTML) Name() string { return "html" }

//go:embed html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// htmlCell is one score in the grid or a candidate's tables.
type htmlCell struct {
	Missing bool   // the candidate has no such competence
	Word    string // shown instead of a number: WordNotAssessed, WordJury...
	Percent string // "66,7 %"
	Ratio   string // "2/3"
	Band    string // high, mid, low, none
	Capped  bool
}

type htmlRow struct {
	ID, Name, Anchor string
	Cells, CCPCells  []htmlCell
	Total            htmlCell
	Errors           int
	JuryPoints       string // juryPointsText
	Faults           string // names of the incidents drawn, "" when unknown
}

type htmlScore struct {
	ID, Title string
	htmlCell
	JuryItems []string
}

type htmlResult struct {
	checks.Result
	Label, PointsText, DurationText string
	JuryNote                        string // juryNote
}

type htmlGroup struct {
	ID, Title string
	Results   []htmlResult
}

type htmlCandidate struct {
	ID, Name, Anchor string
	Total            htmlCell
	Counts           checks.Counts
	Faults           []checks.Fault
	Competences      []htmlScore
	CCPs             []htmlScore
	Groups           []htmlGroup
}

type htmlPage struct {
	Session, Lab, Referential string
	Started, Finished         string
	Columns, CCPColumns       []column
	Rows                      []htmlRow
	Candidates                []htmlCandidate
	WithFaults                bool // some candidate's incidents are known: grid column
	WithNA                    bool // some check does not apply to a candidate
	// NotAssessed lists the competences and CCPs the subject does not assess
	// (no grid column: one line under the grid).
	NotAssessed string
}

// Format writes the page to w.
func (h *HTML) Format(w io.Writer, rep *checks.Report) error {
	r, err := sorted(rep)
	if err != nil {
		return err
	}
	page := htmlPage{
		Session:     r.Session,
		Lab:         r.Lab,
		Referential: r.Referential,
		Started:     frTime(r.StartedAt, h.Opts.loc()),
		Finished:    frTime(r.FinishedAt, h.Opts.loc()),
		WithFaults:  anyFaults(r),
	}
	assessed := sessionAssessed(r)
	var dropped, droppedCCPs []column
	page.Columns, dropped = assessedColumns(competenceColumns(r), assessed)
	page.CCPColumns, droppedCCPs = assessedColumns(ccpColumns(r), assessed)
	page.NotAssessed = strings.Join(append(columnIDs(dropped), columnIDs(droppedCCPs)...), ", ")
	for i := range r.Candidates {
		c := &r.Candidates[i]
		anchor := "candidat-" + strconv.Itoa(i+1)
		page.Rows = append(page.Rows, htmlGridRow(c, anchor, page.Columns, page.CCPColumns))
		page.Candidates = append(page.Candidates, htmlCandidateOf(c, anchor, h.Opts.loc()))
		page.WithNA = page.WithNA || c.Counts.NA > 0
	}
	bw := bufio.NewWriter(w)
	if err := htmlTemplate.Execute(bw, page); err != nil {
		return fmt.Errorf("report html: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report html: %w", err)
	}
	return nil
}

func cellOf(points, max, percent float64, capped bool) htmlCell {
	return htmlCell{
		Percent: scorePercent(percent, max),
		Ratio:   frRatio(points, max),
		Band:    band(percent, max, capped),
		Capped:  capped,
	}
}

// scoreCell is a competence's cell: a number, or the word saying why not.
func scoreCell(s *checks.CompetenceScore) htmlCell {
	a := competenceAssessment(s)
	if a != assessScored {
		return htmlCell{Word: a.word(), Band: bandNone}
	}
	return cellOf(s.Points, s.MaxPoints, s.Percent, s.Capped)
}

// ccpCell is a CCP's cell, classified from its competences.
func ccpCell(c *checks.CandidateReport, s *checks.CCPScore) htmlCell {
	a := ccpAssessment(c, s.ID)
	if a != assessScored {
		return htmlCell{Word: a.word(), Band: bandNone}
	}
	return cellOf(s.Points, s.MaxPoints, s.Percent, false)
}

func htmlGridRow(c *checks.CandidateReport, anchor string, cols, ccpCols []column) htmlRow {
	row := htmlRow{
		ID: c.ID, Name: fullName(c), Anchor: anchor,
		Total:  cellOf(c.Points, c.MaxPoints, percentOf(c.Points, c.MaxPoints), false),
		Errors: c.Counts.Error, JuryPoints: juryPointsText(c, true), Faults: faultNames(c.Faults, ", "),
	}
	byComp, byCCP := competenceByID(c), ccpByID(c)
	for _, col := range cols {
		if s, ok := byComp[col.ID]; ok {
			row.Cells = append(row.Cells, scoreCell(s))
		} else {
			row.Cells = append(row.Cells, htmlCell{Missing: true, Band: bandNone})
		}
	}
	for _, col := range ccpCols {
		if s, ok := byCCP[col.ID]; ok {
			row.CCPCells = append(row.CCPCells, ccpCell(c, s))
		} else {
			row.CCPCells = append(row.CCPCells, htmlCell{Missing: true, Band: bandNone})
		}
	}
	return row
}

func htmlCandidateOf(c *checks.CandidateReport, anchor string, loc *time.Location) htmlCandidate {
	hc := htmlCandidate{
		ID: c.ID, Name: fullName(c), Anchor: anchor, Counts: c.Counts, Faults: c.Faults,
		Total: cellOf(c.Points, c.MaxPoints, percentOf(c.Points, c.MaxPoints), false),
	}
	titles := map[string]string{}
	for i := range c.Competences {
		s := &c.Competences[i]
		titles[s.ID] = s.Title
		hc.Competences = append(hc.Competences, htmlScore{
			ID: s.ID, Title: s.Title, JuryItems: s.JuryItems, htmlCell: scoreCell(s),
		})
	}
	for i := range c.CCPs {
		s := &c.CCPs[i]
		hc.CCPs = append(hc.CCPs, htmlScore{ID: s.ID, Title: s.Title, htmlCell: ccpCell(c, s)})
	}
	// Results are sorted by competence: group consecutive ones.
	for _, res := range c.Results {
		if n := len(hc.Groups); n == 0 || hc.Groups[n-1].ID != res.Competence {
			hc.Groups = append(hc.Groups, htmlGroup{ID: res.Competence, Title: titles[res.Competence]})
		}
		g := &hc.Groups[len(hc.Groups)-1]
		hr := htmlResult{
			JuryNote:     juryNote(res, loc),
			Result:       cleanResult(res),
			Label:        statusLabel(res.Status),
			PointsText:   resultPoints(res),
			DurationText: frDuration(res.Duration),
		}
		if res.Status == checks.StatusNA {
			hr.DurationText = "" // not observed
		}
		g.Results = append(g.Results, hr)
	}
	return hc
}
