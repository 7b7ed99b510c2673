package match

import (
	"encoding/json"
	"testing"

	"github.com/tailab/tailab/internal/yamlx"
)

// FuzzCompileMatch compiles arbitrary matcher YAML and applies it to arbitrary
// JSON values: it must never panic, an invalid matcher never matches, and a
// result always explains itself.
func FuzzCompileMatch(f *testing.F) {
	seeds := [][2]string{
		{`3`, `3`},
		{`{contains: a}`, `["a","b"]`},
		{`{count: {where: {gte: 2}, min: 1, max: 4}}`, `[1,2,3]`},
		{`{all: [{matches: "^a"}, {len: {lt: 4}}]}`, `"abc"`},
		{`{any: [{exists: false}, {not: null}]}`, `null`},
		{`{each: {has_key: x}}`, `[{"x":1},{}]`},
		{`{after: "2024-06-03T08:30:00Z"}`, `"/Date(1717404000000)/"`},
		{`{version_gte: 10.0.19045}`, `"10.0.22631.1"`},
		{`{one_of: [a, 1, {b: 2}]}`, `{"b":2}`},
		{"a: &x {gt: 1}\nb: *x", `{"a":2}`},
		{`{count: {is: {len: 1}}}`, `[]`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, src, actualJSON string) {
		n, diags := yamlx.Parse("f.yaml", []byte(src))
		if diags != nil || n == nil {
			return
		}
		var actual any
		if err := json.Unmarshal([]byte(actualJSON), &actual); err != nil {
			actual = actualJSON
		}
		d := yamlx.NewDecoder("f.yaml")
		m := Compile(d, n, "f")
		if m == nil {
			t.Fatal("nil matcher")
		}
		_ = m.String()
		for _, a := range []any{actual, Absent, nil} {
			r := m.Match(a)
			if d.Diags != nil && r.OK {
				t.Fatalf("invalid matcher %q matched %v", src, a)
			}
			if r.Expected == "" || r.Actual == "" {
				t.Fatalf("result without Actual/Expected: %+v", r)
			}
			if !r.OK && r.Message == "" {
				t.Fatalf("failure without message: %+v", r)
			}
		}
	})
}
