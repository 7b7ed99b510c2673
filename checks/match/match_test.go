package match

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/yamlx"
)

// compileYAML compiles a matcher written as YAML.
func compileYAML(t testing.TB, src string) (Matcher, yamlx.Diagnostics) {
	t.Helper()
	n, diags := yamlx.Parse("m.yaml", []byte(src))
	if diags != nil {
		t.Fatalf("parse %q: %v", src, diags)
	}
	d := yamlx.NewDecoder("m.yaml")
	m := Compile(d, n, "expect.f")
	return m, d.Diags
}

// fromJSON decodes a JSON document the way a probe's JSON output arrives.
func fromJSON(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("json %q: %v", s, err)
	}
	return v
}

type tcase struct {
	name    string
	matcher string
	actual  any
	ok      bool
}

func TestMatch(t *testing.T) {
	start := time.Date(2024, 6, 3, 8, 30, 0, 0, time.UTC)
	tests := []tcase{
		// equals and numbers across JSON/YAML/Go types
		{"bare int vs json float", `3`, float64(3), true},
		{"bare int vs int64", `3`, int64(3), true},
		{"bare int vs uint8", `3`, uint8(3), true},
		{"bare float vs int", `2.5`, 2, false},
		{"float equal", `2.5`, float32(2.5), true},
		{"string vs number is strict", `"3"`, 3, false},
		{"bare string", `Paris`, "Paris", true},
		{"bare string case sensitive", `Paris`, "paris", false},
		{"bool", `true`, true, true},
		{"bool vs string", `true`, "true", false},
		{"null", `null`, nil, true},
		{"null vs absent", `null`, Absent, false},
		{"list equals", `[1, "a"]`, []any{1.0, "a"}, true},
		{"list order matters", `[1, 2]`, []int{2, 1}, false},
		{"typed slice", `[a, b]`, []string{"a", "b"}, true},
		{"equals mapping", `{equals: {a: 1, b: [x]}}`, map[string]any{"a": 1.0, "b": []any{"x"}}, true},
		{"equals mapping extra key", `{equals: {a: 1}}`, map[string]any{"a": 1.0, "b": 2}, false},
		{"big int exact", `9007199254740993`, int64(9007199254740993), true},
		{"big int differs", `9007199254740993`, int64(9007199254740992), false},
		{"json number", `12`, json.Number("12"), true},
		{"secret masks", `"****"`, secret.New("hunter22"), true},
		{"struct via json", `{equals: {Name: x, N: 2}}`, struct {
			Name string
			N    int
		}{"x", 2}, true},
		{"pointer", `5`, func() *int { i := 5; return &i }(), true},
		{"nil pointer", `null`, (*int)(nil), true},
		{"absent fails equals", `x`, Absent, false},

		// not / exists
		{"not scalar", `{not: Administrateurs}`, "Utilisateurs", true},
		{"not scalar equal", `{not: Administrateurs}`, "Administrateurs", false},
		{"not on absent fails", `{not: x}`, Absent, false},
		{"exists true", `{exists: true}`, "", true},
		{"exists true null present", `{exists: true}`, nil, true},
		{"exists true absent", `{exists: true}`, Absent, false},
		{"exists false", `{exists: false}`, Absent, true},
		{"exists false present", `{exists: false}`, 0, false},
		{"not exists", `{not: {exists: true}}`, Absent, true},

		// strings
		{"contains substring", `{contains: Paris}`, "OU=Paris,DC=lab", true},
		{"contains missing", `{contains: Lyon}`, "OU=Paris,DC=lab", false},
		{"contains number in text", `{contains: 10}`, "VLAN 10 active", true},
		{"contains list element", `{contains: S-1-5-32-544}`, []any{"S-1-5-32-545", "S-1-5-32-544"}, true},
		{"contains list element number", `{contains: 3}`, []any{1.0, 3.0}, true},
		{"contains list missing", `{contains: x}`, []string{"a"}, false},
		{"contains on map", `{contains: x}`, map[string]any{"x": 1}, false},
		{"contains absent", `{contains: x}`, Absent, false},
		{"matches", `{matches: '^PC-[0-9]{3}$'}`, "PC-042", true},
		{"matches not", `{matches: '^PC-[0-9]{3}$'}`, "PC-42", false},
		{"matches number", `{matches: '^4\d$'}`, 42, true},
		{"matches list", `{matches: x}`, []any{"x"}, false},
		{"matches case-insensitive", `{matches: '(?i)^paris$'}`, "PARIS", true},
		{"has_prefix", `{has_prefix: "CN=Dupont"}`, "CN=Dupont Jean,OU=Paris", true},
		{"has_prefix no", `{has_prefix: "CN=Martin"}`, "CN=Dupont Jean,OU=Paris", false},
		{"has_suffix", `{has_suffix: "DC=lab,DC=local"}`, "OU=Paris,DC=lab,DC=local", true},
		{"has_suffix no", `{has_suffix: "DC=lab"}`, "OU=Paris,DC=lab,DC=local", false},
		{"one_of", `{one_of: [Running, StartPending]}`, "Running", true},
		{"one_of no", `{one_of: [Running, StartPending]}`, "Stopped", false},
		{"one_of numbers", `{one_of: [4, 5]}`, 5.0, true},
		{"has_key", `{has_key: Paris}`, map[string]any{"Paris": 1}, true},
		{"has_key no", `{has_key: Lyon}`, map[string]int{"Paris": 1}, false},
		{"has_key not map", `{has_key: Lyon}`, "Lyon", false},

		// numbers
		{"gt", `{gt: 2}`, 3.0, true},
		{"gt equal", `{gt: 3}`, 3, false},
		{"gte equal", `{gte: 3}`, 3.0, true},
		{"lt", `{lt: 3}`, 2.5, true},
		{"lte", `{lte: 3}`, 4, false},
		{"gte numeric string", `{gte: 3}`, "4\n", true},
		{"gte float bound", `{gte: 0.5}`, 1, true},
		{"gte not number", `{gte: 3}`, "abc", false},
		{"gte bool", `{gte: 0}`, true, false},
		{"range", `{gte: 1, lte: 5}`, 5, true},
		{"range out", `{gte: 1, lte: 5}`, 6, false},

		// len / count / each
		{"len list", `{len: 2}`, []any{1, 2}, true},
		{"len string runes", `{len: 5}`, "éèàçù", true},
		{"len gte", `{len: {gte: 3}}`, []any{1}, false},
		{"len map", `{len: 1}`, map[string]any{"a": 1}, true},
		{"len number", `{len: 1}`, 5, false},
		{"count default min 1", `{count: {where: {has_prefix: "OU="}}}`, []any{"CN=x", "OU=y"}, true},
		{"count default min 1 none", `{count: {where: {has_prefix: "OU="}}}`, []any{"CN=x"}, false},
		{"count min max", `{count: {where: {gte: 10}, min: 2, max: 3}}`, []any{5, 10, 11, 12}, true},
		{"count max exceeded", `{count: {where: {gte: 10}, max: 1}}`, []any{10, 11}, false},
		{"count is", `{count: {where: Running, is: 0}}`, []any{"Stopped"}, true},
		{"count without where", `{count: {min: 3}}`, []any{1, 2, 3}, true},
		{"count objects", `{count: {where: {has_key: upn}, min: 2}}`, fromJSON(t, `[{"upn":"a"},{"upn":"b"},{"x":1}]`), true},
		{"count not a list", `{count: {min: 1}}`, "x", false},
		{"each", `{each: {matches: '^S-1-5-21-'}}`, []any{"S-1-5-21-1", "S-1-5-21-2"}, true},
		{"each one fails", `{each: {matches: '^S-1-5-21-'}}`, []any{"S-1-5-21-1", "S-1-5-32-544"}, false},
		{"each empty", `{each: x}`, []any{}, true},
		{"each nested", `{each: {each: {gt: 0}}}`, [][]int{{1, 2}, {3}}, true},

		// combinators
		{"all", `{all: [{contains: a}, {contains: b}]}`, "ab", true},
		{"all one fails", `{all: [{contains: a}, {contains: c}]}`, "ab", false},
		{"any", `{any: [x, y]}`, "y", true},
		{"any none", `{any: [x, y]}`, "z", false},
		{"any exists false", `{any: [{exists: false}, ""]}`, Absent, true},

		// versions
		{"version_gte", `{version_gte: 10.0.19045}`, "10.0.22631", true},
		{"version_gte equal", `{version_gte: 10.0.19045}`, "10.0.19045", true},
		{"version_gte numeric parts", `{version_gte: 1.9}`, "1.10", true},
		{"version_gte lower", `{version_gte: 10.0.19045}`, "10.0.9200", false},
		{"version_gte yaml float", `{version_gte: 7.4}`, "7.4.1", true},
		{"version_lt", `{version_lt: "2.0"}`, "1.99.3", true},
		{"version_lt no", `{version_lt: "2.0"}`, "2", false},
		{"version on list", `{version_lt: "2.0"}`, []any{"1"}, false},

		// timestamps
		{"after rfc3339", `{after: "2024-06-03T08:30:00Z"}`, "2024-06-03T09:00:00+02:00", false},
		{"after rfc3339 later", `{after: "2024-06-03T08:30:00Z"}`, "2024-06-03T11:00:00+02:00", true},
		{"after time.Time", `{after: "2024-06-03T08:30:00Z"}`, start.Add(time.Minute), true},
		{"after ldap generalized", `{after: "2024-06-03T08:30:00Z"}`, "20240603093000.0Z", true},
		{"after ldap generalized before", `{after: "2024-06-03T08:30:00Z"}`, "20240602093000.0Z", false},
		{"after powershell json", `{after: "2024-06-03T08:30:00Z"}`, "/Date(1717404000000)/", true}, // 08:40Z
		{"before", `{before: "2024-06-03T08:30:00+02:00"}`, "2024-06-03T06:00:00Z", true},
		{"before not a date", `{before: "2024-06-03T08:30:00Z"}`, "hier", false},
		{"after number", `{after: "2024-06-03T08:30:00Z"}`, 5, false},
		{"equals time", `"2024-06-03T08:30:00Z"`, start, true},
		// field: select a list element by several of its fields (a GPO link that is
		// there but disabled must not count)
		{"field equals", `{field: enabled, equals: true}`, map[string]any{"enabled": true}, true},
		{"field mismatch", `{field: enabled, equals: true}`, map[string]any{"enabled": false}, false},
		{"field absent", `{field: enabled, equals: true}`, map[string]any{"name": "x"}, false},
		{"field absent exists false", `{field: enabled, exists: false}`, map[string]any{"name": "x"}, true},
		{"field of a non-object", `{field: enabled, equals: true}`, []any{true}, false},
		{"field several matchers", `{field: name, has_prefix: Fond, len: {lt: 20}}`, map[string]any{"name": "Fond Paris"}, true},
		{"element by fields: disabled link", `{count: {where: {all: [{field: name, equals: Paris}, {field: enabled, equals: true}]}}}`,
			[]any{map[string]any{"name": "Paris", "enabled": false}, map[string]any{"name": "Lyon", "enabled": true}}, false},
		{"element by fields: enabled link", `{count: {where: {all: [{field: name, equals: Paris}, {field: enabled, equals: true}]}}}`,
			[]any{map[string]any{"name": "Lyon", "enabled": false}, map[string]any{"name": "Paris", "enabled": true}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, diags := compileYAML(t, tt.matcher)
			if diags != nil {
				t.Fatalf("compile %s: %v", tt.matcher, diags)
			}
			r := m.Match(tt.actual)
			if r.OK != tt.ok {
				t.Fatalf("%s on %#v: ok=%v, want %v (%+v)", tt.matcher, tt.actual, r.OK, tt.ok, r)
			}
			if r.Expected == "" || r.Actual == "" {
				t.Errorf("empty Expected/Actual: %+v", r)
			}
			if r.OK != (r.Message == "") {
				t.Errorf("OK=%v with message %q", r.OK, r.Message)
			}
		})
	}
}

func TestResultText(t *testing.T) {
	tests := []struct {
		matcher string
		actual  any
		want    Result
	}{
		{`3`, "3", Result{Actual: `"3"`, Expected: "égal à 3", Message: "valeur différente (chaîne obtenu, nombre attendu)"}},
		{`{contains: Lyon}`, "OU=Paris", Result{Actual: `"OU=Paris"`, Expected: `contient "Lyon"`, Message: `"Lyon" absent du texte`}},
		{`{gte: 2}`, 1.0, Result{Actual: `1`, Expected: `≥ 2`, Message: "nombre hors limite"}},
		{`{gte: 1, lte: 5}`, 7, Result{Actual: `7`, Expected: `tous : [≥ 1 ; ≤ 5]`, Message: "≤ 5 : nombre hors limite"}},
		{`{count: {where: {has_prefix: "OU="}, min: 2}}`, []any{"OU=a", "CN=b"}, Result{Actual: `["OU=a", "CN=b"]`, Expected: `nombre d'éléments (commence par "OU=") au moins 2`, Message: "1 élément(s) sur 2 correspondent", Found: "1"}},
		{`{exists: true}`, Absent, Result{Actual: "(absent)", Expected: "présent", Message: "champ absent de l'observation"}},
		{`{has_suffix: x}`, Absent, Result{Actual: "(absent)", Expected: `finit par "x"`, Message: "champ absent de l'observation"}},
		{`{each: {gt: 0}}`, []any{1, -1}, Result{Actual: `[1, -1]`, Expected: `chaque élément : > 0`, Message: "élément 1 (-1) : nombre hors limite"}},
		{`{after: "2024-06-03T08:30:00Z"}`, "20240602093000.0Z", Result{Actual: `"20240602093000.0Z"`, Expected: `après 2024-06-03T08:30:00Z`, Message: "date trop ancienne"}},
		{`{len: {gte: 2}}`, []any{"a"}, Result{Actual: `["a"]`, Expected: `longueur ≥ 2`, Message: "longueur 1"}},
		{`{equals: {b: 1, a: [x]}}`, map[string]any{"a": []any{"y"}, "b": 1}, Result{Actual: `{a: ["y"], b: 1}`, Expected: `égal à {a: ["x"], b: 1}`, Message: "valeur différente"}},
		{`{matches: '^a$'}`, "b", Result{Actual: `"b"`, Expected: `correspond à /^a$/`, Message: "le texte ne correspond pas à l'expression"}},
	}
	for _, tt := range tests {
		m, diags := compileYAML(t, tt.matcher)
		if diags != nil {
			t.Fatalf("compile %s: %v", tt.matcher, diags)
		}
		if got := m.Match(tt.actual); got != tt.want {
			t.Errorf("%s on %#v:\n got %+v\nwant %+v", tt.matcher, tt.actual, got, tt.want)
		}
	}
}

func TestFormatTruncates(t *testing.T) {
	s := Format(strings.Repeat("a", 1000))
	if !strings.HasSuffix(s, "… (1002 caractères)") || len([]rune(s)) > 300 {
		t.Fatalf("Format = %q", s)
	}
}

func TestCompileDiagnostics(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{`{containz: x}`, []string{`m.yaml:1:2: expect.f.containz: unknown matcher "containz" (did you mean "contains"?; valid: ` + strings.Join(Names(), ", ") + ")"}},
		{`{frobnicate: x}`, []string{`m.yaml:1:2: expect.f.frobnicate: unknown matcher "frobnicate" (valid: ` + strings.Join(Names(), ", ") + ")"}},
		{`{}`, []string{`m.yaml:1:1: expect.f: empty matcher: name one of ` + strings.Join(Names(), ", ")}},
		{`{gte: abc}`, []string{`m.yaml:1:7: expect.f.gte: expected a number`}},
		{`{matches: "a("}`, []string{"m.yaml:1:11: expect.f.matches: invalid regular expression: missing closing ): `a(`"}},
		{`{one_of: x}`, []string{`m.yaml:1:10: expect.f.one_of: expected a non-empty list of values`}},
		{`{all: []}`, []string{`m.yaml:1:7: expect.f.all: expected a non-empty list of matchers`}},
		{`{any: [{gt: x}, {nope: 1}]}`, []string{
			`m.yaml:1:13: expect.f.any[0].gt: expected a number`,
			`m.yaml:1:18: expect.f.any[1].nope: unknown matcher "nope" (did you mean "not"?; valid: ` + strings.Join(Names(), ", ") + ")",
		}},
		{`{count: {min: -1, wher: x}}`, []string{
			`m.yaml:1:15: expect.f.count.min: expected a non-negative integer`,
			`m.yaml:1:19: expect.f.count.wher: unknown key (valid: is, max, min, where)`,
		}},
		{`{count: {min: 3, max: 1}}`, []string{`m.yaml:1:9: expect.f.count: min 3 is greater than max 1`}},
		{`{count: 3}`, []string{`m.yaml:1:9: expect.f.count: expected a mapping with where, min, max or is`}},
		{`{after: yesterday}`, []string{`m.yaml:1:9: expect.f.after: expected an RFC 3339 timestamp such as 2024-06-03T08:30:00+02:00, got "yesterday"`}},
		{`{exists: yes please}`, []string{`m.yaml:1:10: expect.f.exists: expected true or false`}},
		{`{has_prefix: [a]}`, []string{`m.yaml:1:14: expect.f.has_prefix: expected a string`}},
		{`{gt: 1, gt: 2}`, []string{`m.yaml:1:9: expect.f.gt: duplicate matcher (first at line 1)`}},
		{`{version_gte: ""}`, []string{`m.yaml:1:15: expect.f.version_gte: expected a version such as 10.0.19045`}},
		{`{field: enabled}`, []string{`m.yaml:1:1: expect.f: field "enabled" needs a matcher beside it (e.g. {field: enabled, equals: true})`}},
		{`{field: [a], equals: 1}`, []string{`m.yaml:1:9: expect.f.field: expected a field name`}},
		{`{field: a, field: b, equals: 1}`, []string{`m.yaml:1:12: expect.f.field: duplicate matcher (first at line 1)`}},
		{`{field: a, equalz: 1}`, []string{`m.yaml:1:12: expect.f.a.equalz: unknown matcher "equalz" (did you mean "equals"?; valid: ` + strings.Join(Names(), ", ") + ")"}},
		{`{not: {len: {}}}`, []string{`m.yaml:1:13: expect.f.not.len: empty matcher: name one of ` + strings.Join(Names(), ", ")}},
	}
	for _, tt := range tests {
		m, diags := compileYAML(t, tt.src)
		var got []string
		for _, d := range diags {
			got = append(got, d.Error())
		}
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tt.src, got, tt.want)
		}
		if r := m.Match("x"); r.OK {
			t.Errorf("%s: invalid matcher matched", tt.src)
		}
	}
}

func TestAliases(t *testing.T) {
	src := "a: &m {gte: 2}\nb: {all: [*m, {lt: 5}]}\n"
	n, _ := yamlx.Parse("m.yaml", []byte(src))
	d := yamlx.NewDecoder("m.yaml")
	m := Compile(d, n.Content[3], "b")
	if d.Diags != nil {
		t.Fatal(d.Diags)
	}
	if !m.Match(3).OK || m.Match(1).OK {
		t.Fatal("alias matcher wrong")
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"10.0.19045", "10.0.19045", 0},
		{"10.0", "10.0.0", 0},
		{"v1.2.3", "1.2.3", 0},
		{"1.10", "1.9", 1},
		{"2.0.0-rc1", "2.0.0", 1},
		{"7.4.1", "7.4", 1},
		{"5.15.0-91-generic", "5.15.0-100-generic", -1},
	}
	for _, tt := range tests {
		if got := compareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 1, 5, 10, 15, 0, 0, time.UTC)
	for _, s := range []string{
		"2024-01-05T10:15:00Z", "2024-01-05T11:15:00+01:00", "20240105101500.0Z",
		"20240105101500Z", "/Date(1704449700000)/", "/Date(1704449700000+0100)/", "2024-01-05 10:15:00",
	} {
		got, ok := parseTime(s)
		if !ok || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "/Date(x)/", "/Date(12", "demain"} {
		if _, ok := parseTime(s); ok {
			t.Errorf("parseTime(%q) ok", s)
		}
	}
}
