// Package report renders a graded session (checks.Report) for people and machines:
//
//   - table: terminal text for the evaluator, optionally coloured;
//   - json:  the stable, documented schema (docs/report-schema.md), readable back;
//   - csv:   the jury grid, one row per candidate, for Excel/LibreOffice;
//   - junit: JUnit XML for CI viewers (one testsuite per candidate);
//   - html:  one self-contained, printable French page (grid, then one page per
//     candidate with every check and its evidence);
//   - xlsx:  an Excel workbook, a summary sheet and one sheet per CCP with the
//     jury's columns.
//
// Formatters only print what the report holds (evidence is masked upstream) and
// are deterministic: candidates, competences and results are sorted, numbers and
// dates have fixed formats, so the same report always gives the same bytes. They
// hold no state between calls and are safe for concurrent use. The formats are
// documented in docs/report-schema.md.
package report

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tailab/tailab/checks"
)

// Formatter renders a report to a writer.
type Formatter interface {
	// Name is the registry name: "table", "json", "csv", "junit", "html".
	Name() string
	// Format writes the whole report to w. It does not modify r.
	Format(w io.Writer, r *checks.Report) error
}

// Options tune the built-in formatters; the zero value is valid (no colour, comma
// separator, no BOM, dot decimals in CSV, times in UTC).
type Options struct {
	// Color turns on ANSI colours in the table formatter. The caller decides: off
	// when stdout is not a terminal, when NO_COLOR is set, or on --no-color.
	Color bool
	// Verbose makes the table formatter list passing checks too.
	Verbose bool
	// Details makes the table formatter print, after the one-line-per-candidate
	// summary, each candidate's competences and the checks to review: of
	// every candidate, or of DetailsOf alone when it names some.
	Details   bool
	DetailsOf []string
	// Separator is the CSV field separator: ',' (default, RFC 4180) or ';' (the
	// French Excel locale). Quotes, CR, LF and the Unicode replacement character
	// are refused.
	Separator rune
	// BOM starts the CSV with a UTF-8 byte-order mark so Excel reads accents right.
	BOM bool
	// DecimalComma writes CSV numbers with a decimal comma ("66,7"), as French
	// Excel expects; use it with Separator ';'.
	DecimalComma bool
	// Location is the time zone of the dates shown to people (table and html);
	// nil means UTC. The CLI passes time.Local; golden tests keep UTC.
	Location *time.Location
}

// ExcelFR returns opts set up for French Excel: ';' separator, decimal comma, BOM.
func (o Options) ExcelFR() Options {
	o.Separator, o.DecimalComma, o.BOM = ';', true, true
	return o
}

// Validate reports invalid options.
func (o Options) Validate() error {
	switch o.Separator {
	case 0, ',', ';', '\t', '|':
		return nil
	default:
		return fmt.Errorf("report: CSV separator %q not supported (use ',', ';', tab or '|')", o.Separator)
	}
}

func (o Options) loc() *time.Location {
	if o.Location == nil {
		return time.UTC
	}
	return o.Location
}

// Factory builds a formatter from options.
type Factory func(Options) Formatter

// Registry maps names to formatter factories. Build one with NewRegistry.
type Registry struct {
	opts      Options
	factories map[string]Factory
}

// NewRegistry returns a registry holding the built-in formatters (table, json, csv,
// junit, html), each configured with opts.
func NewRegistry(opts Options) (*Registry, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	r := &Registry{opts: opts, factories: map[string]Factory{}}
	r.Register("table", func(o Options) Formatter { return &Table{Opts: o} })
	r.Register("json", func(o Options) Formatter { return &JSON{} })
	r.Register("csv", func(o Options) Formatter { return &CSV{Opts: o} })
	r.Register("junit", func(o Options) Formatter { return &JUnit{} })
	r.Register("html", func(o Options) Formatter { return &HTML{Opts: o} })
	r.Register("xlsx", func(o Options) Formatter { return &XLSX{Opts: o} })
	return r, nil
}

// Register adds or replaces a formatter under name.
func (r *Registry) Register(name string, f Factory) { r.factories[name] = f }

// Names lists the registered formatter names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.factories))
	for n := range r.factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrUnknownFormat is wrapped by Get's error for a name that is not registered.
var ErrUnknownFormat = errors.New("unknown report format")

// Get returns the formatter registered under name; for an unknown name the error
// lists the valid ones.
func (r *Registry) Get(name string) (Formatter, error) {
	f, ok := r.factories[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (valid: %s)", ErrUnknownFormat, name, strings.Join(r.Names(), ", "))
	}
	return f(r.opts), nil
}

// Extension returns the usual file extension for a formatter's output, with the
// dot: ".txt", ".json", ".csv", ".xml", ".html" (".out" for others).
func Extension(f Formatter) string {
	switch f.Name() {
	case "table":
		return ".txt"
	case "json", "csv", "html", "xlsx":
		return "." + f.Name()
	case "junit":
		return ".xml"
	default:
		return ".out"
	}
}
