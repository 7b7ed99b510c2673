package report

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tailab/tailab/checks"
)

// Output is one rendering of a grading: a formatter and where it goes (Path
// empty: the command's standard output).
type Output struct {
	Formatter Formatter
	Path      string
}

// ParseOutputs reads `-o FORMAT[=FILE]` specs (InSpec-style reporters: one
// grading, several renderings). A spec without a file goes to stdout, or to
// out when set and it is the only one; at most one output may go to stdout.
// Unknown formats and two outputs to one file are refused, listing the valid
// names.
func (r *Registry) ParseOutputs(specs []string, out string) ([]Output, error) {
	if len(specs) == 0 {
		specs = []string{"table"}
	}
	var outs []Output
	stdout, files := 0, map[string]bool{}
	for _, spec := range specs {
		name, path, _ := strings.Cut(spec, "=")
		f, err := r.Get(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		if path == "" && out != "" && len(specs) == 1 {
			path = out
		}
		switch {
		case path == "":
			stdout++
		case files[path]:
			return nil, fmt.Errorf("two outputs write to %s", path)
		default:
			files[path] = true
		}
		outs = append(outs, Output{Formatter: f, Path: path})
	}
	if stdout > 1 {
		return nil, errors.New("only one output may go to the standard output: give the others a file (-o csv=notes.csv)")
	}
	if out != "" && len(specs) > 1 {
		return nil, errors.New("--out goes with a single -o; with several, name each file (-o json=FILE)")
	}
	return outs, nil
}

// NewOutputs is ParseOutputs on a registry of opts with the CSV dialect set.
func NewOutputs(opts Options, dialect string, specs []string, out string) ([]Output, error) {
	opts, err := opts.CSVDialect(dialect)
	if err != nil {
		return nil, err
	}
	formats, err := NewRegistry(opts)
	if err != nil {
		return nil, err
	}
	return formats.ParseOutputs(specs, out)
}

// WriteAll renders r into every output: files atomically, the one without a
// path to stdout. The first error stops it.
func WriteAll(outs []Output, stdout io.Writer, r *checks.Report) error {
	for _, o := range outs {
		var err error
		if o.Path == "" {
			err = o.Formatter.Format(stdout, r)
		} else {
			err = WriteFile(o.Path, o.Formatter, r)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ToStdout reports whether some output goes to the standard output.
func ToStdout(outs []Output) bool {
	for _, o := range outs {
		if o.Path == "" {
			return true
		}
	}
	return false
}

// Formats lists the built-in formats' names, sorted (for completion).
func Formats() []string {
	r, _ := NewRegistry(Options{})
	return r.Names()
}

// Files keeps the outputs that go to a file.
func Files(outs []Output) []Output {
	var files []Output
	for _, o := range outs {
		if o.Path != "" {
			files = append(files, o)
		}
	}
	return files
}

// CSVDialect sets the CSV options of a dialect: "excel-fr" (the default: ';',
// decimal comma, UTF-8 BOM, as French Excel and LibreOffice open it as
// columns) or "rfc4180" (',', decimal point, no BOM).
func (o Options) CSVDialect(name string) (Options, error) {
	switch name {
	case "", "excel-fr":
		return o.ExcelFR(), nil
	case "rfc4180":
		o.Separator, o.DecimalComma, o.BOM = ',', false, false
		return o, nil
	}
	return o, fmt.Errorf("unknown CSV dialect %q (valid: excel-fr, rfc4180)", name)
}
