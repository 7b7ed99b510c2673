package match

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// ---- equals, one_of, not, exists

type equalsOp struct{ want any }

func (c *compiler) equals(n *yaml.Node, field string) op {
	v, ok := c.value(n, field)
	if !ok {
		return invalid{}
	}
	return equalsOp{want: v}
}

func (o equalsOp) String() string { return "égal à " + Format(o.want) }

func (o equalsOp) eval(v any) Result {
	if v == Absent {
		return absentResult(o)
	}
	if equal(v, o.want) {
		return verdict(v, o, true, "")
	}
	if typeName(v) != typeName(o.want) && o.want != nil {
		return fail(v, o, "valeur différente (%s obtenu, %s attendu)", typeName(v), typeName(o.want))
	}
	return fail(v, o, "valeur différente")
}

type oneOfOp struct{ want []any }

func (c *compiler) oneOf(n *yaml.Node, field string) op {
	if r := resolve(n); r == nil || r.Kind != yaml.SequenceNode || len(r.Content) == 0 {
		return c.errorf(n, field, "expected a non-empty list of values")
	}
	v, ok := c.value(n, field)
	if !ok {
		return invalid{}
	}
	return oneOfOp{want: v.([]any)}
}

func (o oneOfOp) String() string { return "l'une des valeurs " + Format(o.want) }

func (o oneOfOp) eval(v any) Result {
	if v == Absent {
		return absentResult(o)
	}
	for _, w := range o.want {
		if equal(v, w) {
			return verdict(v, o, true, "")
		}
	}
	return fail(v, o, "valeur hors de la liste attendue")
}

type notOp struct{ inner op }

func (c *compiler) not(n *yaml.Node, field string) op { return notOp{inner: c.compile(n, field)} }

func (o notOp) String() string { return "non (" + o.inner.String() + ")" }

func (o notOp) eval(v any) Result {
	if _, isInvalid := o.inner.(invalid); isInvalid {
		return o.inner.eval(v)
	}
	if _, isExists := o.inner.(existsOp); v == Absent && !isExists {
		return absentResult(o)
	}
	r := o.inner.eval(v)
	return verdict(v, o, !r.OK, "la valeur vérifie %s", o.inner.String())
}

type existsOp struct{ want bool }

func (c *compiler) exists(n *yaml.Node, field string) op {
	r := resolve(n)
	if r == nil || r.Kind != yaml.ScalarNode || r.ShortTag() != "!!bool" {
		return c.errorf(n, field, "expected true or false")
	}
	var b bool
	if err := r.Decode(&b); err != nil {
		return c.errorf(n, field, "expected true or false")
	}
	return existsOp{want: b}
}

func (o existsOp) String() string {
	if o.want {
		return "présent"
	}
	return "absent"
}

func (o existsOp) eval(v any) Result {
	present := v != Absent
	if o.want {
		return verdict(v, o, present, "champ absent de l'observation")
	}
	return verdict(v, o, !present, "champ présent")
}

// ---- strings: contains, matches, has_prefix, has_suffix

type containsOp struct{ want any }

func (c *compiler) contains(n *yaml.Node, field string) op {
	v, ok := c.value(n, field)
	if !ok {
		return invalid{}
	}
	return containsOp{want: v}
}

func (o containsOp) String() string { return "contient " + Format(o.want) }

func (o containsOp) eval(v any) Result {
	switch x := v.(type) {
	case absentValue:
		return absentResult(o)
	case []any:
		for _, e := range x {
			if equal(e, o.want) {
				return verdict(v, o, true, "")
			}
		}
		return fail(v, o, "aucun des %d éléments n'est égal à %s", len(x), Format(o.want))
	}
	s, ok := text(v)
	if !ok {
		return fail(v, o, "attendu une chaîne ou une liste, obtenu %s", typeName(v))
	}
	sub, ok := text(o.want)
	if !ok {
		return fail(v, o, "une chaîne ne peut contenir %s", typeName(o.want))
	}
	return verdict(v, o, strings.Contains(s, sub), "%s absent du texte", Format(sub))
}

type matchesOp struct{ re *regexp.Regexp }

func (c *compiler) matches(n *yaml.Node, field string) op {
	s, ok := c.str(n, field, "a regular expression")
	if !ok {
		return invalid{}
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return c.errorf(n, field, "invalid regular expression: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return matchesOp{re: re}
}

func (o matchesOp) String() string { return "correspond à /" + o.re.String() + "/" }

func (o matchesOp) eval(v any) Result {
	if v == Absent {
		return absentResult(o)
	}
	s, ok := text(v)
	if !ok {
		return fail(v, o, "attendu une chaîne, obtenu %s", typeName(v))
	}
	return verdict(v, o, o.re.MatchString(s), "le texte ne correspond pas à l'expression")
}

type affixOp struct {
	affix  string
	suffix bool
}

func (c *compiler) hasPrefix(n *yaml.Node, field string) op {
	s, ok := c.str(n, field, "a string")
	if !ok {
		return invalid{}
	}
	return affixOp{affix: s}
}

func (c *compiler) hasSuffix(n *yaml.Node, field string) op {
	s, ok := c.str(n, field, "a string")
	if !ok {
		return invalid{}
	}
	return affixOp{affix: s, suffix: true}
}

func (o affixOp) String() string {
	if o.suffix {
		return "finit par " + Format(o.affix)
	}
	return "commence par " + Format(o.affix)
}

func (o affixOp) eval(v any) Result {
	if v == Absent {
		return absentResult(o)
	}
	s, ok := text(v)
	if !ok {
		return fail(v, o, "attendu une chaîne, obtenu %s", typeName(v))
	}
	if o.suffix {
		return verdict(v, o, strings.HasSuffix(s, o.affix), "mauvaise fin de texte")
	}
	return verdict(v, o, strings.HasPrefix(s, o.affix), "mauvais début de texte")
}

type hasKeyOp struct{ key string }

func (c *compiler) hasKey(n *yaml.Node, field string) op {
	s, ok := c.str(n, field, "a key name")
	if !ok {
		return invalid{}
	}
	return hasKeyOp{key: s}
}

func (o hasKeyOp) String() string { return "possède la clé " + Format(o.key) }

func (o hasKeyOp) eval(v any) Result {
	if v == Absent {
		return absentResult(o)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fail(v, o, "attendu un objet, obtenu %s", typeName(v))
	}
	_, has := m[o.key]
	return verdict(v, o, has, "clé %s absente", Format(o.key))
}

// ---- numbers: gt, gte, lt, lte

type orderOp struct {
	sym  string
	want any
	ok   func(int) bool
}

func order(sym string, ok func(int) bool) builder {
	return func(c *compiler, n *yaml.Node, field string) op {
		r := resolve(n)
		if r == nil || r.Kind != yaml.ScalarNode || (r.ShortTag() != "!!int" && r.ShortTag() != "!!float") {
			return c.errorf(n, field, "expected a number")
		}
		v, good := c.value(r, field)
		if _, _, _, isNum := number(v); !good || !isNum {
			return c.errorf(n, field, "expected a number")
		}
		return orderOp{sym: sym, want: v, ok: ok}
	}
}

func (o orderOp) String() string { return o.sym + " " + Format(o.want) }

func (o orderOp) eval(v any) Result {
	if v == Absent {
		return absentResult(o)
	}
	cmp, ok := compareNumbers(v, o.want)
	if !ok {
		return fail(v, o, "attendu un nombre, obtenu %s", typeName(v))
	}
	return verdict(v, o, o.ok(cmp), "nombre hors limite")
}

// ---- versions

type versionOp struct {
	label string
	want  string
	ok    func(int) bool
}

func version(label string, ok func(int) bool) builder {
	return func(c *compiler, n *yaml.Node, field string) op {
		s, good := c.str(n, field, "a version such as 10.0.19045")
		if !good {
			return invalid{}
		}
		if strings.TrimSpace(s) == "" {
			return c.errorf(n, field, "expected a version such as 10.0.19045")
		}
		return versionOp{label: label, want: s, ok: ok}
	}
}

func (o versionOp) String() string { return o.label + " " + o.want }

func (o versionOp) eval(v any) Result {
	if v == Absent {
		return absentResult(o)
	}
	s, ok := text(v)
	if !ok || strings.TrimSpace(s) == "" {
		return fail(v, o, "attendu un numéro de version, obtenu %s", typeName(v))
	}
	return verdict(v, o, o.ok(compareVersions(s, o.want)), "version hors limite")
}

// ---- timestamps: before, after

type timeOp struct {
	label  string
	want   time.Time
	before bool
}

func timeOrder(label string, before bool) builder {
	return func(c *compiler, n *yaml.Node, field string) op {
		s, ok := c.str(n, field, "an RFC 3339 timestamp such as 2024-06-03T08:30:00+02:00")
		if !ok {
			return invalid{}
		}
		t, ok := parseTime(s)
		if !ok {
			return c.errorf(n, field, "expected an RFC 3339 timestamp such as 2024-06-03T08:30:00+02:00, got %q", s)
		}
		return timeOp{label: label, want: t, before: before}
	}
}

func (o timeOp) String() string { return o.label + " " + o.want.Format(time.RFC3339) }

func (o timeOp) eval(v any) Result {
	if v == Absent {
		return absentResult(o)
	}
	t, ok := asTime(v)
	if !ok {
		return fail(v, o, "attendu une date, obtenu %s", typeName(v))
	}
	if o.before {
		return verdict(v, o, t.Before(o.want), "date trop tardive")
	}
	return verdict(v, o, t.After(o.want), "date trop ancienne")
}

// ---- sizes: len, count

type lenOp struct{ inner op }

func (c *compiler) length(n *yaml.Node, field string) op { return lenOp{inner: c.compile(n, field)} }

func (o lenOp) String() string { return "longueur " + o.inner.String() }

func (o lenOp) eval(v any) Result {
	var n int
	switch x := v.(type) {
	case absentValue:
		return absentResult(o)
	case string:
		n = utf8.RuneCountInString(x)
	case []any:
		n = len(x)
	case map[string]any:
		n = len(x)
	default:
		return fail(v, o, "attendu une chaîne, une liste ou un objet, obtenu %s", typeName(v))
	}
	r := o.inner.eval(int64(n))
	return verdict(v, o, r.OK, "longueur %d", n)
}

type countOp struct {
	where    op // nil: every element
	min, max *int64
	is       op
}

func (c *compiler) count(n *yaml.Node, field string) op {
	r := resolve(n)
	if r == nil || r.Kind != yaml.MappingNode {
		return c.errorf(n, field, "expected a mapping with where, min, max or is")
	}
	o := countOp{}
	bad := false
	bound := func(v *yaml.Node, f string) *int64 {
		v = resolve(v)
		var x int64
		if v == nil || v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&x) != nil || x < 0 {
			c.d.Errorf(v, f, "expected a non-negative integer")
			bad = true
			return nil
		}
		return &x
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(r.Content); i += 2 {
		k, v := resolve(r.Content[i]), r.Content[i+1]
		if k == nil {
			continue
		}
		sub := field + "." + k.Value
		if seen[k.Value] {
			c.d.Errorf(k, sub, "duplicate key")
			bad = true
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "where":
			o.where = c.compile(v, sub)
		case "min":
			o.min = bound(v, sub)
		case "max":
			o.max = bound(v, sub)
		case "is":
			o.is = c.compile(v, sub)
		default:
			c.d.Errorf(k, sub, "unknown key (valid: is, max, min, where)")
			bad = true
		}
	}
	if bad {
		return invalid{}
	}
	if o.min != nil && o.max != nil && *o.min > *o.max {
		return c.errorf(n, field, "min %d is greater than max %d", *o.min, *o.max)
	}
	if o.min == nil && o.max == nil && o.is == nil {
		one := int64(1)
		o.min = &one
	}
	return o
}

func (o countOp) String() string {
	var parts []string
	if o.min != nil {
		parts = append(parts, fmt.Sprintf("au moins %d", *o.min))
	}
	if o.max != nil {
		parts = append(parts, fmt.Sprintf("au plus %d", *o.max))
	}
	if o.is != nil {
		parts = append(parts, o.is.String())
	}
	s := "nombre d'éléments"
	if o.where != nil {
		s += " (" + o.where.String() + ")"
	}
	return s + " " + strings.Join(parts, ", ")
}

func (o countOp) eval(v any) Result {
	if v == Absent {
		return absentResult(o)
	}
	list, ok := v.([]any)
	if !ok {
		return fail(v, o, "attendu une liste, obtenu %s", typeName(v))
	}
	n := int64(0)
	for _, e := range list {
		if o.where == nil || o.where.eval(e).OK {
			n++
		}
	}
	good := (o.min == nil || n >= *o.min) && (o.max == nil || n <= *o.max) && (o.is == nil || o.is.eval(n).OK)
	r := verdict(v, o, good, "%d élément(s) sur %d correspondent", n, len(list))
	r.Found = strconv.FormatInt(n, 10)
	return r
}

// ---- combinators: all, any, each

type allOp struct{ ops []op }

func (c *compiler) list(n *yaml.Node, field string) []op {
	r := resolve(n)
	if r == nil || r.Kind != yaml.SequenceNode || len(r.Content) == 0 {
		c.d.Errorf(n, field, "expected a non-empty list of matchers")
		return nil
	}
	ops := make([]op, len(r.Content))
	for i, e := range r.Content {
		ops[i] = c.compile(e, fmt.Sprintf("%s[%d]", field, i))
	}
	return ops
}

func (c *compiler) all(n *yaml.Node, field string) op {
	ops := c.list(n, field)
	if ops == nil {
		return invalid{}
	}
	return allOp{ops: ops}
}

func joinOps(ops []op) string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = o.String()
	}
	return strings.Join(s, " ; ")
}

func (o allOp) String() string { return "tous : [" + joinOps(o.ops) + "]" }

func (o allOp) eval(v any) Result {
	for _, sub := range o.ops {
		if r := sub.eval(v); !r.OK {
			return fail(v, o, "%s : %s", sub.String(), r.Message)
		}
	}
	return verdict(v, o, true, "")
}

type anyOp struct{ ops []op }

func (c *compiler) any(n *yaml.Node, field string) op {
	ops := c.list(n, field)
	if ops == nil {
		return invalid{}
	}
	return anyOp{ops: ops}
}

func (o anyOp) String() string { return "au moins un : [" + joinOps(o.ops) + "]" }

func (o anyOp) eval(v any) Result {
	for _, sub := range o.ops {
		if sub.eval(v).OK {
			return verdict(v, o, true, "")
		}
	}
	return fail(v, o, "aucune des %d conditions n'est vérifiée", len(o.ops))
}

type eachOp struct{ inner op }

func (c *compiler) each(n *yaml.Node, field string) op { return eachOp{inner: c.compile(n, field)} }

func (o eachOp) String() string { return "chaque élément : " + o.inner.String() }

func (o eachOp) eval(v any) Result {
	if v == Absent {
		return absentResult(o)
	}
	list, ok := v.([]any)
	if !ok {
		return fail(v, o, "attendu une liste, obtenu %s", typeName(v))
	}
	for i, e := range list {
		if r := o.inner.eval(e); !r.OK {
			return fail(v, o, "élément %d (%s) : %s", i, Format(e), r.Message)
		}
	}
	return verdict(v, o, true, "")
}
