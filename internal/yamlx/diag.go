// Package yamlx decodes YAML documents into Go structs strictly, reporting every
// mistake of a file in one pass with its file, line, column and field path.
//
// The lab and check-suite loaders build on it: a typo in a key, a wrong type or a
// semantic error found later (a NIC on an unknown network) all become a Diagnostic
// that names where the user must look.
package yamlx

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Pos is a position in a source file (1-based line and column).
type Pos struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// String renders file:line:column, leaving out what is unknown.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	return b.String()
}

// IsZero reports whether the position is unknown.
func (p Pos) IsZero() bool { return p.Line == 0 }

// Positions maps a struct's YAML keys to the position of their values. A struct
// field of this type (tagged `yaml:"-"`) is filled by Decode so that later
// validation can point at the exact value it rejects.
type Positions map[string]Pos

// Of returns the position recorded for key, or fallback when the key was absent.
func (p Positions) Of(key string, fallback Pos) Pos {
	if pos, ok := p[key]; ok {
		return pos
	}
	return fallback
}

// Diagnostic is one problem found in a file.
type Diagnostic struct {
	Pos     Pos    `json:"pos"`
	Field   string `json:"field,omitempty"` // dotted path, e.g. machines[2].nics[0].network
	Message string `json:"message"`
}

// Error renders "file:line:col: field: message".
func (d Diagnostic) Error() string {
	var parts []string
	if s := d.Pos.String(); s != "" {
		parts = append(parts, s)
	}
	if d.Field != "" {
		parts = append(parts, d.Field)
	}
	parts = append(parts, d.Message)
	return strings.Join(parts, ": ")
}

// Diagnostics is every problem found in one or more files. As an error it prints
// one diagnostic per line, sorted by file and position.
type Diagnostics []Diagnostic

// Error joins the diagnostics, one per line.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

// Add appends a diagnostic built from a format string.
func (ds *Diagnostics) Add(pos Pos, field, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Pos: pos, Field: field, Message: fmt.Sprintf(format, args...)})
}

// Sort orders diagnostics by file, line and column, keeping insertion order for ties.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Pos, ds[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// Err returns nil when there is no diagnostic, the sorted diagnostics otherwise.
func (ds Diagnostics) Err() error {
	if len(ds) == 0 {
		return nil
	}
	ds.Sort()
	return ds
}

// maxQuoted is the longest key a diagnostic quotes.
const maxQuoted = 64

// fieldNameRe is what a field name of tailab's files looks like.
var fieldNameRe = regexp.MustCompile(`^[A-Za-z_<][A-Za-z0-9_.<-]{0,63}$`)

// QuoteKey quotes a key for a diagnostic when it is short and printable (at
// most 64 characters), and describes it otherwise.
func QuoteKey(k string) string {
	if len(k) <= maxQuoted && strconv.CanBackquote(k) {
		return strconv.Quote(k)
	}
	return fmt.Sprintf("a key of %d bytes", len(k))
}
