package checks

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/yamlx"
	"gopkg.in/yaml.v3"
)

// TemplateData is what `{{ ... }}` in a suite's probe parameters and
// expectations can use, per candidate: {{ .Candidate.ID }}, {{ .Params.ou }},
// {{ .Session.StartedAt }}, {{ .Machine.Address }}, {{ (index .Machines "dc").Address }}.
type TemplateData struct {
	Candidate TemplateCandidate
	// Params are the candidate's lab parameters (randomised names, addresses...).
	// A missing key is an error when the template is rendered.
	Params  map[string]any
	Session TemplateSession
	// Machine is the machine the check is about; From is the vantage machine the
	// probe connects to (the same as Machine when the check has no `from`).
	Machine  TemplateMachine
	From     TemplateMachine
	Machines map[string]TemplateMachine

	revealed []string // secrets revealed by the template, masked in evidence
}

// TemplateCandidate is the candidate being graded.
type TemplateCandidate struct{ ID, LastName, FirstName string }

// TemplateSession is the exam session.
type TemplateSession struct {
	ID  string
	Lab string
	// StartedAt is the exam start in RFC 3339 (UTC), for `after:` matchers on
	// creation times: objects created before it were not made by the candidate.
	StartedAt string
}

// TemplateMachine is one machine of the candidate's lab.
type TemplateMachine struct{ Name, Address string }

// Reveal returns the clear text of a secret parameter ({{ .Reveal .Params.password }})
// for a probe that must present it; the runner then masks it in the evidence.
// Other values are returned as text.
func (t *TemplateData) Reveal(v any) string {
	if s, ok := v.(secret.Value); ok {
		t.revealed = append(t.revealed, s.Reveal())
		return s.Reveal()
	}
	return fmt.Sprint(v)
}

// templateFuncs are the functions templates may call (see docs/suites.md).
var templateFuncs = template.FuncMap{
	"lower":      strings.ToLower,
	"upper":      strings.ToUpper,
	"trim":       strings.TrimSpace,
	"replace":    func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
	"join":       func(sep string, v any) string { return strings.Join(toStrings(v), sep) },
	"default":    defaultValue,
	"psquote":    func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" },
	"shquote":    func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" },
	"ldapescape": ldapEscape,
	"dnescape":   dnEscape,
}

func toStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = fmt.Sprint(e)
		}
		return out
	case nil:
		return nil
	}
	return []string{fmt.Sprint(v)}
}

func defaultValue(def, v any) any {
	if v == nil {
		return def
	}
	if s, ok := v.(string); ok && s == "" {
		return def
	}
	return v
}

// ldapEscape escapes a value for an LDAP search filter (RFC 4515).
func ldapEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '(', ')', '\\', 0:
			fmt.Fprintf(&b, `\%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// dnEscape escapes an attribute value for a distinguished name (RFC 4514).
func dnEscape(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune(`,+"\<>;=`, r),
			r == '#' && i == 0,
			r == ' ' && (i == 0 || i == len(s)-1):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// templates holds the parsed templates of a check, by the scalar node they sit in.
type templates map[*yaml.Node]*template.Template

// maxRendered bounds the text one template may produce.
const maxRendered = 1 << 16

// scan parses every scalar of n holding "{{", reporting syntax errors and
// references to unknown data fields; it reports whether n holds a template.
func (ts templates) scan(d *yamlx.Decoder, n *yaml.Node, field string) bool {
	n = resolveAlias(n)
	if n == nil {
		return false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "{{") {
			return false
		}
		if _, done := ts[n]; done {
			return true
		}
		t, err := template.New(field).Funcs(templateFuncs).Option("missingkey=error").Parse(n.Value)
		if err != nil {
			d.Errorf(n, field, "invalid template: %s", cleanTemplateErr(err, field))
			return true
		}
		if err := checkFields(t); err != nil {
			d.Errorf(n, field, "invalid template: %s", err)
			return true
		}
		ts[n] = t
		return true
	case yaml.MappingNode:
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolveAlias(n.Content[i])
			if ts.scan(d, n.Content[i+1], field+"."+k.Value) {
				found = true
			}
		}
		return found
	case yaml.SequenceNode:
		found := false
		for i, c := range n.Content {
			if ts.scan(d, c, fmt.Sprintf("%s[%d]", field, i)) {
				found = true
			}
		}
		return found
	}
	return false
}

var templateLineRe = regexp.MustCompile(`^(\d+)(?::\d+)?: `)

var unknownFieldRe = regexp.MustCompile(`can't evaluate field (\w+) in type \*?checks\.(\w+)`)

// checkFields executes t against empty data to catch misspelt fields
// ({{ .Candidat.ID }}); other errors depend on the candidate and wait.
func checkFields(t *template.Template) error {
	c, err := t.Clone()
	if err != nil {
		return err
	}
	err = c.Option("missingkey=zero").Execute(&limitedBuffer{}, &TemplateData{})
	if err == nil {
		return nil
	}
	m := unknownFieldRe.FindStringSubmatch(err.Error())
	if m == nil {
		return nil
	}
	valid := "Candidate, From, Machine, Machines, Params, Reveal, Session"
	switch m[2] {
	case "TemplateCandidate":
		valid = "ID, LastName, FirstName"
	case "TemplateSession":
		valid = "ID, Lab, StartedAt"
	case "TemplateMachine":
		valid = "Name, Address"
	}
	return fmt.Errorf("unknown field %s (valid: %s)", m[1], valid)
}

// cleanTemplateErr drops text/template's "template: name:" prefix.
func cleanTemplateErr(err error, name string) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "template: ")
	s = strings.TrimPrefix(s, name+":")
	if i := strings.Index(s, `executing "`+name+`" `); i >= 0 {
		s = s[i+len(`executing "`+name+`" `):]
	}
	if m := templateLineRe.FindStringSubmatch(s); m != nil {
		s = "line " + m[1] + " of the value: " + s[len(m[0]):]
	}
	return strings.TrimSpace(s)
}

// filter drops diagnostics reported at a template's position: the loader decodes
// templated nodes as written, and only the rendered values can be judged.
func (ts templates) filter(diags yamlx.Diagnostics) yamlx.Diagnostics {
	at := map[[2]int]bool{}
	for n := range ts {
		at[[2]int{n.Line, n.Column}] = true
	}
	var out yamlx.Diagnostics
	for _, d := range diags {
		if !at[[2]int{d.Pos.Line, d.Pos.Column}] {
			out = append(out, d)
		}
	}
	return out
}

// render returns a copy of n with its templates executed for data. A rendered
// scalar that reads as a number or boolean becomes one (so `port: "{{ .Params.port }}"`
// decodes into an integer), unless the value was tagged !!str.
func (ts templates) render(d *yamlx.Decoder, n *yaml.Node, data *TemplateData, field string) *yaml.Node {
	n = resolveAlias(n)
	if n == nil {
		return nil
	}
	out := *n
	out.Anchor = ""
	switch n.Kind {
	case yaml.ScalarNode:
		t, ok := ts[n]
		if !ok {
			return &out
		}
		var buf limitedBuffer
		if err := t.Execute(&buf, data); err != nil {
			d.Errorf(n, field, "template: %s", cleanTemplateErr(err, t.Name()))
			return &out
		}
		out.Value = buf.String()
		if n.Style&yaml.TaggedStyle == 0 {
			probe := yaml.Node{Kind: yaml.ScalarNode, Value: out.Value}
			switch tag := probe.ShortTag(); tag {
			case "!!int", "!!float", "!!bool":
				out.Tag, out.Style = tag, 0
			default:
				out.Tag = "!!str"
			}
		}
		return &out
	case yaml.MappingNode:
		out.Content = make([]*yaml.Node, len(n.Content))
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolveAlias(n.Content[i])
			out.Content[i] = ts.render(d, k, data, field)
			out.Content[i+1] = ts.render(d, n.Content[i+1], data, field+"."+k.Value)
		}
		return &out
	case yaml.SequenceNode:
		out.Content = make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			out.Content[i] = ts.render(d, c, data, fmt.Sprintf("%s[%d]", field, i))
		}
		return &out
	}
	return &out
}

// limitedBuffer stops a template producing more than maxRendered bytes.
type limitedBuffer struct{ bytes.Buffer }

var errTooLong = errors.New("rendered value too long")

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxRendered {
		return 0, errTooLong
	}
	return b.Buffer.Write(p)
}
