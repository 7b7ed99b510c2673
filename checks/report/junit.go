package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tailab/tailab/checks"
)

// JUnit renders the report as JUnit XML for CI viewers (GitLab, Jenkins, GitHub
// test reporters): <testsuites> for the session, one <testsuite> per candidate, one
// <testcase> per check. A failed check has a <failure>, a check in error an <error>,
// a skipped check, one left to the jury or one that does not apply to the
// candidate (sans objet) a <skipped>. The incidents drawn for the candidate, when
// known, are the suite's "faults" property. The testcase classname is
// "<candidate>.<competence>" with the competence's dots made underscores (C2.2 →
// C2_2) so viewers that split class names on dots keep one level per candidate.
type JUnit struct{}

var _ Formatter = (*JUnit)(nil)

// Name returns "junit".
func (*JUnit) Name() string { return "junit" }

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	ID         int             `xml:"id,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// Format writes the XML document to w.
func (*JUnit) Format(w io.Writer, rep *checks.Report) error {
	r, err := sorted(rep)
	if err != nil {
		return err
	}
	doc := junitSuites{Name: r.Session}
	var total time.Duration
	for i := range r.Candidates {
		s, d := junitCandidate(r, &r.Candidates[i], i)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		total += d
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("report junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("report junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("report junit: %w", err)
	}
	return nil
}

func junitCandidate(r *checks.Report, c *checks.CandidateReport, id int) (junitSuite, time.Duration) {
	name := c.ID
	if n := fullName(c); n != "" {
		name += " — " + n
	}
	s := junitSuite{
		Name: name,
		ID:   id,
		Properties: []junitProperty{
			{"session", r.Session},
			{"lab", r.Lab},
			{"referential", r.Referential},
			{"candidate", c.ID},
			{"points", formatPoints(c.Points, false)},
			{"max_points", formatPoints(c.MaxPoints, false)},
			{"percent", formatPercent(percentOf(c.Points, c.MaxPoints), false)},
		},
	}
	if len(c.Faults) > 0 {
		s.Properties = append(s.Properties, junitProperty{"faults", faultNames(c.Faults, ", ")})
	}
	for i := range c.Competences {
		cs := &c.Competences[i]
		v := formatPoints(cs.Points, false) + "/" + formatPoints(cs.MaxPoints, false) +
			" (" + formatPercent(cs.Percent, false) + "%)"
		if a := competenceAssessment(cs); a != assessScored {
			v = a.word()
		}
		if cs.Capped {
			v += " capped"
		}
		s.Properties = append(s.Properties, junitProperty{"competence " + cs.ID, v})
	}
	var total time.Duration
	var first time.Time
	for i := range c.Results {
		clean := cleanResult(c.Results[i])
		res := &clean
		total += res.Duration
		if !res.StartedAt.IsZero() && (first.IsZero() || res.StartedAt.Before(first)) {
			first = res.StartedAt
		}
		s.Tests++
		tc := junitCase{
			Name:      res.CheckID + " — " + res.Title,
			Classname: c.ID + "." + strings.ReplaceAll(res.Competence, ".", "_"),
			Time:      seconds(res.Duration),
			SystemOut: res.Evidence,
		}
		switch res.Status {
		case checks.StatusFail:
			s.Failures++
			tc.Failure = &junitProblem{Message: res.Message, Type: "fail", Body: problemBody(res)}
		case checks.StatusError:
			s.Errors++
			tc.Error = &junitProblem{Message: res.Message, Type: "error", Body: problemBody(res)}
		case checks.StatusSkip:
			s.Skipped++
			tc.Skipped = &junitSkipped{Message: orDefault(res.Message, "ignoré : une vérification préalable a échoué")}
		case checks.StatusJury:
			s.Skipped++
			tc.Skipped = &junitSkipped{Message: orDefault(res.Message, "à évaluer par le jury")}
		case checks.StatusNA:
			s.Skipped++
			tc.Skipped = &junitSkipped{Message: orDefault(res.Message, "sans objet pour ce candidat")}
		}
		s.Cases = append(s.Cases, tc)
	}
	s.Time = seconds(total)
	if !first.IsZero() {
		// JUnit's schema wants an ISO 8601 timestamp without zone: always UTC.
		s.Timestamp = first.UTC().Format("2006-01-02T15:04:05")
	}
	return s, total
}

// problemBody explains a failure or error: points, message, every expectation.
func problemBody(res *checks.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s/%s", res.Status, formatPoints(res.Points, false), formatPoints(res.MaxPoints, false))
	if res.Machine != "" || res.Probe != "" {
		fmt.Fprintf(&b, " (%s)", strings.Join(nonEmpty(res.Machine, res.Probe), ", "))
	}
	if res.Critical {
		b.WriteString(" [critique]")
	}
	b.WriteString("\n")
	if res.Message != "" {
		b.WriteString(res.Message + "\n")
	}
	for _, e := range res.Expectations {
		sign := "✗"
		if e.OK {
			sign = "✓"
		}
		fmt.Fprintf(&b, "%s %s : obtenu %q, attendu %q", sign, e.Field, e.Actual, e.Expected)
		if e.Message != "" {
			b.WriteString(" — " + e.Message)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// seconds is a JUnit time attribute: seconds with three decimals.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
