package winrm

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/yamlx"
)

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // diagnostics, in order
	}{
		{"ok", "script: |\n  Get-CimInstance Win32_OperatingSystem |\n    Select-Object Caption\ntimeout: 5s\ndepth: 3\n", nil},
		{"missing script", "timeout: 5s\n", []string{"s.yaml:3:5: checks[0].probe.script: missing script"}},
		{"blank script", "script: '  '\n", []string{"checks[0].probe.script: missing script"}},
		{"bad timeout", "script: x\ntimeout: bientôt\n", []string{"s.yaml:2:10: checks[0].probe.timeout: expected a duration"}},
		{"bad depth", "script: x\ndepth: 50\n", []string{"s.yaml:2:8: checks[0].probe.depth: depth must be between 1 and 20"}},
		{"typo", "scirpt: x\n", []string{"s.yaml:1:1: checks[0].probe.scirpt: unknown field (did you mean \"script\"?)", "missing script"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, diags := yamlx.Parse("s.yaml", []byte(tc.yaml))
			if diags != nil {
				t.Fatal(diags)
			}
			d := yamlx.NewDecoder("s.yaml")
			p := New().NewParams()
			d.Decode(n, p, "checks[0].probe")
			p.Validate(d, yamlx.Pos{File: "s.yaml", Line: 3, Column: 5}, "checks[0].probe")
			if len(d.Diags) != len(tc.want) {
				t.Fatalf("diagnostics %v, want %d", d.Diags, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(d.Diags[i].Error(), w) {
					t.Errorf("diag %d = %q, want it to contain %q", i, d.Diags[i].Error(), w)
				}
			}
		})
	}
}

// The program must survive powershell.exe's stdin REPL and any console code
// page: one statement, no empty line inside, an empty line after, ASCII only.
func TestProgramShape(t *testing.T) {
	scripts := []string{
		"function Test-Foo\n{\n  'é'\n}\n\nTest-Foo\n",
		"@'\nhere-string avec « guillemets » et 'apostrophes'\n'@",
		"if ($true)\n{\n  1\n}\nelse\n{\n  2\n}",
		"'🎓'",
	}
	jobs := make([]job, len(scripts))
	for i, s := range scripts {
		jobs[i] = job{id: []string{"a", "b'c", `d"e\f`, "élève_🎓"}[i], script: s, timeout: 1000, depth: 2}
	}
	prog := buildProgram("0123456789abcdef", jobs)
	if !isASCII(prog) {
		t.Fatal("program is not ASCII")
	}
	if !strings.HasPrefix(prog, "& {\r\n") || !strings.HasSuffix(prog, "\r\n}\r\n\r\n") {
		t.Fatalf("program is not one statement followed by an empty line:\n%s", prog)
	}
	body := strings.TrimSuffix(prog, "\r\n")
	for i, line := range strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n") {
		if strings.TrimSpace(line) == "" {
			t.Fatalf("empty line %d inside the statement", i+1)
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("stray CR or LF in line %d", i+1)
		}
	}
	if strings.Count(prog, "{") != strings.Count(prog, "}") {
		t.Error("unbalanced braces")
	}
	// Each check comes back intact.
	got := checkLine.FindAllStringSubmatch(prog, -1)
	if len(got) != len(jobs) {
		t.Fatalf("%d check lines, want %d", len(got), len(jobs))
	}
	for i, m := range got {
		var id string
		if err := json.Unmarshal([]byte(strings.ReplaceAll(m[1], "''", "'")), &id); err != nil || id != jobs[i].id {
			t.Errorf("id %d: %q %v", i, id, err)
		}
		src, _ := base64.StdEncoding.DecodeString(m[4])
		if string(src) != jobs[i].script {
			t.Errorf("script %d altered: %q", i, src)
		}
	}
	begin, end := Markers("0123456789abcdef")
	if !strings.Contains(prog, begin) || !strings.Contains(prog, end) {
		t.Error("markers missing")
	}
}

func TestJSONASCII(t *testing.T) {
	for in, want := range map[string]string{
		"abc":       `"abc"`,
		`q"b\`:      `"q\"b\\"`,
		"é\n":       `"\u00e9\u000a"`,
		"🎓":         `"\ud83c\udf93"`,
		"tab\there": `"tab\u0009here"`,
	} {
		got := jsonASCII(in)
		if got != want {
			t.Errorf("jsonASCII(%q) = %s, want %s", in, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil || back != in {
			t.Errorf("%s does not decode back to %q: %q %v", got, in, back, err)
		}
	}
}

func TestValues(t *testing.T) {
	v, err := decodeValue(json.RawMessage(`{"Name":"PC01","ok":"own","Count":3,"Ratio":0.5,"When":"\/Date(0)\/","Big":12345678901234,"L":[1,"\/Date(1714638600000)\/"]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := values(v)
	want := map[string]any{
		"ok": true, "Name": "PC01", "Count": int64(3), "Ratio": 0.5, "When": "1970-01-01T00:00:00Z",
		"Big": int64(12345678901234), "L": []any{int64(1), "2024-05-02T08:30:00Z"},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if got["value"].(map[string]any)["ok"] != "own" {
		t.Error("an object's own reserved key must stay under value")
	}
	for _, raw := range []string{`null`, ``, `"x"`, `[1,2]`, `true`} {
		v, err := decodeValue(json.RawMessage(raw))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if vals := values(v); len(vals) != 2 {
			t.Errorf("%s: scalar values merged: %#v", raw, vals)
		}
	}
}

func TestExtractDocument(t *testing.T) {
	begin, end := Markers("00aa")
	out := "bruit avant\r\n" + begin + "\r\n{\"a\":{\"ok\":true,\"value\":\"" + end + " dans une valeur\"}}\r\n" + end + "\r\nbruit après"
	doc, noise, err := extractDocument([]byte(out), "00aa")
	if err != nil || len(doc) != 1 || noise != "bruit avant\r\n\r\nbruit après" {
		t.Fatalf("%v %q %v", doc, noise, err)
	}
	if _, _, err := extractDocument([]byte(begin+"\r\n{"), "00aa"); err == nil {
		t.Error("a truncated document was accepted")
	}
	if _, _, err := extractDocument([]byte("rien"), "00aa"); err == nil {
		t.Error("no document was accepted")
	}
}
