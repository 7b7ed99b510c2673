package exam

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/internal/userfile"
	"github.com/tailab/tailab/internal/yamlx"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision/static"
)

// File kinds ValidateFile recognises.
const (
	kindLab   = "lab"
	kindSuite = "suite"
	// kindInventory: where a room's existing machines are (--provider
	// static); checked alone here, against a lab and a roster at up.
	kindInventory = "inventory"
)

// AppendNew appends the diagnostics not already in ds (a suite named on the command
// line and by a lab is reported once).
func AppendNew(ds, more yamlx.Diagnostics) yamlx.Diagnostics {
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

// ValidateFile loads one file (or built-in lab name) as what it is and returns its
// kind; the error is yamlx.Diagnostics for a file's mistakes.
func ValidateFile(path string, reg *probe.Registry) (string, error) {
	data, err := userfile.Read(path)
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
	switch kind {
	case kindSuite:
		_, err := checks.LoadSuite(path, data, reg, nil)
		return kind, err
	case kindInventory:
		_, err := static.ParseInventory(path, data)
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
	_, diags := LabSuites(lab, reg, ref)
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
	if keys["candidates"] != nil {
		return kindInventory, nil // its machines: are not a lab's
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
