package yamlx

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Unmarshaler is implemented by types that decode themselves from a node. The
// decoder reports their error at the node's position.
type Unmarshaler interface {
	UnmarshalYAMLX(d *Decoder, n *yaml.Node, field string)
}

// Decoder decodes nodes of one file, collecting diagnostics.
type Decoder struct {
	File  string
	Diags Diagnostics
}

// NewDecoder returns a decoder for the named file.
func NewDecoder(file string) *Decoder { return &Decoder{File: file} }

// PosOf returns the position of a node in the decoder's file.
func (d *Decoder) PosOf(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: d.File}
	}
	return Pos{File: d.File, Line: n.Line, Column: n.Column}
}

// Errorf records a diagnostic at node n.
func (d *Decoder) Errorf(n *yaml.Node, field, format string, args ...any) {
	d.Diags.Add(d.PosOf(n), field, format, args...)
}

var lineRe = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

// Parse parses data as one YAML document. An empty document gives a nil node and
// no diagnostic; a syntax error gives a diagnostic at the line yaml.v3 reports.
func Parse(file string, data []byte) (*yaml.Node, Diagnostics) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		pos := Pos{File: file}
		if m := lineRe.FindStringSubmatch(msg); m != nil {
			pos.Line, _ = strconv.Atoi(m[1])
			if m[2] != "" {
				pos.Column, _ = strconv.Atoi(m[2])
			}
			msg = strings.TrimSpace(lineRe.ReplaceAllString(msg, ""))
			msg = strings.TrimPrefix(strings.TrimPrefix(msg, ":"), " ")
		}
		return nil, Diagnostics{{Pos: pos, Message: "invalid YAML: " + msg}}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// Decode decodes node n of file into out (a pointer) and returns every problem.
func Decode(file string, n *yaml.Node, out any) Diagnostics {
	d := NewDecoder(file)
	d.Decode(n, out, "")
	return d.Diags
}

// Decode decodes n into out (a pointer), recording problems under field.
func (d *Decoder) Decode(n *yaml.Node, out any, field string) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic("yamlx: Decode needs a non-nil pointer")
	}
	d.value(n, v.Elem(), field)
}

var (
	nodeType     = reflect.TypeOf(yaml.Node{})
	durationType = reflect.TypeOf(time.Duration(0))
	posType      = reflect.TypeOf(Pos{})
	positionsTyp = reflect.TypeOf(Positions{})
	unmarshalerT = reflect.TypeOf((*Unmarshaler)(nil)).Elem()
	textUnmarsh  = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int":
			return "integer " + n.Value
		case "!!float":
			return "number " + n.Value
		case "!!bool":
			return "boolean " + n.Value
		}
		if len(n.Value) > maxQuoted {
			return fmt.Sprintf("a string of %d bytes", len(n.Value))
		}
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

func (d *Decoder) value(n *yaml.Node, v reflect.Value, field string) {
	n = resolve(n)
	if n == nil {
		return
	}
	if v.Type() == nodeType {
		v.Set(reflect.ValueOf(*n))
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerT) {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v.Addr().Interface().(Unmarshaler).UnmarshalYAMLX(d, n, field)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // null leaves the zero value
	}
	switch v.Type() {
	case durationType:
		d.duration(n, v, field)
		return
	case posType:
		v.Set(reflect.ValueOf(d.PosOf(n)))
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarsh) && n.Kind == yaml.ScalarNode {
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.Errorf(n, field, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), field)
	case reflect.Struct:
		d.structure(n, v, field)
	case reflect.Map:
		d.mapping(n, v, field)
	case reflect.Slice:
		d.sequence(n, v, field)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.Errorf(n, field, "expected a string, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := scalarBool(n)
		if !ok {
			d.Errorf(n, field, "expected true or false, got %s", kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, v.Type().Bits())
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || err != nil {
			d.Errorf(n, field, "expected an integer, got %s", kindName(n))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 0, v.Type().Bits())
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || err != nil {
			d.Errorf(n, field, "expected a non-negative integer, got %s", kindName(n))
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.Errorf(n, field, "expected a number, got %s", kindName(n))
			return
		}
		v.SetFloat(f)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.Errorf(n, field, "%v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		panic(fmt.Sprintf("yamlx: unsupported type %s", v.Type()))
	}
}

func scalarBool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return false, false
	}
	switch strings.ToLower(n.Value) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}

func (d *Decoder) duration(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind != yaml.ScalarNode {
		d.Errorf(n, field, "expected a duration such as 30s or 2m, got %s", kindName(n))
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil || dur < 0 {
		d.Errorf(n, field, "expected a duration such as 30s or 2m, got %q", n.Value)
		return
	}
	v.SetInt(int64(dur))
}

// structField describes how a YAML key maps to a Go struct field.
type structField struct {
	index []int
	name  string
}

func fieldsOf(t reflect.Type) (fields map[string]structField, order []string, posIdx, positionsIdx []int) {
	fields = map[string]structField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			switch f.Type {
			case posType:
				posIdx = f.Index
			case positionsTyp:
				positionsIdx = f.Index
			}
			continue
		}
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			sub, subOrder, subPos, subPositions := fieldsOf(f.Type)
			for _, k := range subOrder {
				sf := sub[k]
				sf.index = append(append([]int{}, f.Index...), sf.index...)
				fields[k] = sf
				order = append(order, k)
			}
			// An inlined struct's Pos and Positions are the mapping's (the
			// outer struct's own, declared directly, win).
			if subPos != nil && posIdx == nil {
				posIdx = append(append([]int{}, f.Index...), subPos...)
			}
			if subPositions != nil && positionsIdx == nil {
				positionsIdx = append(append([]int{}, f.Index...), subPositions...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = structField{index: f.Index, name: name}
		order = append(order, name)
	}
	return fields, order, posIdx, positionsIdx
}

// mappingPairs returns a mapping's key/value pairs with YAML merge keys (<<) expanded;
// explicit keys win over merged ones.
func (d *Decoder) mappingPairs(n *yaml.Node, field string) [][2]*yaml.Node {
	var merged, own [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			src := resolve(val)
			var srcs []*yaml.Node
			if src.Kind == yaml.SequenceNode {
				for _, s := range src.Content {
					srcs = append(srcs, resolve(s))
				}
			} else {
				srcs = []*yaml.Node{src}
			}
			for _, s := range srcs {
				if s.Kind != yaml.MappingNode {
					d.Errorf(s, field, "a merge key (<<) needs a mapping")
					continue
				}
				merged = append(merged, d.mappingPairs(s, field)...)
			}
			continue
		}
		own = append(own, [2]*yaml.Node{k, val})
	}
	seen := map[string]bool{}
	for _, p := range own {
		seen[p[0].Value] = true
	}
	out := own
	for _, p := range merged {
		if !seen[p[0].Value] {
			out = append(out, p)
			seen[p[0].Value] = true
		}
	}
	return out
}

func (d *Decoder) structure(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, field, "expected a mapping, got %s", kindName(n))
		return
	}
	fields, order, posIdx, positionsIdx := fieldsOf(v.Type())
	if posIdx != nil {
		v.FieldByIndex(posIdx).Set(reflect.ValueOf(d.PosOf(n)))
	}
	var positions Positions
	if positionsIdx != nil {
		positions = Positions{}
		v.FieldByIndex(positionsIdx).Set(reflect.ValueOf(positions))
	}
	seen := map[string]*yaml.Node{}
	for _, p := range d.mappingPairs(n, field) {
		k, val := p[0], p[1]
		key := k.Value
		if prev, dup := seen[key]; dup {
			d.Errorf(k, join(field, key), "duplicate key (first at line %d)", prev.Line)
			continue
		}
		seen[key] = k
		sf, ok := fields[key]
		if !ok && !fieldNameRe.MatchString(key) {
			// Not a field name at all: a file that is not what the command
			// expected (a lab naming /etc/shadow as its suite). Its lines are
			// described, never printed back.
			d.Errorf(k, field, "unknown field: a key of %d bytes that is no field name%s", len(key), validNames(order))
			continue
		}
		if !ok {
			d.Errorf(k, join(field, key), "unknown field%s", suggest(key, order))
			continue
		}
		if positions != nil {
			positions[key] = d.PosOf(resolve(val))
		}
		d.value(val, v.FieldByIndex(sf.index), join(field, key))
	}
}

func (d *Decoder) mapping(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, field, "expected a mapping, got %s", kindName(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]int{}
	for _, p := range d.mappingPairs(n, field) {
		k, val := p[0], p[1]
		if line, dup := seen[k.Value]; dup {
			d.Errorf(k, join(field, k.Value), "duplicate key (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		key := reflect.New(v.Type().Key()).Elem()
		d.value(k, key, join(field, k.Value))
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(val, elem, join(field, k.Value))
		v.SetMapIndex(key, elem)
	}
}

func (d *Decoder) sequence(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, field, "expected a list, got %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", field, i))
	}
	v.Set(s)
}

// suggest returns ` (did you mean "x"?)` for the closest valid key, or the list of
// valid keys when none is close.
func suggest(key string, valid []string) string {
	best, bestD := "", 1<<30
	for _, v := range valid {
		if dd := Distance(key, v); dd < bestD {
			best, bestD = v, dd
		}
	}
	if best != "" && bestD <= max(2, len(key)/3) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return validNames(valid)
}

// validNames is the hint listing every valid name.
func validNames(valid []string) string {
	sorted := append([]string(nil), valid...)
	sort.Strings(sorted)
	return fmt.Sprintf(" (valid: %s)", strings.Join(sorted, ", "))
}

// Suggest is the hint appended to "unknown ..." messages: the closest valid name or
// the list of valid names.
func Suggest(name string, valid []string) string { return suggest(name, valid) }

// Distance is the Levenshtein distance between a and b.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
