package checks

import (
	"time"

	"github.com/tailab/tailab/internal/audit"
)

// Status is the verdict of one check.
type Status string

// The statuses of a check. `error` is never the candidate's fault: the probe could
// not observe (unreachable, authentication, timeout).
const (
	StatusPass  Status = "pass"
	StatusFail  Status = "fail"
	StatusError Status = "error"
	StatusSkip  Status = "skip" // a check it depends on did not pass
	StatusJury  Status = "jury" // not machine-checkable: left to the jury in the grid
	// StatusNA: not applicable to this candidate (its `when` names faults the
	// candidate did not draw): not observed, counted neither in points nor in
	// max points.
	StatusNA Status = "na"
)

// Expectation is one matcher's verdict on one observed field: the report shows why.
type Expectation struct {
	Field    string `json:"field"`
	OK       bool   `json:"ok"`
	Actual   string `json:"actual"`
	Expected string `json:"expected"`
	Message  string `json:"message,omitempty"`
	// Found is what was observed in the jury's words when it differs from
	// Actual (a count matcher's count).
	Found string `json:"found,omitempty"`
}

// Result is the outcome of one check for one candidate.
type Result struct {
	CheckID      string        `json:"check_id"`
	Suite        string        `json:"suite,omitempty"` // name of the suite defining the check
	Title        string        `json:"title"`           // French, as the jury reads it
	Competence   string        `json:"competence"`
	Machine      string        `json:"machine,omitempty"`
	From         string        `json:"from,omitempty"` // vantage machine, when not Machine
	Probe        string        `json:"probe,omitempty"`
	Status       Status        `json:"status"`
	Points       float64       `json:"points"`
	MaxPoints    float64       `json:"max_points"`
	Critical     bool          `json:"critical,omitempty"`
	Message      string        `json:"message,omitempty"`
	Expectations []Expectation `json:"expectations,omitempty"`
	Evidence     string        `json:"evidence,omitempty"` // secrets masked
	StartedAt    time.Time     `json:"started_at"`
	Duration     time.Duration `json:"duration_ns"`
	Attempts     int           `json:"attempts,omitempty"`
	// JuryMark is the jury's mark of a criterion left to it (status jury).
	JuryMark *JuryMark `json:"jury_mark,omitempty"`
	// Override is the jury's correction of this automated verdict; Status
	// and Points are then the jury's, the machine's kept in it.
	Override *Override `json:"override,omitempty"`
}

// CompetenceScore is a candidate's score on one competence.
type CompetenceScore struct {
	ID        string  `json:"id"`    // e.g. C2.2
	Title     string  `json:"title"` // French
	CCP       string  `json:"ccp"`   // e.g. CCP2
	Points    float64 `json:"points"`
	MaxPoints float64 `json:"max_points"`
	Percent   float64 `json:"percent"`          // 0-100; 0 when MaxPoints is 0
	Capped    bool    `json:"capped,omitempty"` // a critical check failed
	// UncappedPoints are the points before the critical cap (docs/scoring.md).
	UncappedPoints float64  `json:"uncapped_points,omitempty"`
	Counts         Counts   `json:"counts"`
	JuryItems      []string `json:"jury_items,omitempty"` // criteria left to the jury
	// JuryPoints are the points of Points the jury gave (marked criteria).
	JuryPoints float64 `json:"jury_points,omitempty"`
}

// CCPScore is a candidate's score on one CCP (block of competences).
type CCPScore struct {
	ID        string  `json:"id"`
	Title     string  `json:"title"`
	Points    float64 `json:"points"`
	MaxPoints float64 `json:"max_points"`
	Percent   float64 `json:"percent"`
}

// Counts tallies results by status.
type Counts struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
	Jury  int `json:"jury"`
	NA    int `json:"na,omitempty"` // not applicable to the candidate (`when`)
}

// Add counts one status.
func (c *Counts) Add(s Status) {
	switch s {
	case StatusPass:
		c.Pass++
	case StatusFail:
		c.Fail++
	case StatusError:
		c.Error++
	case StatusSkip:
		c.Skip++
	case StatusJury:
		c.Jury++
	case StatusNA:
		c.NA++
	}
}

// CandidateReport is everything graded for one candidate.
type CandidateReport struct {
	ID        string `json:"id"`
	LastName  string `json:"last_name,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	// Index is the candidate's number in the session's roster (1-based; 0 in
	// reports graded before it was recorded): the order of every listing.
	Index       int               `json:"index,omitempty"`
	Results     []Result          `json:"results"`
	Competences []CompetenceScore `json:"competences"`
	CCPs        []CCPScore        `json:"ccps"`
	Points      float64           `json:"points"`
	MaxPoints   float64           `json:"max_points"`
	Counts      Counts            `json:"counts"`
	// Faults are the incidents drawn for the candidate, in lab order, when the
	// grading knew them (see Candidate.FaultsKnown).
	Faults []Fault `json:"faults,omitempty"`
	// Decisions are the jury's decisions per CCP (ApplyJury: never in a
	// stored grading, only in what people read).
	Decisions []JuryDecision `json:"decisions,omitempty"`
}

// Fault is an incident injected in a candidate's lab (a fault of the lab drawn
// for them): its name, as `when` names it, and its French title for the jury.
type Fault struct {
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
}

// Report is one grading of a session: the document every formatter renders.
type Report struct {
	SchemaVersion int               `json:"schema_version"`
	Session       string            `json:"session"`
	Lab           string            `json:"lab"`
	Referential   string            `json:"referential"` // e.g. tai-2018
	StartedAt     time.Time         `json:"started_at"`
	FinishedAt    time.Time         `json:"finished_at"`
	Candidates    []CandidateReport `json:"candidates"`
	// Interventions are the session's audit log as of the grading (and again
	// when a jury record is rendered): the grid marks a candidate whose
	// machines were rebuilt after the exam opened. They are not part of the
	// evidence digest.
	Interventions []Intervention `json:"interventions,omitempty"`
	// Decision is the rule proposing each CCP's decision, set by the lab or
	// the session (nil: DefaultDecisionThreshold).
	Decision *DecisionRules `json:"decision,omitempty"`
	// Recordings are the candidates' terminal sessions the gateway recorded
	// (filled when a jury record is rendered, from the results store); not
	// part of the evidence digest.
	Recordings []Recording `json:"recordings,omitempty"`
}

// Recording is one terminal session the gateway recorded (asciicast v2): a
// jury can watch how a candidate worked, not only the end state.
type Recording struct {
	ID        string        `json:"id"` // unique per candidate: the file's name without .cast
	Candidate string        `json:"candidate"`
	Machine   string        `json:"machine"`
	Start     time.Time     `json:"start"`
	Duration  time.Duration `json:"duration_ns"` // 0 while the terminal is open (or the gateway was killed)
	Size      int64         `json:"size"`        // bytes of the file
	File      string        `json:"file"`        // the asciicast file's path
}

// Intervention is an action on a candidate's lab recorded in the session's audit
// log (up, down, reset, snapshot revert, faults...): the jury record lists them,
// so the jury knows a lab was restored mid-exam.
type Intervention struct {
	Time      time.Time `json:"time"`
	User      string    `json:"user,omitempty"`
	Action    string    `json:"action"`
	Candidate string    `json:"candidate,omitempty"` // "" for the whole session
	Machine   string    `json:"machine,omitempty"`
	Detail    string    `json:"detail,omitempty"` // in English, for the admins
	// Facts are the detail typed (nil in entries recorded before them: the
	// report reads them back from Detail).
	Facts *audit.Facts `json:"facts,omitempty"`
}

// ReportSchemaVersion is the version of the JSON report schema (docs/report-schema.md).
const ReportSchemaVersion = 1
