package match

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// absentValue is the type of Absent.
type absentValue struct{}

func (absentValue) String() string { return "(absent)" }

// Absent is the actual value of a field the observation does not hold. Every
// matcher fails on it except `exists: false` (and `not: {exists: true}`).
var Absent any = absentValue{}

// maxDepth bounds normalisation of nested (possibly cyclic) values.
const maxDepth = 64

// Normalize converts an observed or expected value to the small set of types the
// matchers compare: nil, bool, string, int64, float64, time.Time, []any,
// map[string]any and Absent. Numbers of every Go type (JSON float64, YAML int,
// uint64...) become int64 when integral and in range, float64 otherwise, so 3,
// int64(3) and 3.0 compare equal. Structs go through their JSON form; other types
// that implement fmt.Stringer or error become their text.
func Normalize(v any) any { return normalize(v, 0) }

func normalize(v any, depth int) any {
	if depth > maxDepth {
		return "…"
	}
	switch x := v.(type) {
	case nil:
		return nil
	case absentValue:
		return Absent
	case bool, string, int64:
		return x
	case int:
		return int64(x)
	case float64:
		return normFloat(x)
	case float32:
		return normFloat(float64(x))
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return normFloat(f)
		}
		return x.String()
	case time.Time:
		return x
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return fmt.Sprintf("%x", x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e, depth+1)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e, depth+1)
		}
		return out
	case error:
		return x.Error()
	case fmt.Stringer:
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Pointer && rv.IsNil() {
			return nil
		}
		return x.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool()
	case reflect.String:
		return rv.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u <= math.MaxInt64 {
			return int64(u)
		}
		return float64(u)
	case reflect.Float32, reflect.Float64:
		return normFloat(rv.Float())
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return normalize(rv.Elem().Interface(), depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return []any{}
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalize(rv.Index(i).Interface(), depth+1)
		}
		return out
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[fmt.Sprint(it.Key().Interface())] = normalize(it.Value().Interface(), depth+1)
		}
		return out
	case reflect.Struct:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			return fmt.Sprint(v)
		}
		return normalize(x, depth+1)
	}
	return fmt.Sprint(v)
}

func normFloat(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

// typeName names a normalised value's type in French, for messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case absentValue:
		return "absent"
	case bool:
		return "booléen"
	case string:
		return "chaîne"
	case int64, float64:
		return "nombre"
	case time.Time:
		return "date"
	case []any:
		return "liste"
	case map[string]any:
		return "objet"
	}
	return fmt.Sprintf("%T", v)
}

// number returns a normalised value as a number; numeric strings (trimmed) count,
// so `gte: 3` works on a command's "3\n".
func number(v any) (i int64, f float64, isInt, ok bool) {
	switch x := v.(type) {
	case int64:
		return x, float64(x), true, true
	case float64:
		if math.IsNaN(x) {
			return 0, 0, false, false
		}
		return 0, x, false, true
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, float64(n), true, true
		}
		if g, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(g) {
			return 0, g, false, true
		}
	}
	return 0, 0, false, false
}

// compareNumbers returns -1, 0 or 1; ok is false when either is not a number.
func compareNumbers(a, b any) (int, bool) {
	ai, af, aInt, ok1 := number(a)
	bi, bf, bInt, ok2 := number(b)
	if !ok1 || !ok2 {
		return 0, false
	}
	if aInt && bInt {
		return cmp3(ai < bi, ai > bi), true
	}
	return cmp3(af < bf, af > bf), true
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

// equal reports deep equality of normalised values; numbers compare numerically
// and a date equals a string holding the same instant.
func equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case absentValue:
		return false
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		switch y := b.(type) {
		case string:
			return x == y
		case time.Time:
			t, ok := parseTime(x)
			return ok && t.Equal(y)
		}
		return false
	case int64, float64:
		switch b.(type) {
		case int64, float64:
			c, ok := compareNumbers(a, b)
			return ok && c == 0
		}
		return false
	case time.Time:
		switch y := b.(type) {
		case time.Time:
			return x.Equal(y)
		case string:
			t, ok := parseTime(y)
			return ok && t.Equal(x)
		}
		return false
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

// maxFormat bounds the length of a formatted value in a report.
const maxFormat = 240

// Format renders a value for a report: strings quoted, lists in brackets, objects
// with sorted keys, dates in RFC 3339; long renderings are cut.
func Format(v any) string {
	var b strings.Builder
	format(&b, Normalize(v), 0)
	s := b.String()
	if utf8.RuneCountInString(s) > maxFormat {
		r := []rune(s)
		s = string(r[:maxFormat]) + fmt.Sprintf("… (%d caractères)", len(r))
	}
	return s
}

func format(b *strings.Builder, v any, depth int) {
	if b.Len() > 4*maxFormat || depth > maxDepth {
		b.WriteString("…")
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case absentValue:
		b.WriteString("(absent)")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		b.WriteString(strconv.Quote(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case time.Time:
		b.WriteString(x.Format(time.RFC3339Nano))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			format(b, e, depth+1)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteString(": ")
			format(b, x[k], depth+1)
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, x)
	}
}

// text returns a scalar as the string string matchers work on; ok is false for
// lists, objects, null and Absent.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case time.Time:
		return x.Format(time.RFC3339Nano), true
	}
	return "", false
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"20060102150405.0Z0700", // LDAP GeneralizedTime (whenCreated)
	"20060102150405Z0700",
	"2006-01-02",
}

// parseTime reads the timestamps probes report: RFC 3339, LDAP GeneralizedTime
// (20240105101500.0Z), PowerShell 5.1 JSON dates (/Date(1704449700000)/), date only.
// Times without a zone are UTC.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "/Date("); ok {
		rest, ok = strings.CutSuffix(rest, ")/")
		if !ok {
			return time.Time{}, false
		}
		// An optional zone offset (+0100) follows the milliseconds; the instant is UTC.
		if i := strings.IndexAny(rest[min(1, len(rest)):], "+-"); i >= 0 {
			rest = rest[:i+min(1, len(rest))]
		}
		ms, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.UnixMilli(ms).UTC(), true
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// asTime returns a normalised value as a time.
func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		return parseTime(x)
	}
	return time.Time{}, false
}

// compareVersions compares dotted versions numerically part by part
// ("10.0.19045" > "10.0.9200"; "1.10" > "1.9"); a missing part counts as 0 and
// non-numeric parts compare as text.
func compareVersions(a, b string) int {
	split := func(s string) []string {
		s = strings.TrimPrefix(strings.TrimSpace(s), "v")
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' || r == '_' || r == '+' || r == ' ' })
	}
	pa, pb := split(a), split(b)
	for i := 0; i < max(len(pa), len(pb)); i++ {
		x, y := "0", "0"
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		xi, err1 := strconv.ParseUint(x, 10, 64)
		yi, err2 := strconv.ParseUint(y, 10, 64)
		var c int
		if err1 == nil && err2 == nil {
			c = cmp3(xi < yi, xi > yi)
		} else {
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
