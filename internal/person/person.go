// Package person writes a person's name the one way every paper and page of
// tailab writes it: family name in capitals, then the first name ("LEFÈVRE
// Zoé"), as French administrative documents do. One function, so a sheet, a
// record, a spreadsheet and the dashboard never disagree on a name.
package person

import "strings"

// FullName is "NOM Prénom"; empty when neither is known.
func FullName(last, first string) string {
	return strings.TrimSpace(strings.ToUpper(strings.TrimSpace(last)) + " " + strings.TrimSpace(first))
}

// RunningHeader is the line printed at the top of each page of a candidate's
// sheet or record: printed pages come apart, the name and number stay on each.
// name is FullName's (may be empty).
func RunningHeader(name, id, session string) string {
	h := "Candidat n° " + id
	if name != "" {
		h = name + " — n° " + id
	}
	return h + " — session " + session
}
