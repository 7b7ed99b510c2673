// Package match compiles the `expect` matchers of a check suite and applies them
// to observed values.
//
// In a suite, each expected field maps to a matcher node:
//
//	expect:
//	  exit_code: 0                      # a bare scalar (or list) means equals
//	  stdout: {contains: "Paris"}       # a mapping names one matcher
//	  members: {count: {where: {has_prefix: "CN=Compta"}, min: 2}}
//	  build: {gte: 19045, lt: 30000}    # several keys: all must hold
//
// Compile checks a node and records every problem with its file:line:col through
// a yamlx.Decoder; Match returns a Result whose Actual, Expected and Message
// explain the verdict to the jury (in French). Observed values are normalised
// first (see Normalize): a JSON float64 3 equals a YAML integer 3.
package match

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tailab/tailab/internal/yamlx"
	"gopkg.in/yaml.v3"
)

// Result is a matcher's verdict on one value.
type Result struct {
	OK       bool   `json:"ok"`
	Actual   string `json:"actual"`            // the observed value, formatted
	Expected string `json:"expected"`          // what the matcher wanted, in words
	Message  string `json:"message,omitempty"` // why it failed (French), empty when OK
	// Found is what was observed in the jury's words when it is not Actual
	// itself: the count a count matcher compared ("1"), not the list.
	Found string `json:"found,omitempty"`
}

// Matcher is a compiled expectation.
type Matcher interface {
	// Match normalises actual (see Normalize) and tests it.
	Match(actual any) Result
	// String describes what the matcher expects, in French (e.g. `contient "Paris"`).
	String() string
}

// op is a compiled matcher working on normalised values.
type op interface {
	eval(v any) Result
	String() string
}

type root struct{ op }

func (r root) Match(actual any) Result { return r.eval(Normalize(actual)) }

// builder compiles the value node of one matcher key.
type builder func(c *compiler, n *yaml.Node, field string) op

var builders map[string]builder

func init() {
	builders = map[string]builder{
		"equals":      (*compiler).equals,
		"not":         (*compiler).not,
		"contains":    (*compiler).contains,
		"matches":     (*compiler).matches,
		"has_prefix":  (*compiler).hasPrefix,
		"has_suffix":  (*compiler).hasSuffix,
		"one_of":      (*compiler).oneOf,
		"gt":          order(">", func(c int) bool { return c > 0 }),
		"gte":         order("≥", func(c int) bool { return c >= 0 }),
		"lt":          order("<", func(c int) bool { return c < 0 }),
		"lte":         order("≤", func(c int) bool { return c <= 0 }),
		"len":         (*compiler).length,
		"count":       (*compiler).count,
		"all":         (*compiler).all,
		"any":         (*compiler).any,
		"each":        (*compiler).each,
		"has_key":     (*compiler).hasKey,
		"exists":      (*compiler).exists,
		"version_gte": version("version ≥", func(c int) bool { return c >= 0 }),
		"version_lt":  version("version <", func(c int) bool { return c < 0 }),
		"before":      timeOrder("avant", true),
		"after":       timeOrder("après", false),
	}
}

// Names lists the valid matcher names, sorted.
func Names() []string {
	out := make([]string, 0, len(builders)+1)
	out = append(out, fieldKey)
	for k := range builders {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// compiler records diagnostics and bounds the size of what it compiles.
type compiler struct {
	d     *yamlx.Decoder
	nodes int
}

// maxNodes bounds a matcher tree (aliases can make a small file expand a lot).
const maxNodes = 10000

// Compile compiles the matcher at node n; field is the path used in diagnostics
// (e.g. "checks[3].expect.stdout"). Problems are recorded in d; the returned
// matcher is never nil (a matcher that failed to compile never matches).
func Compile(d *yamlx.Decoder, n *yaml.Node, field string) Matcher {
	c := &compiler{d: d}
	before := len(d.Diags)
	o := c.compile(n, field)
	if len(d.Diags) > before {
		return root{invalid{}}
	}
	return root{o}
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func (c *compiler) errorf(n *yaml.Node, field, format string, args ...any) op {
	c.d.Errorf(n, field, format, args...)
	return invalid{}
}

func (c *compiler) compile(n *yaml.Node, field string) op {
	n = resolve(n)
	if n == nil || n.Kind == 0 || n.Kind == yaml.AliasNode {
		return c.errorf(n, field, "a matcher is required")
	}
	if c.nodes++; c.nodes > maxNodes {
		return c.errorf(n, field, "matcher too large (more than %d nodes)", maxNodes)
	}
	switch n.Kind {
	case yaml.ScalarNode, yaml.SequenceNode:
		return c.equals(n, field)
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			return c.errorf(n, field, "empty matcher: name one of %s", strings.Join(Names(), ", "))
		}
		if o, ok := c.field(n, field); ok {
			return o
		}
		var ops []op
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := resolve(n.Content[i]), n.Content[i+1]
			if k == nil || k.Kind != yaml.ScalarNode {
				ops = append(ops, c.errorf(k, field, "a matcher name must be a string"))
				continue
			}
			sub := field + "." + k.Value
			if line, dup := seen[k.Value]; dup {
				ops = append(ops, c.errorf(k, sub, "duplicate matcher (first at line %d)", line))
				continue
			}
			seen[k.Value] = k.Line
			b, ok := builders[k.Value]
			if !ok {
				ops = append(ops, c.errorf(k, sub, "unknown matcher %q%s", k.Value, hint(k.Value)))
				continue
			}
			ops = append(ops, b(c, v, sub))
		}
		if len(ops) == 1 {
			return ops[0]
		}
		return allOp{ops: ops}
	}
	return c.errorf(n, field, "a matcher is required")
}

// hint suggests the closest matcher name and lists the valid ones.
func hint(name string) string {
	s := yamlx.Suggest(name, Names())
	if strings.HasPrefix(s, " (did you mean") {
		s = strings.TrimSuffix(s, ")") + "; valid: " + strings.Join(Names(), ", ") + ")"
	}
	return s
}

// value decodes a literal YAML value (scalar, list or mapping) and normalises it.
func (c *compiler) value(n *yaml.Node, field string) (any, bool) {
	n = resolve(n)
	if n == nil {
		c.d.Errorf(n, field, "a value is required")
		return nil, false
	}
	if c.nodes += countNodes(n, 0); c.nodes > maxNodes {
		c.d.Errorf(n, field, "value too large (more than %d nodes)", maxNodes)
		return nil, false
	}
	var x any
	if err := n.Decode(&x); err != nil {
		c.d.Errorf(n, field, "invalid value: %v", err)
		return nil, false
	}
	return Normalize(x), true
}

func countNodes(n *yaml.Node, depth int) int {
	n = resolve(n)
	if n == nil || depth > 100 {
		return maxNodes + 1
	}
	total := 1
	for _, ch := range n.Content {
		if total += countNodes(ch, depth+1); total > maxNodes {
			return total
		}
	}
	return total
}

// str requires a scalar string (any plain scalar is taken as its text).
func (c *compiler) str(n *yaml.Node, field, what string) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		c.d.Errorf(n, field, "expected %s", what)
		return "", false
	}
	return n.Value, true
}

// invalid is what a matcher that failed to compile becomes: it never matches.
type invalid struct{}

func (invalid) eval(v any) Result {
	return Result{Actual: Format(v), Expected: "(matcher invalide)", Message: "matcher invalide dans la suite"}
}
func (invalid) String() string { return "(matcher invalide)" }

// fail builds a failed result.
func fail(v any, o op, format string, args ...any) Result {
	return Result{Actual: Format(v), Expected: o.String(), Message: fmt.Sprintf(format, args...)}
}

// verdict builds a result from a condition and the message to give when it is false.
func verdict(v any, o op, ok bool, format string, args ...any) Result {
	if ok {
		return Result{OK: true, Actual: Format(v), Expected: o.String()}
	}
	return fail(v, o, format, args...)
}

// absentResult is the failure of any value matcher on a missing field.
func absentResult(o op) Result {
	return Result{Actual: Format(Absent), Expected: o.String(), Message: "champ absent de l'observation"}
}
