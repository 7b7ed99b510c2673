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
		if in.Action != "session" {
			continue
		}
		verb, at, _ := strings.Cut(in.Detail, " at ")
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			continue
		}
		switch verb {
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
