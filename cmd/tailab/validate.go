package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/internal/yamlx"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// File kinds `validate` recognises.
const (
	kindLab    = "lab"
	kindSuite  = "suite"
	kindRoster = "roster"
)

// validateOptions are the options of `tailab validate FILE...`.
type validateOptions struct {
	g     *globalOptions
	files []string
	reg   *probe.Registry
}

func newValidateCommand(g *globalOptions) *cobra.Command {
	o := &validateOptions{g: g}
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check lab and check-suite files: every mistake, with file:line:column (exit 4 when one is bad)",
		Long: `validate loads each file strictly and reports every mistake with its
file:line:column. A file is a lab (it has machines:), a check suite (a checks:
list of mappings, or jury:) or a candidate roster (.csv, .tsv or .txt: the
candidates read are listed, and the encoding when it is not UTF-8). A lab's own suites (its checks: list, relative to the
lab file; embedded for a built-in lab, which may be named instead of a file) are
loaded too, with the real probes, and their machines checked against the lab's.

Exit status: 0 every file is valid, 4 some file is not.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete(args)
			return o.Run(cmd.OutOrStdout())
		},
	}
}

// Complete records the files and builds the probe registry.
func (o *validateOptions) Complete(args []string) {
	o.files = args
	if o.reg == nil {
		o.reg = newProbeRegistry()
	}
}

// Run validates every file, prints "FILE: ok (KIND)" for the good ones and returns
// the problems of the others (exit 4).
func (o *validateOptions) Run(out io.Writer) error {
	var (
		all   yamlx.Diagnostics
		other []string
	)
	for _, f := range o.files {
		if isRosterFile(f) {
			if err := validateRoster(out, f); err != nil {
				other = append(other, err.Error())
			}
			continue
		}
		kind, err := validateFile(f, o.reg)
		var ds yamlx.Diagnostics
		switch {
		case err == nil:
			fmt.Fprintf(out, "%s: ok (%s)\n", f, kind)
		case errors.As(err, &ds):
			all = appendNew(all, ds)
		default:
			other = append(other, err.Error())
		}
	}
	if len(all) == 0 && len(other) == 0 {
		return nil
	}
	all.Sort()
	msg := strings.TrimSpace(all.Error() + "\n" + strings.Join(other, "\n"))
	return withCode(ExitBadFile, fmt.Errorf("invalid file(s):\n%s", msg))
}

// isRosterFile tells a roster by its name: spreadsheets export .csv (or
// .tsv, .txt); labs and suites are YAML.
func isRosterFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv", ".tsv", ".txt":
		return true
	}
	return false
}

// validateRoster reads a roster as up would and lists the candidates read,
// in the roster's order and written as every paper writes them.
func validateRoster(out io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := provision.ReadRoster(path, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: ok (%s, %d candidates, %s)\n", path, kindRoster, len(r.Candidates), r.Encoding)
	for _, w := range r.Warnings {
		fmt.Fprintf(out, "  attention : %s\n", w)
	}
	printRoster(out, r.Candidates)
	return nil
}

// printRoster lists candidates: id, name (NOM Prénom), seat.
func printRoster(out io.Writer, cands []labs.Candidate) {
	t := newTable(out, "  ID", "NAME", "SEAT")
	for _, c := range cands {
		t.row("  "+c.ID, c.FullName(), c.Seat)
	}
	_ = t.flush()
}

// appendNew appends the diagnostics not already in ds (a suite named on the command
// line and by a lab is reported once).
func appendNew(ds, more yamlx.Diagnostics) yamlx.Diagnostics {
	seen := make(map[yamlx.Diagnostic]bool, len(ds))
	for _, d := range ds {
		seen[d] = true
	}
	for _, d := range more {
		if !seen[d] {
			seen[d] = true
			ds = append(ds, d)
		}
	}
	return ds
}

// validateFile loads one file (or built-in lab name) as what it is and returns its
// kind; the error is yamlx.Diagnostics for a file's mistakes.
func validateFile(path string, reg *probe.Registry) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(path, `/\.`) {
		if _, berr := labs.BuiltinSource(path); berr == nil {
			return kindLab, validateLab(path, nil, reg)
		}
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("%s: %w", path, err)
	}
	kind, diag := detectKind(path, data)
	if diag != nil {
		return "", yamlx.Diagnostics{*diag}
	}
	if kind == kindSuite {
		_, err := checks.LoadSuite(path, data, reg, nil)
		return kind, err
	}
	return kind, validateLab(path, data, reg)
}

// validateLab loads a lab (from data, or the built-in lab named path when data is
// nil) and then its suites, reporting the problems of all of them together.
func validateLab(path string, data []byte, reg *probe.Registry) error {
	var (
		lab *labs.Lab
		err error
	)
	if data == nil {
		lab, err = labs.LoadBuiltin(path)
	} else {
		lab, err = labs.Load(path, data)
	}
	if err != nil {
		return err
	}
	var ref *referential.Referential
	if lab.Referential != "" {
		if ref, err = referential.Load(lab.Referential); err != nil {
			return yamlx.Diagnostics{{Pos: lab.At.Of("referential", lab.Pos), Field: "referential", Message: err.Error()}}
		}
	}
	_, diags := labSuites(lab, reg, ref)
	return diags.Err()
}

// Keys only one kind of file has at its top level.
var (
	labOnlyKeys   = []string{"machines", "networks", "parameters", "secrets", "defaults", "roles"}
	suiteOnlyKeys = []string{"jury"}
)

// detectKind tells a lab from a check suite by its top-level keys: a lab has
// machines (or another lab-only key), a suite has jury or a checks list of
// mappings (a lab's checks list names files).
func detectKind(path string, data []byte) (string, *yamlx.Diagnostic) {
	root, diags := yamlx.Parse(path, data)
	if len(diags) > 0 {
		return "", &diags[0]
	}
	unknown := &yamlx.Diagnostic{Pos: yamlx.Pos{File: path}, Message: "neither a lab (machines:) nor a check suite (checks: with id, jury:)"}
	if root == nil {
		unknown.Message = "empty file: " + unknown.Message
		return "", unknown
	}
	unknown.Pos.Line, unknown.Pos.Column = root.Line, root.Column
	if root.Kind != yaml.MappingNode {
		unknown.Message = "expected a mapping: " + unknown.Message
		return "", unknown
	}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		keys[root.Content[i].Value] = root.Content[i+1]
	}
	for _, k := range labOnlyKeys {
		if keys[k] != nil {
			return kindLab, nil
		}
	}
	for _, k := range suiteOnlyKeys {
		if keys[k] != nil {
			return kindSuite, nil
		}
	}
	if c := keys["checks"]; c != nil {
		if c.Kind == yaml.AliasNode {
			c = c.Alias
		}
		if c.Kind == yaml.SequenceNode && len(c.Content) > 0 {
			if c.Content[0].Kind == yaml.ScalarNode {
				return kindLab, nil
			}
			return kindSuite, nil
		}
	}
	return "", unknown
}

// labSuites loads the lab's check suites: for a built-in lab from the embedded
// catalog, otherwise relative to the lab file; their machines must be the lab's and
// their names distinct. ref nil lets each suite name its referential. Every
// problem of every suite is returned.
func labSuites(lab *labs.Lab, reg *probe.Registry, ref *referential.Referential) ([]*checks.Suite, yamlx.Diagnostics) {
	machines := make([]string, 0, len(lab.Machines))
	for _, m := range lab.Machines {
		machines = append(machines, m.Name)
	}
	var (
		suites []*checks.Suite
		diags  yamlx.Diagnostics
		names  = map[string]string{}
	)
	builtin := strings.HasPrefix(lab.Source, "catalog:")
	for i, p := range lab.Checks {
		var (
			file string
			data []byte
			err  error
		)
		if builtin {
			file = "catalog:" + p
			data, err = labs.BuiltinSuite(p)
		} else {
			file = p
			if !filepath.IsAbs(p) {
				file = filepath.Join(filepath.Dir(lab.Source), p)
			}
			data, err = os.ReadFile(file)
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("suite %s: no such file", file)
			}
			diags.Add(lab.At.Of("checks", lab.Pos), fmt.Sprintf("checks[%d]", i), "%v", err)
			if diags[len(diags)-1].Pos.File == "" {
				diags[len(diags)-1].Pos.File = lab.Source
			}
			continue
		}
		s, err := checks.LoadSuite(file, data, reg, ref)
		if err == nil {
			faults := make([]string, 0, len(lab.Faults))
			for _, f := range lab.Faults {
				faults = append(faults, f.Name)
			}
			err = errors.Join(s.CheckMachines(machines), s.CheckProbeVantages(machines), s.CheckFaults(faults))
		}
		if err != nil {
			diags = append(diags, diagnosticsOf(file, err)...)
			continue
		}
		if prev, dup := names[s.Name]; dup {
			diags.Add(yamlx.Pos{File: file}, "name", "suite name %q already used by %s", s.Name, prev)
			continue
		}
		names[s.Name] = file
		suites = append(suites, s)
	}
	return suites, diags
}

// diagnosticsOf flattens err (yamlx.Diagnostics, possibly joined) into
// diagnostics; another error becomes one diagnostic naming file.
func diagnosticsOf(file string, err error) yamlx.Diagnostics {
	var ds yamlx.Diagnostics
	if errors.As(err, &ds) && ds.Error() == err.Error() {
		return ds
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out yamlx.Diagnostics
		for _, e := range j.Unwrap() {
			out = append(out, diagnosticsOf(file, e)...)
		}
		return out
	}
	return yamlx.Diagnostics{{Pos: yamlx.Pos{File: file}, Message: err.Error()}}
}
