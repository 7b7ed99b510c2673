package labs

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/tailab/tailab/internal/userfile"
	"github.com/tailab/tailab/internal/yamlx"
)

// LoadFile reads and validates a lab file. The error, when not nil, is a
// yamlx.Diagnostics listing every problem of the file.
func LoadFile(path string) (*Lab, error) {
	data, err := userfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("read lab: %w", err)
	}
	return Load(path, data)
}

// Load parses and validates a lab from data; source names it in messages.
// Every mistake is reported in one pass, with file:line:column and the field.
// Besides the file as written, Load resolves the lab for a trial candidate so that
// broken templates and generated values that do not fit are reported too.
func Load(source string, data []byte) (*Lab, error) {
	lab, diags := parse(source, data)
	if len(diags) == 0 {
		if _, err := lab.Resolve(ResolveInput{Session: "validate", Candidate: Candidate{ID: "c01", Index: 1}}); err != nil {
			if ds, ok := err.(yamlx.Diagnostics); ok {
				diags = append(diags, ds...)
			} else {
				diags.Add(yamlx.Pos{File: source}, "", "%v", err)
			}
		}
	}
	if err := dedupe(diags).Err(); err != nil {
		return nil, err
	}
	return lab, nil
}

// dedupe drops diagnostics reported twice (the raw file and its trial resolution
// see the same mistakes).
func dedupe(ds yamlx.Diagnostics) yamlx.Diagnostics {
	seen := map[string]bool{}
	var out yamlx.Diagnostics
	for _, d := range ds {
		k := d.Error()
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

// parse decodes the file as written (templates unrendered) and validates what
// does not depend on a candidate.
func parse(source string, data []byte) (*Lab, yamlx.Diagnostics) {
	root, diags := yamlx.Parse(source, data)
	if len(diags) > 0 {
		return nil, diags
	}
	if root == nil {
		return nil, yamlx.Diagnostics{{Pos: yamlx.Pos{File: source, Line: 1}, Message: "empty lab file"}}
	}
	if root.Kind != yaml.MappingNode {
		return nil, yamlx.Diagnostics{{Pos: yamlx.Pos{File: source, Line: root.Line, Column: root.Column},
			Message: "a lab file is a mapping (name, networks, machines, ...)"}}
	}
	lab := &Lab{Source: source, File: source}
	d := yamlx.NewDecoder(source)
	merged := mergeMachines(d, root)
	d.Decode(merged, lab, "")
	lab.raw = merged
	lab.validate(d, false)
	return lab, d.Diags
}

// mergeMachines returns a copy of the root mapping whose machines are merged with
// `defaults` and `roles[role]`, each key keeping the node (and so the position) it
// came from.
func mergeMachines(d *yamlx.Decoder, root *yaml.Node) *yaml.Node {
	if root.Kind != yaml.MappingNode {
		return root
	}
	var defaults, roles, machines *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "defaults":
			defaults = root.Content[i+1]
		case "roles":
			roles = root.Content[i+1]
		case "machines":
			machines = root.Content[i+1]
		}
	}
	if machines == nil || machines.Kind != yaml.SequenceNode {
		return root
	}
	out := *root
	out.Content = append([]*yaml.Node(nil), root.Content...)
	newMachines := *machines
	newMachines.Content = make([]*yaml.Node, len(machines.Content))
	for i, m := range machines.Content {
		merged := m
		if m.Kind == yaml.MappingNode {
			role := mapValue(m, "role")
			if role == nil && defaults != nil {
				role = mapValue(defaults, "role")
			}
			var roleNode *yaml.Node
			if role != nil && roles != nil && roles.Kind == yaml.MappingNode {
				roleNode = mapValue(roles, role.Value)
			}
			merged = mergeMaps(mergeMaps(defaults, roleNode), m)
		}
		newMachines.Content[i] = merged
	}
	for i := 0; i+1 < len(out.Content); i += 2 {
		if out.Content[i].Value == "machines" {
			out.Content[i+1] = &newMachines
		}
	}
	return &out
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// mergeMaps deep-merges two mappings: keys of over win; nested mappings merge;
// lists and scalars are replaced. A nil or non-mapping base yields over.
func mergeMaps(base, over *yaml.Node) *yaml.Node {
	if base == nil || base.Kind != yaml.MappingNode {
		return over
	}
	if over == nil {
		return base
	}
	if over.Kind != yaml.MappingNode {
		return over
	}
	out := *over
	out.Content = nil
	idx := map[string]int{}
	for i := 0; i+1 < len(base.Content); i += 2 {
		idx[base.Content[i].Value] = len(out.Content)
		out.Content = append(out.Content, base.Content[i], base.Content[i+1])
	}
	fromOver := map[string]bool{}
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		if j, ok := idx[k.Value]; ok && !fromOver[k.Value] {
			fromOver[k.Value] = true
			out.Content[j] = k
			out.Content[j+1] = mergeMaps(out.Content[j+1], v)
			continue
		}
		// A key repeated within over is kept twice, so the decoder reports it.
		fromOver[k.Value] = true
		idx[k.Value] = len(out.Content)
		out.Content = append(out.Content, k, v)
	}
	return &out
}
