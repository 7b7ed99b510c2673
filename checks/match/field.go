package match

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// fieldKey names the field of an object the sibling matchers apply to:
// {field: enabled, equals: true}. With count's where it selects a list element
// by several of its fields at once, so a check never has to approximate:
//
//	gpo_links:
//	  count:
//	    where: {all: [{field: name, equals: Paris}, {field: enabled, equals: true}]}
const fieldKey = "field"

type fieldOp struct {
	name  string
	inner op
}

// field compiles a mapping holding a field key: the other keys form the matcher
// of that field's value. ok is false when the mapping has no field key.
func (c *compiler) field(n *yaml.Node, path string) (op, bool) {
	rest := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	var name *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == fieldKey {
			if name != nil {
				return c.errorf(k, path+"."+fieldKey, "duplicate matcher (first at line %d)", name.Line), true
			}
			name = n.Content[i+1]
			continue
		}
		rest.Content = append(rest.Content, n.Content[i], n.Content[i+1])
	}
	if name == nil {
		return nil, false
	}
	s, ok := c.str(name, path+"."+fieldKey, "a field name")
	if !ok || strings.TrimSpace(s) == "" {
		return invalid{}, true
	}
	if len(rest.Content) == 0 {
		return c.errorf(n, path, "field %q needs a matcher beside it (e.g. {field: %s, equals: true})", s, s), true
	}
	return fieldOp{name: s, inner: c.compile(rest, path+"."+s)}, true
}

func (o fieldOp) String() string { return "champ " + Format(o.name) + " : " + o.inner.String() }

func (o fieldOp) eval(v any) Result {
	if v == Absent {
		return absentResult(o)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fail(v, o, "attendu un objet, obtenu %s", typeName(v))
	}
	x, has := m[o.name]
	if !has {
		x = Absent
	}
	r := o.inner.eval(x)
	if r.OK {
		return verdict(v, o, true, "")
	}
	return fail(v, o, "champ %s : %s", Format(o.name), r.Message)
}
