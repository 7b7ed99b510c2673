package tfe

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Evaluate plays a root module the way a plan would as far as tailab's
// modules need: it parses every .tf file, counts resource blocks, and
// evaluates the outputs with var.* (defaults, overridden by vars), path.module
// and each resource's literal attributes (plus id, as TYPE/NAME). It returns
// the number of resources and the outputs as JSON values.
func Evaluate(files map[string][]byte, vars map[string]string) (int, map[string]any, error) {
	objects, outputs, err := evaluate(files, vars)
	return len(objects), outputs, err
}

// evaluate is Evaluate returning the resources' objects: each one's literal
// name attribute (what the libvirt host knows it by), or "@TYPE.NAME" when
// the name is not a literal (the caller scopes it to the workspace).
func evaluate(files map[string][]byte, vars map[string]string) ([]string, map[string]any, error) {
	p := hclparse.NewParser()
	var bodies []hcl.Body
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if !strings.HasSuffix(name, ".tf") {
			continue
		}
		f, diags := p.ParseHCL(files[name], name)
		if diags.HasErrors() {
			return nil, nil, fmt.Errorf("%s", diags.Error())
		}
		bodies = append(bodies, f.Body)
	}
	if len(bodies) == 0 {
		return nil, nil, fmt.Errorf("no configuration files")
	}
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "terraform"}, {Type: "provider", LabelNames: []string{"name"}},
		{Type: "variable", LabelNames: []string{"name"}}, {Type: "resource", LabelNames: []string{"type", "name"}},
		{Type: "output", LabelNames: []string{"name"}}, {Type: "locals"},
	}}
	varVals := map[string]cty.Value{}
	resources := map[string]map[string]cty.Value{}
	var outputs []*hcl.Block
	var objects []string
	for _, b := range bodies {
		content, diags := b.Content(schema)
		if diags.HasErrors() {
			return nil, nil, fmt.Errorf("%s", diags.Error())
		}
		for _, blk := range content.Blocks {
			switch blk.Type {
			case "variable":
				attrs, _ := blk.Body.JustAttributes()
				if v, ok := vars[blk.Labels[0]]; ok {
					varVals[blk.Labels[0]] = cty.StringVal(v)
				} else if d, ok := attrs["default"]; ok {
					val, diags := d.Expr.Value(nil)
					if diags.HasErrors() {
						return nil, nil, fmt.Errorf("variable %s: %s", blk.Labels[0], diags.Error())
					}
					varVals[blk.Labels[0]] = val
				} else {
					return nil, nil, fmt.Errorf("no value for required variable %q: set it in the workspace", blk.Labels[0])
				}
			case "resource":
				typ, name := blk.Labels[0], blk.Labels[1]
				attrs := map[string]cty.Value{"id": cty.StringVal(typ + "/" + name)}
				if ja, diags := blk.Body.JustAttributes(); !diags.HasErrors() {
					for k, a := range ja {
						if v, d := a.Expr.Value(nil); !d.HasErrors() {
							attrs[k] = v
						}
					}
				} else if sb, _, d := blk.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "name"}}}); !d.HasErrors() {
					if a, ok := sb.Attributes["name"]; ok {
						if v, d := a.Expr.Value(nil); !d.HasErrors() {
							attrs["name"] = v
						}
					}
				}
				if resources[typ] == nil {
					resources[typ] = map[string]cty.Value{}
				}
				resources[typ][name] = cty.ObjectVal(attrs)
				obj := "@" + typ + "." + name
				if n, ok := attrs["name"]; ok && n.Type() == cty.String && n.IsKnown() && !n.IsNull() {
					obj = n.AsString()
				}
				objects = append(objects, obj)
			case "output":
				outputs = append(outputs, blk)
			}
		}
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(varVals), "path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(".")})},
		Functions: map[string]function.Function{"trimspace": stdlib.TrimSpaceFunc, "replace": stdlib.ReplaceFunc},
	}
	for typ, rs := range resources {
		ctx.Variables[typ] = cty.ObjectVal(rs)
	}
	out := map[string]any{}
	for _, blk := range outputs {
		attrs, diags := blk.Body.JustAttributes()
		if diags.HasErrors() {
			return nil, nil, fmt.Errorf("output %s: %s", blk.Labels[0], diags.Error())
		}
		a, ok := attrs["value"]
		if !ok {
			return nil, nil, fmt.Errorf("output %s has no value", blk.Labels[0])
		}
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() {
			return nil, nil, fmt.Errorf("output %s: %s", blk.Labels[0], diags.Error())
		}
		b, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			return nil, nil, err
		}
		var j any
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, nil, err
		}
		out[blk.Labels[0]] = j
	}
	return objects, out, nil
}
