package yamlx

import (
	"strings"
	"testing"
	"time"
)

type inner struct {
	Port int       `yaml:"port"`
	At   Positions `yaml:"-"`
}

type doc struct {
	Name   string            `yaml:"name"`
	Count  int               `yaml:"count"`
	Ratio  float64           `yaml:"ratio"`
	On     bool              `yaml:"on"`
	Wait   time.Duration     `yaml:"wait"`
	Tags   []string          `yaml:"tags"`
	Labels map[string]string `yaml:"labels"`
	Inner  *inner            `yaml:"inner"`
	Any    any               `yaml:"any"`
	Pos    Pos               `yaml:"-"`
	At     Positions         `yaml:"-"`
}

func decode(t *testing.T, src string) (*doc, Diagnostics) {
	t.Helper()
	n, diags := Parse("f.yaml", []byte(src))
	if len(diags) > 0 {
		return nil, diags
	}
	var d doc
	diags = Decode("f.yaml", n, &d)
	return &d, diags
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // each diagnostic, in order
	}{
		{"ok", "name: a\ncount: 3\nratio: 1.5\non: true\nwait: 2s\ntags: [x]\nlabels: {a: b}\ninner: {port: 22}\nany: [1, {a: 2}]\n", nil},
		{"typo", "nmae: a\n", []string{`f.yaml:1:1: nmae: unknown field (did you mean "name"?)`}},
		{"types", "count: x\nratio: [1]\non: maybe\nwait: soon\n", []string{
			`f.yaml:1:8: count: expected an integer, got "x"`,
			`f.yaml:2:8: ratio: expected a number, got a list`,
			`f.yaml:3:5: on: expected true or false, got "maybe"`,
			`f.yaml:4:7: wait: expected a duration such as 30s or 2m, got "soon"`,
		}},
		{"nested", "inner: {port: http}\ntags: {a: 1}\n", []string{
			`f.yaml:1:15: inner.port: expected an integer, got "http"`,
			`f.yaml:2:7: tags: expected a list, got a mapping`,
		}},
		{"duplicate", "name: a\nname: b\n", []string{`f.yaml:2:1: name: duplicate key (first at line 1)`}},
		{"syntax", "name: [a\n", []string{"f.yaml:1: invalid YAML"}},
		{"merge keys", "base: &b {port: 1}\n", []string{`f.yaml:1:1: base: unknown field`}},
		// A file that is not a document of this kind (/etc/shadow named as a suite):
		// its lines are described, never printed back.
		{"shadow line", "root:$y$j9T$secrethash:19000:0:99999:7:::\nname: a\n", []string{
			`f.yaml:1:1: unknown field: a key of 40 bytes that is no field name (valid: any, count, inner, labels, name, on, ratio, tags, wait)`}},
		{"long key", strings.Repeat("k", 65) + ": 1\n", []string{`f.yaml:1:1: unknown field: a key of 65 bytes that is no field name (valid:`}},
		{"long value", "count: " + strings.Repeat("v", 65) + "\n", []string{`f.yaml:1:8: count: expected an integer, got a string of 65 bytes`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := decode(t, tt.src)
			if len(diags) != len(tt.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%v", len(diags), len(tt.want), diags)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(diags[i].Error(), w) {
					t.Errorf("diagnostic %d = %q, want prefix %q", i, diags[i].Error(), w)
				}
			}
		})
	}
}

func TestPositionsAndMerge(t *testing.T) {
	d, diags := decode(t, "name: a\ninner: &i {port: 22}\nlabels:\n  <<: {a: x, b: y}\n  b: z\n")
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	if d.At["inner"].Line != 2 || d.Inner.At["port"].Line != 2 || d.Pos.Line != 1 {
		t.Errorf("positions: %+v %+v %+v", d.At, d.Inner.At, d.Pos)
	}
	if d.Labels["a"] != "x" || d.Labels["b"] != "z" {
		t.Errorf("merge keys: explicit keys must win: %v", d.Labels)
	}
}

// An inlined struct's fields are the mapping's keys, and its Pos and
// Positions are filled as if they were the outer struct's.
func TestInlinePositions(t *testing.T) {
	type Common struct {
		Name string    `yaml:"name"`
		Pos  Pos       `yaml:"-"`
		At   Positions `yaml:"-"`
	}
	type outer struct {
		Common `yaml:",inline"`
		Port   int `yaml:"port"`
	}
	n, diags := Parse("f.yaml", []byte("# x\nname: a\nport: 22\n"))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	var o outer
	if diags := Decode("f.yaml", n, &o); len(diags) > 0 {
		t.Fatal(diags)
	}
	if o.Name != "a" || o.Port != 22 || o.Pos.Line != 2 || o.At["name"].Line != 2 || o.At["port"].Line != 3 {
		t.Errorf("inline: %+v", o)
	}
	n, _ = Parse("f.yaml", []byte("name: a\nprot: 22\n"))
	if diags := Decode("f.yaml", n, &o); len(diags) != 1 || !strings.HasPrefix(diags[0].Error(), `f.yaml:2:1: prot: unknown field (did you mean "port"?)`) {
		t.Errorf("diagnostics = %v", diags)
	}
}

func TestSuggest(t *testing.T) {
	if got := Suggest("machnes", []string{"machines", "networks"}); !strings.Contains(got, `"machines"`) {
		t.Errorf("Suggest = %q", got)
	}
	if got := Suggest("zzz", []string{"b", "a"}); got != " (valid: a, b)" {
		t.Errorf("Suggest = %q", got)
	}
	if Distance("kitten", "sitting") != 3 {
		t.Error("Distance")
	}
}

func FuzzParseDecode(f *testing.F) {
	f.Add([]byte("name: a\ninner: {port: 1}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, diags := Parse("f.yaml", data)
		if len(diags) > 0 || n == nil {
			return
		}
		var d doc
		for _, dg := range Decode("f.yaml", n, &d) {
			if dg.Pos.File != "f.yaml" {
				t.Fatalf("diagnostic without file: %v", dg)
			}
		}
	})
}
