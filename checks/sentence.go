package checks

import (
	"regexp"
	"strconv"
	"strings"
)

// Sentence is the expectation as a jury reads it: "attendu : … ; trouvé : …
// (field)", values in French quotes rather than Go's escaped ones, a pattern
// named as one, nothing found said as such.
func (e Expectation) Sentence() string {
	found := e.Found
	if found == "" {
		found = plainValue(e.Actual)
	}
	s := "attendu : " + plainValue(e.Expected) + " ; trouvé : " + found
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	return s
}

var (
	quotedRe  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	patternRe = regexp.MustCompile(`correspond à /(.*)/`)
)

// plainValue rewrites a matcher's formatted value for people: "abc" becomes
// « abc » (unescaped), /re/ becomes le motif « re », (absent) rien.
func plainValue(s string) string {
	switch s {
	case "(absent)":
		return "rien (valeur absente)"
	case `""`:
		return "une valeur vide"
	}
	s = patternRe.ReplaceAllString(s, "correspond au motif « $1 »")
	return quotedRe.ReplaceAllStringFunc(s, func(q string) string {
		u, err := strconv.Unquote(q)
		if err != nil {
			return q
		}
		return "« " + strings.TrimSpace(u) + " »"
	})
}
