package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

const clear = "Hunter2-Clair!"

// holder is how secrets travel: a field of a config or credentials struct.
type holder struct {
	User     string
	Password Value
	Ptr      *Value
}

// TestValueMaskedByEveryVerb formats a Value, a pointer to one and a struct
// holding both with every fmt verb, flags and widths: the clear text never
// shows, and the string verbs show the mask.
func TestValueMaskedByEveryVerb(t *testing.T) {
	v := New(clear)
	args := map[string]any{"value": v, "pointer": &v, "struct": holder{"alice", v, &v}, "struct pointer": &holder{"alice", v, &v}}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%#q", "%x", "%X", "% x", "%d", "%t", "%o", "%O", "%b", "%c", "%U", "%e", "%f", "%g", "%p", "%T", "%10s", "%-10v", "%.2s", "%!"}
	for name, arg := range args {
		for _, verb := range verbs {
			got := fmt.Sprintf(verb, arg)
			if strings.Contains(got, clear) || strings.Contains(got, fmt.Sprintf("%x", clear)) || strings.Contains(got, "Hunter") {
				t.Errorf("%s of a %s shows the secret: %s", verb, name, got)
			}
		}
	}
	for _, tc := range []struct{ format, want string }{
		{"%v", Mask}, {"%s", Mask}, {"%+v", Mask}, {"%q", `"****"`}, {"%#v", `secret.Value("****")`},
		{"%d", Mask}, {"%t", Mask}, {"%6s|", "  ****|"}, {"%-6v|", "****  |"}, {"%x", "2a2a2a2a"},
	} {
		if got := fmt.Sprintf(tc.format, v); got != tc.want {
			t.Errorf("Sprintf(%q) = %q, want %q", tc.format, got, tc.want)
		}
	}
	if got := fmt.Sprintf("%+v", holder{"alice", v, &v}); !strings.HasPrefix(got, "{User:alice Password:**** Ptr:") {
		t.Errorf("%%+v of a struct = %q", got)
	}
	// Print, Println and the empty secret.
	if got := fmt.Sprint(v, " ", New("")) + fmt.Sprintln(v); got != "**** ****\n" {
		t.Errorf("Sprint/Sprintln = %q", got)
	}
	if v.Reveal() != clear || New("").Reveal() != "" || (Value{}).Reveal() != "" {
		t.Errorf("Reveal does not give the clear text back")
	}
	if !New("").IsZero() || !(Value{}).IsZero() || v.IsZero() {
		t.Errorf("IsZero: New(\"\") %v, Value{} %v, New(clear) %v", New("").IsZero(), (Value{}).IsZero(), v.IsZero())
	}
}

func TestValueMaskedByEncoders(t *testing.T) {
	v := New(clear)
	h := holder{User: "alice", Password: v, Ptr: &v}
	m := map[string]Value{"admin": v, "empty": {}}
	for _, tc := range []struct {
		name   string
		encode func() ([]byte, error)
		want   string
	}{
		{"json value", func() ([]byte, error) { return json.Marshal(v) }, `"****"`},
		{"json struct", func() ([]byte, error) { return json.Marshal(h) }, `{"User":"alice","Password":"****","Ptr":"****"}`},
		{"json map", func() ([]byte, error) { return json.Marshal(m) }, `{"admin":"****","empty":""}`},
		{"json indent", func() ([]byte, error) { return json.MarshalIndent(h, "", " ") }, "\"Password\": \"****\""},
		{"yaml struct", func() ([]byte, error) { return yaml.Marshal(h) }, "user: alice\npassword: '****'\nptr: '****'\n"},
		{"yaml map", func() ([]byte, error) { return yaml.Marshal(m) }, "admin: '****'\nempty: \"\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.encode()
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("Hunter")) || !strings.Contains(string(b), tc.want) {
				t.Errorf("got %s, want it to contain %s", b, tc.want)
			}
		})
	}
}

func TestValueMaskedInSlog(t *testing.T) {
	v := New(clear)
	for _, tc := range []struct {
		name    string
		handler func(io.Writer) slog.Handler
		want    []string
	}{
		{"text", func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }, []string{"pw=****", "creds.Password=****", "any=****"}},
		{"json", func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) }, []string{`"pw":"****"`, `"Password":"****"`, `"any":"****"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(tc.handler(&buf))
			log.Info("bind", "pw", v, slog.Group("creds", "Password", v), slog.Any("any", v), "struct", holder{"alice", v, &v})
			log.With("pw", v).Warn("retry", "err", fmt.Errorf("bind as alice with %v: %w", v, io.EOF))
			got := buf.String()
			if strings.Contains(got, "Hunter") {
				t.Fatalf("slog shows the secret:\n%s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %s:\n%s", w, got)
				}
			}
		})
	}
}

func TestValueMaskedInErrors(t *testing.T) {
	v := New(clear)
	base := errors.New("invalid credentials")
	for _, err := range []error{
		fmt.Errorf("bind as %s with %v: %w", "alice", v, base),
		fmt.Errorf("bind with %q: %w", v, base),
		fmt.Errorf("bind with %d: %w", v, base),
		fmt.Errorf("login %+v: %w", holder{"alice", v, &v}, base),
		fmt.Errorf("outer: %w", fmt.Errorf("inner %s: %w", &v, base)),
		errors.Join(base, fmt.Errorf("%v", v)),
	} {
		if strings.Contains(err.Error(), "Hunter") || !strings.Contains(err.Error(), Mask) {
			t.Errorf("error shows the secret or no mask: %s", err)
		}
		if !errors.Is(err, base) {
			t.Errorf("the wrapped error is lost: %s", err)
		}
	}
}

func TestMasker(t *testing.T) {
	m := &Masker{}
	m.Add("", "ab", "abc", "P@ss", "P@ssw0rd-long", "multi\nline")
	for _, tc := range []struct{ in, want string }{
		{"no secret here", "no secret here"},
		{"ab is too short to mask", "ab is too short to mask"},
		{"abc at 3 characters is", "**** at 3 characters is"},
		{"login P@ssw0rd-long failed", "login **** failed"}, // longest first: masked whole
		{"P@ss P@ss", "**** ****"},
		{"out: multi\nline\n", "out: ****\n"},
	} {
		if got := m.Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var nilMasker *Masker
	if got := nilMasker.Mask("P@ss"); got != "P@ss" {
		t.Errorf("a nil Masker changes text: %q", got)
	}
}

// TestMaskerConcurrent adds and masks from several goroutines (run it with
// -race: scripts/test.sh does).
func TestMaskerConcurrent(t *testing.T) {
	m := &Masker{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); m.Add(fmt.Sprintf("secret-%d", i)) }()
		go func() { defer wg.Done(); _ = m.Mask("secret-1 secret-2") }()
	}
	wg.Wait()
	if got := m.Mask("secret-0 secret-7"); got != "**** ****" {
		t.Errorf("after concurrent Adds: %q", got)
	}
}
