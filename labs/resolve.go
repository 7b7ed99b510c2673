package labs

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/tailab/tailab/internal/person"
	"github.com/tailab/tailab/internal/yamlx"
)

// Candidate is one candidate of a session.
type Candidate struct {
	ID        string `json:"id"`
	LastName  string `json:"last_name,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	Email     string `json:"email,omitempty"`
	// Seat is the exam-room seat (poste) the roster gives.
	Seat string `json:"seat,omitempty"`
	// Index is the candidate's 1-based number in the session (roster order).
	Index int `json:"index"`
}

// FullName is the candidate's name as every paper writes it: "NOM Prénom".
func (c Candidate) FullName() string { return person.FullName(c.LastName, c.FirstName) }

// ResolveInput identifies the instance to resolve.
type ResolveInput struct {
	Session   string
	Candidate Candidate
}

// Instance is one candidate's copy of a lab: parameters drawn, templates rendered,
// validated.
type Instance struct {
	Lab       *Lab           `json:"-"`
	Session   string         `json:"session"`
	Candidate Candidate      `json:"candidate"`
	Params    map[string]any `json:"params"`
	Networks  []Network      `json:"networks"`
	Machines  []Machine      `json:"machines"`
}

// Machine returns the instance's machine of that name.
func (in *Instance) Machine(name string) (*Machine, bool) {
	for i := range in.Machines {
		if in.Machines[i].Name == name {
			return &in.Machines[i], true
		}
	}
	return nil, false
}

// Network returns the instance's network of that name.
func (in *Instance) Network(name string) (*Network, bool) {
	for i := range in.Networks {
		if in.Networks[i].Name == name {
			return &in.Networks[i], true
		}
	}
	return nil, false
}

// TemplateData is what templates in lab files see.
type TemplateData struct {
	Params    map[string]any
	Candidate Candidate
	Session   string
	Lab       string
	// Index is the candidate's 1-based number (also Candidate.Index).
	Index int
}

// Funcs are the functions templates in lab and suite files may call.
var Funcs = template.FuncMap{
	"add":   func(a, b int) int { return a + b },
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad":   func(width, n int) string { return fmt.Sprintf("%0*d", width, n) },
}

// Resolve draws the candidate's parameters and renders the lab for them. Errors are
// yamlx.Diagnostics pointing into the lab file.
func (l *Lab) Resolve(in ResolveInput) (*Instance, error) {
	if l.raw == nil {
		return nil, fmt.Errorf("lab %q was not loaded from a file", l.Name)
	}
	d := yamlx.NewDecoder(l.File)
	params := l.drawParams(d, in)
	if len(d.Diags) > 0 {
		return nil, d.Diags.Err()
	}
	data := TemplateData{Params: params, Candidate: in.Candidate, Session: in.Session, Lab: l.Name, Index: in.Candidate.Index}
	rendered := renderNode(d, l.raw, data, "", true)
	var out Lab
	d.Decode(rendered, &out, "")
	out.File, out.Source = l.File, l.Source
	out.validate(d, true)
	if err := d.Diags.Err(); err != nil {
		return nil, err
	}
	return &Instance{Lab: l, Session: in.Session, Candidate: in.Candidate, Params: params,
		Networks: out.Networks, Machines: out.Machines}, nil
}

// seed derives a deterministic random source from the given parts.
func seed(parts ...string) *rand.Rand {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])))
}

// picked is a pick parameter's value for a candidate: drawn seeded by session
// and candidate, or, distinct, by seat: one permutation of the list per
// session, seat position p (SeatPosition) taking its p-th element, so
// neighbours in the room differ while the list lasts (and two seats a list's
// length apart share it), the same at every re-creation.
func (p Parameter) picked(session string, c Candidate, name string) any {
	if p.Distinct {
		perm := seed(session, name).Perm(len(p.Pick))
		return p.Pick[perm[(SeatPosition(c)-1)%len(perm)]]
	}
	return p.Pick[seed(session, c.ID, name).IntN(len(p.Pick))]
}

// PickedParams are the values a candidate draws for the lab's pick
// parameters, as name=value in name order (what `up --dry-run` shows), the
// distinct ones marked "name=value*".
func (l *Lab) PickedParams(session string, c Candidate) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(l.Parameters)) {
		p := l.Parameters[name]
		if p.Value != nil || len(p.Pick) == 0 {
			continue
		}
		s := fmt.Sprintf("%s=%v", name, p.picked(session, c, name))
		if p.Distinct {
			s += "*"
		}
		out = append(out, s)
	}
	return out
}

func (l *Lab) drawParams(d *yamlx.Decoder, in ResolveInput) map[string]any {
	names := make([]string, 0, len(l.Parameters))
	for n := range l.Parameters {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]any, len(names))
	for _, name := range names {
		p := l.Parameters[name]
		field := "parameters." + name
		var v any
		switch {
		case p.Value != nil:
			v = p.Value
		case len(p.Pick) > 0:
			v = p.picked(in.Session, in.Candidate, name)
		case p.Template != "":
			s, err := render(name, p.Template, TemplateData{Candidate: in.Candidate, Session: in.Session, Lab: l.Name, Index: in.Candidate.Index})
			if err != nil {
				d.Diags.Add(p.At.Of("template", p.Pos), field+".template", "%v", err)
				continue
			}
			v = s
		}
		tv, err := typed(p.Type, v)
		if err != nil {
			d.Diags.Add(p.Pos, field, "value %v for candidate %s: %v", v, in.Candidate.ID, err)
			continue
		}
		out[name] = tv
	}
	return out
}

// typed converts a drawn value to the parameter's type.
func typed(typ string, v any) (any, error) {
	s := fmt.Sprint(v)
	switch typ {
	case "", "string":
		return s, nil
	case "int":
		i, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("not an integer")
		}
		return i, nil
	case "bool":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("not true or false")
		}
		return b, nil
	case "ip":
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("not an IP address")
		}
		return a.String(), nil
	case "cidr":
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("not a network in CIDR notation")
		}
		return p.String(), nil
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

func render(name, text string, data any) (string, error) {
	t, err := template.New(name).Funcs(Funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("template: %v", strings.TrimPrefix(err.Error(), "template: "))
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("template: %v", strings.TrimPrefix(err.Error(), "template: "))
	}
	return b.String(), nil
}

// renderNode returns a copy of n with templates in scalar values rendered. At the
// top level the parameters and secrets sections are left as written.
func renderNode(d *yamlx.Decoder, n *yaml.Node, data TemplateData, field string, top bool) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	switch n.Kind {
	case yaml.ScalarNode:
		if templated(n.Value) {
			s, err := render(field, n.Value, data)
			if err != nil {
				d.Errorf(n, field, "%v", err)
				return &c
			}
			c.Value = s
			if n.Style == 0 {
				c.Tag = "" // let the rendered text resolve to int/bool/string again
			}
		}
	case yaml.MappingNode:
		c.Content = make([]*yaml.Node, len(n.Content))
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			c.Content[i] = k
			if top && (k.Value == "parameters" || k.Value == "secrets") {
				c.Content[i+1] = v
				continue
			}
			c.Content[i+1] = renderNode(d, v, data, joinField(field, k.Value), false)
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, v := range n.Content {
			c.Content[i] = renderNode(d, v, data, fmt.Sprintf("%s[%d]", field, i), false)
		}
	case yaml.AliasNode:
		c.Alias = renderNode(d, n.Alias, data, field, false)
	}
	return &c
}

func joinField(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}
