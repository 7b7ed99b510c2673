package report

import (
	"time"

	"github.com/tailab/tailab/checks"
)

// The words and numbers people read, as the report formats write them; the
// dashboard (package web) uses the same so a cell reads alike everywhere.

// FrenchPercent is a percentage as French readers write it: "66,7 %".
func FrenchPercent(v float64) string { return frPercent(v) }

// FrenchRatio is "points/max" with French decimals: "2,5/10".
func FrenchRatio(points, max float64) string { return frRatio(points, max) }

// StatusLabel is the French word for a status: réussi, échec, erreur, ignoré,
// jury, sans objet.
func StatusLabel(s checks.Status) string { return statusLabel(s) }

// Band is the colour band of a score: high (≥ 80 %), mid (≥ 50 %), low (below,
// or capped), none (nothing scored automatically).
func Band(percent, max float64, capped bool) string { return band(percent, max, capped) }

// ResultPoints is a result's "points/max" in French, or "—" when the check does
// not apply to the candidate (status na: its points count nowhere).
func ResultPoints(res checks.Result) string { return resultPoints(res) }

// SafeText shows control characters other than newline and tab escaped (\x1b),
// so a candidate's command output cannot drive a terminal or a page.
func SafeText(s string) string { return safeText(s) }

// FrenchPoints is a number of points with a decimal comma: "1,5".
func FrenchPoints(v float64) string { return formatPoints(v, true) }

// JuryNote is what the jury gave on a result, as every format writes it (the
// correction with its author, reason and the machine's verdict, or the mark
// with its author and note); "" when nothing.
func JuryNote(res checks.Result, loc *time.Location) string { return juryNote(res, loc) }
