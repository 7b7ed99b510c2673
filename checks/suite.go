// Package checks grades a lab: it loads check suites (YAML files mapping checks
// to the competences of the title), runs their probes against every candidate's
// machines in batches (one connection per machine and protocol), applies the
// expectations, and scores each competence and CCP into a Report.
//
// The pieces: LoadSuite (suite.go) validates a file strictly with file:line:col
// diagnostics; Runner.Run (runner.go) observes and judges; Score (score.go) turns
// results into competence and CCP scores. docs/suites.md and docs/scoring.md
// describe the file format and the scoring rules.
package checks

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/tailab/tailab/checks/match"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/internal/userfile"
	"github.com/tailab/tailab/internal/yamlx"
	"gopkg.in/yaml.v3"
)

// Suite is a loaded, validated check-suite file.
type Suite struct {
	File        string // path as given to LoadSuite, used in diagnostics
	Name        string // `name`, or the file's base name without extension
	Referential string // version of the referential the suite grades against
	Description string
	Checks      []*Check   // in file order: results keep this order
	Jury        []JuryItem // criteria left to the jury
	// When, set, is a condition of every check and jury item of the suite (on
	// top of their own): the suite applies only to candidates who drew one of
	// its faults.
	When *When
}

// Check is one machine-verifiable criterion of a suite.
type Check struct {
	ID         string
	Title      string // French, as the jury reads it
	Competence string // id in the referential, e.g. C2.2
	Machine    string // machine the check is about
	From       string // vantage machine the probe connects to; "" means Machine
	Probe      string // probe type
	// As names the identity of the vantage machine the probe presents
	// (`as: pdurand`: the machine's credentials named pdurand for the probe's
	// transport); "" is the transport's default credentials.
	As       string
	Points   float64
	Critical bool
	// Exclusive: the check runs alone within its machine's batch (a probe
	// that runs a machine's checks at once, ssh, runs the others before or
	// after it), e.g. a check that restarts a service.
	Exclusive bool
	DependsOn []string
	Retry     Retry
	Timeout   time.Duration // 0: the runner's default
	// When, set, restricts the check to the candidates who drew one of its
	// faults; for the others it is not applicable (StatusNA).
	When *When
	Pos  yamlx.Pos // position of the check in its file

	file        string
	field       string          // "checks[3]": the check's path in diagnostics
	at          yamlx.Positions // positions of the check's values, by key
	paramsNode  *yaml.Node      // the probe mapping without its `type` key
	paramsField string          // path of paramsNode in diagnostics
	params      probe.Params    // decoded at load time when paramsNode has no template
	expect      []expectation
	tmpl        templates // templates of paramsNode and expect nodes, by node
	templated   bool      // paramsNode holds a template
}

// Retry is a check's retry policy: up to Attempts observations in all, Interval
// apart, while the check fails or errs.
type Retry struct {
	Attempts int           `yaml:"attempts"`
	Interval time.Duration `yaml:"interval"`
}

// DefaultRetryInterval is the pause between attempts when `retry` names none.
const DefaultRetryInterval = 5 * time.Second

// MaxAttempts bounds `retry.attempts`.
const MaxAttempts = 20

// JuryItem is a criterion the jury judges (not machine-checkable): it appears in
// the grid with status `jury` and is listed in its competence's score.
type JuryItem struct {
	ID         string
	Competence string
	Title      string // French
	Points     float64
	When       *When // as Check.When: n/a for the candidates without its faults
	Pos        yamlx.Pos
}

// Vantage is the machine the check's probe connects to.
func (c *Check) Vantage() string {
	if c.From != "" {
		return c.From
	}
	return c.Machine
}

// Templated reports whether the check's probe parameters or expectations use
// templates, and so are rendered per candidate.
func (c *Check) Templated() bool {
	if c.templated {
		return true
	}
	for _, e := range c.expect {
		if e.templated {
			return true
		}
	}
	return false
}

// ExpectFields lists the observed fields the check's expectations address, in
// file order.
func (c *Check) ExpectFields() []string {
	out := make([]string, len(c.expect))
	for i, e := range c.expect {
		out[i] = e.field
	}
	return out
}

// rawSuite is the file as decoded, before validation.
type rawSuite struct {
	Name        string     `yaml:"name"`
	Referential string     `yaml:"referential"`
	Description string     `yaml:"description"`
	Checks      []rawCheck `yaml:"checks"`
	Jury        []rawJury  `yaml:"jury"`
	When        *rawWhen   `yaml:"when"`

	Pos yamlx.Pos       `yaml:"-"`
	At  yamlx.Positions `yaml:"-"`
}

type rawCheck struct {
	ID         string        `yaml:"id"`
	Title      string        `yaml:"title"`
	Competence string        `yaml:"competence"`
	Machine    string        `yaml:"machine"`
	From       string        `yaml:"from"`
	As         string        `yaml:"as"`
	Probe      yaml.Node     `yaml:"probe"`
	Expect     yaml.Node     `yaml:"expect"`
	Points     *float64      `yaml:"points"`
	Critical   bool          `yaml:"critical"`
	Exclusive  bool          `yaml:"exclusive"`
	DependsOn  []ref         `yaml:"depends_on"`
	Retry      *Retry        `yaml:"retry"`
	Timeout    time.Duration `yaml:"timeout"`
	When       *rawWhen      `yaml:"when"`

	Pos yamlx.Pos       `yaml:"-"`
	At  yamlx.Positions `yaml:"-"`
}

type rawJury struct {
	ID         string   `yaml:"id"`
	Competence string   `yaml:"competence"`
	Title      string   `yaml:"title"`
	Points     *float64 `yaml:"points"`
	When       *rawWhen `yaml:"when"`

	Pos yamlx.Pos       `yaml:"-"`
	At  yamlx.Positions `yaml:"-"`
}

// ref is a string with its position (an element of depends_on).
type ref struct {
	Value string
	Pos   yamlx.Pos
}

// UnmarshalYAMLX implements yamlx.Unmarshaler.
func (r *ref) UnmarshalYAMLX(d *yamlx.Decoder, n *yaml.Node, field string) {
	r.Pos = d.PosOf(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.Errorf(n, field, "expected a check id")
		return
	}
	r.Value = n.Value
}

var (
	idRe      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	machineRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	// IdentityRe is the syntax of an identity's name (a check's `as`, a key of
	// a machine's named credentials).
	IdentityRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// maxExpandedNodes bounds a suite document once YAML aliases are expanded.
const maxExpandedNodes = 200000

// LoadSuiteFiles loads several suite files, reporting the problems of all of them
// together (yamlx.Diagnostics), and rejects two suites with the same name.
func LoadSuiteFiles(paths []string, reg *probe.Registry, ref *referential.Referential) ([]*Suite, error) {
	var (
		suites []*Suite
		diags  yamlx.Diagnostics
		names  = map[string]string{}
	)
	for _, p := range paths {
		s, err := LoadSuiteFile(p, reg, ref)
		var ds yamlx.Diagnostics
		switch {
		case errors.As(err, &ds):
			diags = append(diags, ds...)
			continue
		case err != nil:
			return nil, err
		}
		if prev, dup := names[s.Name]; dup {
			diags.Add(yamlx.Pos{File: p}, "name", "suite name %q already used by %s", s.Name, prev)
			continue
		}
		names[s.Name] = p
		suites = append(suites, s)
	}
	if err := diags.Err(); err != nil {
		return nil, err
	}
	return suites, nil
}

// CheckMachines reports the checks whose `machine` or `from` is not one of the
// lab's machines, with the position in the suite file: a lab loader or `lint`
// calls it once the lab is known (the runner would otherwise mark those checks
// `error` for every candidate).
func (s *Suite) CheckMachines(machines []string) error {
	known := map[string]bool{}
	for _, m := range machines {
		known[m] = true
	}
	var diags yamlx.Diagnostics
	for _, c := range s.Checks {
		for _, key := range []string{"machine", "from"} {
			name := c.Machine
			if key == "from" {
				name = c.From
			}
			if name != "" && !known[name] {
				diags.Add(c.at.Of(key, c.Pos), c.field+"."+key, "unknown machine %q%s", name, yamlx.Suggest(name, machines))
			}
		}
	}
	return diags.Err()
}

// CheckIdentities reports the checks whose `as` names no identity of their
// vantage machine for their probe's transport, with the position in the suite
// file. identities gives, by machine and transport, the names of the machine's
// identities (a lab loader knows them; the runner would otherwise mark those
// checks `error` for every candidate).
func (s *Suite) CheckIdentities(identities map[string]map[string][]string) error {
	var diags yamlx.Diagnostics
	for _, c := range s.Checks {
		if c.As == "" {
			continue
		}
		names := identities[c.Vantage()][c.Probe]
		found := false
		for _, n := range names {
			found = found || n == c.As
		}
		if !found {
			diags.Add(c.at.Of("as", c.Pos), c.field+".as", "machine %q has no %s identity named %q%s", c.Vantage(), c.Probe, c.As, yamlx.Suggest(c.As, names))
		}
	}
	return diags.Err()
}

// LoadSuiteFile reads and loads a suite file (see LoadSuite).
func LoadSuiteFile(path string, reg *probe.Registry, ref *referential.Referential) (*Suite, error) {
	data, err := userfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("read suite: %w", err)
	}
	return LoadSuite(path, data, reg, ref)
}

// LoadSuite decodes and validates a suite file. Probe parameters are decoded into
// the registry's parameter structs (unknown keys rejected) and validated;
// competences must exist in ref (nil: the referential the suite names, loaded
// from the embedded ones). Every problem of the file is returned at once, as
// yamlx.Diagnostics ("file:line:col: field: message", sorted).
func LoadSuite(path string, data []byte, reg *probe.Registry, ref *referential.Referential) (*Suite, error) {
	root, diags := yamlx.Parse(path, data)
	if diags != nil {
		return nil, diags.Err()
	}
	if root == nil {
		return nil, yamlx.Diagnostics{{Pos: yamlx.Pos{File: path}, Message: "empty suite: expected name, referential and checks"}}
	}
	if n := expandedSize(root, 0, 0); n > maxExpandedNodes {
		return nil, yamlx.Diagnostics{{Pos: yamlx.Pos{File: path, Line: root.Line, Column: root.Column},
			Message: fmt.Sprintf("document too large once aliases are expanded (more than %d nodes)", maxExpandedNodes)}}
	}
	d := yamlx.NewDecoder(path)
	if root.Kind != yaml.MappingNode {
		d.Errorf(root, "", "expected a mapping with name, referential and checks")
		return nil, d.Diags.Err()
	}
	var raw rawSuite
	d.Decode(root, &raw, "")
	s := &Suite{File: path, Name: raw.Name, Referential: raw.Referential, Description: raw.Description}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	ref = resolveReferential(d, &raw, ref)
	if ref != nil {
		s.Referential = ref.Version
	}
	l := &loader{d: d, reg: reg, ref: ref, suite: s, ids: map[string]yamlx.Pos{}}
	s.When = l.when(raw.When, "when")
	if len(raw.Checks) == 0 && len(raw.Jury) == 0 {
		d.Diags.Add(raw.Pos, "checks", "a suite needs at least one check or jury item")
	}
	checkPos, juryPos := elements(d, root, "checks"), elements(d, root, "jury")
	for i := range raw.Checks {
		field := fmt.Sprintf("checks[%d]", i)
		if raw.Checks[i].Pos.IsZero() { // a null element
			d.Diags.Add(posAt(checkPos, i, d.PosOf(root)), field, "expected a check (a mapping with id, title, competence...)")
			continue
		}
		s.Checks = append(s.Checks, l.check(&raw.Checks[i], field))
	}
	for i := range raw.Jury {
		field := fmt.Sprintf("jury[%d]", i)
		if raw.Jury[i].Pos.IsZero() {
			d.Diags.Add(posAt(juryPos, i, d.PosOf(root)), field, "expected a jury item (a mapping with id, competence, title, points)")
			continue
		}
		l.jury(&raw.Jury[i], field)
	}
	l.dependencies(raw.Checks)
	if err := d.Diags.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

func resolveReferential(d *yamlx.Decoder, raw *rawSuite, ref *referential.Referential) *referential.Referential {
	at := raw.At.Of("referential", raw.Pos)
	if ref != nil {
		if raw.Referential != "" && raw.Referential != ref.Version {
			d.Diags.Add(at, "referential", "the suite targets %q but grading uses %q", raw.Referential, ref.Version)
		}
		return ref
	}
	r, err := referential.Load(raw.Referential)
	if err != nil {
		d.Diags.Add(at, "referential", "%v", err)
		return nil
	}
	return r
}

// elements returns the positions of the items of the list under key in root.
func elements(d *yamlx.Decoder, root *yaml.Node, key string) []yamlx.Pos {
	var out []yamlx.Pos
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != key {
			continue
		}
		if list := resolveAlias(root.Content[i+1]); list != nil && list.Kind == yaml.SequenceNode {
			for _, e := range list.Content {
				out = append(out, d.PosOf(resolveAlias(e)))
			}
		}
		break
	}
	return out
}

func posAt(list []yamlx.Pos, i int, fallback yamlx.Pos) yamlx.Pos {
	if i < len(list) {
		return list[i]
	}
	return fallback
}

// expandedSize counts nodes with aliases expanded, stopping past the bound.
func expandedSize(n *yaml.Node, depth, acc int) int {
	if n == nil || acc > maxExpandedNodes {
		return acc
	}
	if depth > 200 {
		return maxExpandedNodes + 1
	}
	acc++
	if n.Kind == yaml.AliasNode {
		return expandedSize(n.Alias, depth+1, acc)
	}
	for _, c := range n.Content {
		if acc = expandedSize(c, depth+1, acc); acc > maxExpandedNodes {
			return acc
		}
	}
	return acc
}

// loader validates the decoded suite.
type loader struct {
	d     *yamlx.Decoder
	reg   *probe.Registry
	ref   *referential.Referential
	suite *Suite
	ids   map[string]yamlx.Pos
}

func (l *loader) id(id string, at yamlx.Pos, field string) {
	switch {
	case id == "":
		l.d.Diags.Add(at, field, "required")
	case !idRe.MatchString(id):
		l.d.Diags.Add(at, field, "%q is not a valid id (letters, digits, '.', '_' and '-', starting with a letter or digit)", id)
	default:
		if prev, dup := l.ids[id]; dup {
			l.d.Diags.Add(at, field, "duplicate id %q (first at line %d)", id, prev.Line)
			return
		}
		l.ids[id] = at
	}
}

func (l *loader) competence(id string, at yamlx.Pos, field string) {
	if id == "" {
		l.d.Diags.Add(at, field, "required")
		return
	}
	if l.ref == nil {
		return // the referential itself is wrong: reported already
	}
	if _, ok := l.ref.Competence(id); !ok {
		l.d.Diags.Add(at, field, "unknown competence %q%s", id, l.ref.Suggest(id))
	}
}

func (l *loader) points(p *float64, at yamlx.Pos, field string) float64 {
	if p == nil {
		return 1
	}
	if *p < 0 || *p > 1000 {
		l.d.Diags.Add(at, field, "must be between 0 and 1000, got %g", *p)
	}
	return *p
}

func (l *loader) check(rc *rawCheck, field string) *Check {
	c := &Check{
		ID: rc.ID, Title: strings.TrimSpace(rc.Title), Competence: rc.Competence,
		Machine: rc.Machine, From: rc.From, As: rc.As, Critical: rc.Critical, Exclusive: rc.Exclusive,
		Timeout: rc.Timeout, Pos: rc.Pos, file: l.suite.File, field: field, at: rc.At,
	}
	at := func(key string) yamlx.Pos { return rc.At.Of(key, rc.Pos) }
	l.id(rc.ID, at("id"), field+".id")
	l.title(c.Title, at("title"), field+".title")
	l.competence(rc.Competence, at("competence"), field+".competence")
	switch {
	case rc.Machine == "":
		l.d.Diags.Add(at("machine"), field+".machine", "required")
	case !machineRe.MatchString(rc.Machine):
		l.d.Diags.Add(at("machine"), field+".machine", "%q is not a valid machine name", rc.Machine)
	}
	if rc.As != "" && !IdentityRe.MatchString(rc.As) {
		l.d.Diags.Add(at("as"), field+".as", "%q is not a valid identity name (letters, digits, _ . -)", rc.As)
	}
	if rc.From != "" && !machineRe.MatchString(rc.From) {
		l.d.Diags.Add(at("from"), field+".from", "%q is not a valid machine name", rc.From)
	}
	c.Points = l.points(rc.Points, at("points"), field+".points")
	c.Retry = Retry{Attempts: 1}
	if rc.Retry != nil {
		c.Retry = *rc.Retry
		if c.Retry.Attempts < 1 || c.Retry.Attempts > MaxAttempts {
			l.d.Diags.Add(at("retry"), field+".retry.attempts", "must be between 1 and %d, got %d", MaxAttempts, c.Retry.Attempts)
		}
		if c.Retry.Interval == 0 {
			c.Retry.Interval = DefaultRetryInterval
		}
	}
	for _, r := range rc.DependsOn {
		c.DependsOn = append(c.DependsOn, r.Value)
	}
	c.When = l.when(rc.When, field+".when")
	l.probe(c, rc, field)
	l.expectations(c, rc, field)
	return c
}

// probe resolves the probe type and decodes its parameters into the probe's own
// struct, so unknown keys are rejected with their position.
func (l *loader) probe(c *Check, rc *rawCheck, field string) {
	field += ".probe"
	n := &rc.Probe
	if n.Kind == 0 {
		l.d.Diags.Add(rc.Pos, field, "required: a mapping with type (%s) and the probe's parameters", strings.Join(l.types(), ", "))
		return
	}
	if n.Kind != yaml.MappingNode {
		l.d.Errorf(n, field, "expected a mapping with type and the probe's parameters")
		return
	}
	params, typeNode, paramsField := l.splitProbe(n, field)
	c.paramsNode, c.paramsField = params, paramsField
	if typeNode == nil || typeNode.Kind != yaml.ScalarNode || typeNode.Value == "" {
		at := n
		if typeNode != nil {
			at = typeNode
		}
		l.d.Errorf(at, field+".type", "required: one of %s", strings.Join(l.types(), ", "))
		return
	}
	c.Probe = typeNode.Value
	if l.reg == nil {
		l.d.Errorf(typeNode, field+".type", "no probe registry to resolve %q", c.Probe)
		return
	}
	p, ok := l.reg.Get(c.Probe)
	if !ok {
		l.d.Errorf(typeNode, field+".type", "unknown probe %q%s", c.Probe, yamlx.Suggest(c.Probe, l.reg.Types()))
		return
	}
	if _, concurrent := p.(probe.Concurrent); rc.Exclusive && !concurrent {
		l.d.Diags.Add(rc.At.Of("exclusive", rc.Pos), strings.TrimSuffix(field, ".probe")+".exclusive", "the %s probe runs a machine's checks one after the other already: exclusive applies to probes that run them at once (%s)", c.Probe, strings.Join(l.concurrentTypes(), ", "))
	}
	c.tmpl = templates{}
	before := len(l.d.Diags)
	c.templated = c.tmpl.scan(l.d, params, paramsField)
	if len(l.d.Diags) > before {
		return // template syntax errors: decoding would only repeat them
	}
	pos := l.d.PosOf(params)
	if !c.templated {
		c.params = decodeParams(l.d, p, params, pos, paramsField)
		return
	}
	// Templated: check the structure now (unknown keys, types of literal values);
	// values produced by templates are checked per candidate, once rendered.
	scratch := yamlx.NewDecoder(l.d.File)
	decodeParamsNoValidate(scratch, p, params, paramsField)
	l.d.Diags = append(l.d.Diags, c.tmpl.filter(scratch.Diags)...)
}

// splitProbe separates a probe mapping into its type and its parameters. Two
// forms are accepted: flat, {type: ldap, base: ...}, and nested, {dns: {name: ...,
// type: A}}, for probes that have a parameter named "type".
func (l *loader) splitProbe(n *yaml.Node, field string) (params, typeNode *yaml.Node, paramsField string) {
	if len(n.Content) == 2 {
		k, v := resolveAlias(n.Content[0]), resolveAlias(n.Content[1])
		if k.Kind == yaml.ScalarNode && k.Value != "type" && k.Value != "<<" &&
			(v.Kind == yaml.MappingNode || (v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null")) {
			if v.Kind != yaml.MappingNode {
				v = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column}
			}
			return v, k, field + "." + k.Value
		}
	}
	params = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column, Style: n.Style}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" && n.Content[i].Kind == yaml.ScalarNode {
			if typeNode != nil {
				l.d.Errorf(n.Content[i], field+".type", "duplicate key (first at line %d)", typeNode.Line)
				continue
			}
			typeNode = resolveAlias(n.Content[i+1])
			continue
		}
		params.Content = append(params.Content, n.Content[i], n.Content[i+1])
	}
	return params, typeNode, field
}

func (l *loader) types() []string {
	if l.reg == nil {
		return nil
	}
	return l.reg.Types()
}

// concurrentTypes lists the probes that run a machine's checks at once.
func (l *loader) concurrentTypes() []string {
	var out []string
	for _, typ := range l.types() {
		if p, _ := l.reg.Get(typ); p != nil {
			if _, ok := p.(probe.Concurrent); ok {
				out = append(out, typ)
			}
		}
	}
	return out
}

// decodeParams decodes and validates a probe's parameters; nil on a programming
// error in the probe (NewParams not returning a pointer).
func decodeParams(d *yamlx.Decoder, p probe.Probe, n *yaml.Node, at yamlx.Pos, field string) probe.Params {
	params := decodeParamsNoValidate(d, p, n, field)
	if params != nil {
		params.Validate(d, at, field)
	}
	return params
}

func decodeParamsNoValidate(d *yamlx.Decoder, p probe.Probe, n *yaml.Node, field string) probe.Params {
	params := p.NewParams()
	if params == nil || reflect.ValueOf(params).Kind() != reflect.Pointer || reflect.ValueOf(params).IsNil() {
		d.Errorf(n, field, "probe %q: NewParams must return a non-nil pointer (a bug in the probe)", p.Type())
		return nil
	}
	d.Decode(n, params, field)
	return params
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func (l *loader) expectations(c *Check, rc *rawCheck, field string) {
	field += ".expect"
	n := resolveAlias(&rc.Expect)
	if n.Kind == 0 {
		l.d.Diags.Add(rc.Pos, field, "required: a mapping of observed field to matcher")
		return
	}
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		l.d.Errorf(n, field, "expected a non-empty mapping of observed field to matcher")
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolveAlias(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.d.Errorf(k, field, "a field name must be a string")
			continue
		}
		sub := field + "." + k.Value
		if line, dup := seen[k.Value]; dup {
			l.d.Errorf(k, sub, "duplicate field (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		path, err := parsePath(k.Value)
		if err != nil {
			l.d.Errorf(k, sub, "%v", err)
			continue
		}
		e := expectation{field: k.Value, path: path, node: v, pos: l.d.PosOf(k)}
		before := len(l.d.Diags)
		if c.tmpl == nil {
			c.tmpl = templates{}
		}
		e.templated = c.tmpl.scan(l.d, v, sub)
		if len(l.d.Diags) > before {
			continue
		}
		if e.templated {
			scratch := yamlx.NewDecoder(l.d.File)
			match.Compile(scratch, v, sub)
			l.d.Diags = append(l.d.Diags, c.tmpl.filter(scratch.Diags)...)
		} else {
			e.matcher = match.Compile(l.d, v, sub)
		}
		c.expect = append(c.expect, e)
	}
}

// title checks a check's or jury item's title: required, and printed as
// written in every report (it is not rendered per candidate), so a template
// in it would reach the jury as "{{ ... }}".
func (l *loader) title(t string, at yamlx.Pos, field string) {
	switch {
	case t == "":
		l.d.Diags.Add(at, field, "required (French, as the jury reads it)")
	case strings.Contains(t, "{{"):
		l.d.Diags.Add(at, field, "%q holds a template: titles are printed as written in every report, for every candidate; write it without {{ ... }}", t)
	}
}

func (l *loader) jury(rj *rawJury, field string) {
	at := func(key string) yamlx.Pos { return rj.At.Of(key, rj.Pos) }
	j := JuryItem{ID: rj.ID, Competence: rj.Competence, Title: strings.TrimSpace(rj.Title), Pos: rj.Pos}
	l.id(rj.ID, at("id"), field+".id")
	l.competence(rj.Competence, at("competence"), field+".competence")
	l.title(j.Title, at("title"), field+".title")
	j.Points = l.points(rj.Points, at("points"), field+".points")
	j.When = l.when(rj.When, field+".when")
	l.suite.Jury = append(l.suite.Jury, j)
}

// dependencies rejects unknown ids, jury items and cycles in depends_on.
func (l *loader) dependencies(raw []rawCheck) {
	checkIDs := map[string]int{}
	var names []string
	for i, rc := range raw {
		if _, dup := checkIDs[rc.ID]; !dup && rc.ID != "" {
			checkIDs[rc.ID] = i
			names = append(names, rc.ID)
		}
	}
	graph := make([][]int, len(raw))
	for i, rc := range raw {
		seen := map[string]bool{}
		for j, r := range rc.DependsOn {
			f := fmt.Sprintf("checks[%d].depends_on[%d]", i, j)
			switch target, ok := checkIDs[r.Value]; {
			case r.Value == "":
				// reported by ref's decoder
			case seen[r.Value]:
				l.d.Diags.Add(r.Pos, f, "%q listed twice", r.Value)
			case !ok:
				if _, isJury := l.ids[r.Value]; isJury {
					l.d.Diags.Add(r.Pos, f, "%q is a jury item: only checks can be depended on", r.Value)
				} else {
					l.d.Diags.Add(r.Pos, f, "unknown check %q%s", r.Value, yamlx.Suggest(r.Value, names))
				}
			case target == i:
				l.d.Diags.Add(r.Pos, f, "a check cannot depend on itself")
			default:
				graph[i] = append(graph[i], target)
			}
			seen[r.Value] = true
		}
	}
	// Depth-first search; report each cycle once, at the dependency that closes it.
	const (
		unvisited = iota
		active
		done
	)
	state := make([]int, len(raw))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = active
		stack = append(stack, i)
		for k, t := range graph[i] {
			switch state[t] {
			case unvisited:
				visit(t)
			case active:
				var cycle []string
				for s := len(stack) - 1; s >= 0; s-- {
					cycle = append([]string{raw[stack[s]].ID}, cycle...)
					if stack[s] == t {
						break
					}
				}
				cycle = append(cycle, raw[t].ID)
				pos := l.depPos(raw[i], t, raw, k)
				l.d.Diags.Add(pos, fmt.Sprintf("checks[%d].depends_on", i), "dependency cycle: %s", strings.Join(cycle, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range raw {
		if state[i] == unvisited {
			visit(i)
		}
	}
}

// depPos finds the position of the depends_on entry of rc naming raw[target].
func (l *loader) depPos(rc rawCheck, target int, raw []rawCheck, _ int) yamlx.Pos {
	for _, r := range rc.DependsOn {
		if r.Value == raw[target].ID {
			return r.Pos
		}
	}
	return rc.Pos
}

// instantiate returns the check's probe parameters and expectations for one
// candidate, rendering its templates with data. Problems (a missing parameter, a
// rendered value the probe rejects) carry the file position of the template.
func (c *Check) instantiate(reg *probe.Registry, data *TemplateData) (probe.Params, []expectation, yamlx.Diagnostics) {
	if !c.Templated() {
		return c.params, c.expect, nil
	}
	d := yamlx.NewDecoder(c.file)
	params := c.params
	if c.templated {
		p, ok := reg.Get(c.Probe)
		if !ok {
			d.Errorf(c.paramsNode, c.field+".probe.type", "unknown probe %q%s", c.Probe, yamlx.Suggest(c.Probe, reg.Types()))
			return nil, nil, d.Diags
		}
		node := c.tmpl.render(d, c.paramsNode, data, c.paramsField)
		if len(d.Diags) == 0 {
			params = decodeParams(d, p, node, d.PosOf(c.paramsNode), c.paramsField)
		}
	}
	exps := make([]expectation, len(c.expect))
	for i, e := range c.expect {
		if e.templated {
			field := c.field + ".expect." + e.field
			node := c.tmpl.render(d, e.node, data, field)
			e.matcher = match.Compile(d, node, field)
		}
		exps[i] = e
	}
	return params, exps, d.Diags
}
