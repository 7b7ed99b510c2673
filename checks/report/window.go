package report

import (
	"strings"
	"time"

	"github.com/tailab/tailab/checks"
)

// examWindow is the exam window as the session's audit log last set it
// (`tailab session open|close` write "open at T" / "close at T"), in loc:
// "ouverte le …, fermée le …"; "" when the log never set it (a session
// without the gateway).
func examWindow(r *checks.Report, loc *time.Location) string {
	var opens, closes time.Time
	for _, in := range r.Interventions {
		switch verb, t := windowEntry(in); verb {
		case "open":
			opens = t
		case "close":
			closes = t
		}
	}
	switch {
	case opens.IsZero() && closes.IsZero():
		return ""
	case closes.IsZero():
		return "ouverte le " + frTime(opens, loc) + ", fermeture non programmée"
	case opens.IsZero():
		return "fermée le " + frTime(closes, loc) + " (ouverture non consignée)"
	}
	return "ouverte le " + frTime(opens, loc) + ", fermée le " + frTime(closes, loc)
}

// windowEntry reads an audit entry of `tailab session open|close` ("open at
// T"): its verb and T; "" for any other entry.
func windowEntry(in checks.Intervention) (verb string, at time.Time) {
	if in.Action != "session" {
		return "", time.Time{}
	}
	verb, ts, _ := strings.Cut(in.Detail, " at ")
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil || (verb != "open" && verb != "close") {
		return "", time.Time{}
	}
	return verb, t
}

// ExamOpened is when the exam opened, for the interventions that mark a
// candidate: the first opening of the exam window the audit log holds
// (`tailab session open`, the gateway's), else the end of the session's first
// `up` (its audit entry: the labs were there and the candidates could work),
// else the grading's own start (a report with no audit log). It is never the
// grading's start when the log says more: a reset done before this grading
// but after the opening is exactly what the jury must see.
func ExamOpened(r *checks.Report) time.Time {
	var firstUp time.Time
	for _, in := range r.Interventions {
		if verb, t := windowEntry(in); verb == "open" {
			return t
		}
		if in.Action == "up" && in.Candidate == "" && firstUp.IsZero() {
			firstUp = in.Time
		}
	}
	if !firstUp.IsZero() {
		return firstUp
	}
	return r.StartedAt.Add(-time.Nanosecond) // interventions during the grading count
}
