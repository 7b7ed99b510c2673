package report

import (
	"strconv"
	"time"

	"github.com/tailab/tailab/checks"
)

// RecordingLine is one terminal recording as the jury reads it (the jury
// record and the dashboard): the machine, when it started in the centre's
// time zone, how long it lasted, its size.
type RecordingLine struct {
	ID, Machine, Start, Duration, Size string
}

// RecordingLines are a candidate's recordings (those of candidate id only,
// "" for all of recs), in their order, for people.
func RecordingLines(recs []checks.Recording, id string, loc *time.Location) []RecordingLine {
	var out []RecordingLine
	for _, r := range recs {
		if id != "" && r.Candidate != id {
			continue
		}
		out = append(out, RecordingLine{ID: r.ID, Machine: safeText(r.Machine), Start: frTime(r.Start, loc),
			Duration: recordingDuration(r.Duration), Size: frSize(r.Size)})
	}
	return out
}

// recordingDuration is "1 h 02 min 05 s", "2 min 05 s", "45 s"; a recording
// without an end (still open, or its gateway killed) says so.
func recordingDuration(d time.Duration) string {
	if d <= 0 {
		return "en cours ou interrompu"
	}
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case h > 0:
		return strconv.Itoa(h) + " h " + twoDigits(m) + " min " + twoDigits(s) + " s"
	case m > 0:
		return strconv.Itoa(m) + " min " + twoDigits(s) + " s"
	}
	return strconv.Itoa(s) + " s"
}

// frSize is a file size in French units: "532 o", "12,4 Ko", "3,1 Mo".
func frSize(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " o"
	case n < 1<<20:
		return decimal(strconv.FormatFloat(float64(n)/1024, 'f', 1, 64), true) + " Ko"
	}
	return decimal(strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64), true) + " Mo"
}
