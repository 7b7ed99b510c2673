// Package referential holds the competence referentials of the TAI title as
// versioned data: one embedded YAML file per version (data/<version>.yaml), never
// in code. A suite names the referential it grades against; every check maps to
// one of its competences, and scores are computed per competence and per CCP in
// the referential's order.
//
// Adding a revision of the title (for instance RNCP37681, 2023) is adding one file
// to data/: its CCPs, competence ids and French titles, copied from the official
// fiche.
package referential

import (
	"embed"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/tailab/tailab/internal/yamlx"
)

// Default is the version used when a suite does not name one.
const Default = "tai-2018"

//go:embed data/*.yaml
var files embed.FS

// Referential is one version of the title: its CCPs and their competences, in order.
type Referential struct {
	// Version is the id suites use (e.g. "tai-2018"); it is also the file name.
	Version string `yaml:"version"`
	// Code is the official code of the title (e.g. "TP-00476" or "RNCP37681").
	Code string `yaml:"code"`
	// Title is the French name of the title.
	Title string `yaml:"title"`
	// Level is the qualification level (4 for the TAI).
	Level int `yaml:"level"`
	// NSF is the NSF specialty code (e.g. "326r").
	NSF string `yaml:"nsf"`
	// CCPs are the blocks of competences, in official order.
	CCPs []CCP `yaml:"ccps"`

	byID map[string]Competence
	ccp  map[string]int
}

// CCP is a certificat de compétences professionnelles: one block of the title.
type CCP struct {
	ID          string       `yaml:"id"`    // e.g. "CCP2"
	Title       string       `yaml:"title"` // French
	Competences []Competence `yaml:"competences"`

	Pos yamlx.Pos `yaml:"-"`
}

// Competence is one competence of the title.
type Competence struct {
	ID    string `yaml:"id"`    // e.g. "C2.2"
	Title string `yaml:"title"` // French
	// CCP is the id of the block the competence belongs to (filled by the loader).
	CCP string `yaml:"-"`

	Pos yamlx.Pos `yaml:"-"`
}

var (
	versionRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)
	ccpIDRe      = regexp.MustCompile(`^CCP[0-9]+$`)
	competenceRe = regexp.MustCompile(`^C[0-9]+\.[0-9]+$`)
)

// Versions lists the embedded referential versions, sorted.
func Versions() []string {
	entries, err := files.ReadDir("data")
	if err != nil {
		panic(fmt.Sprintf("referential: embedded data: %v", err))
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Load returns the embedded referential of a version ("" means Default). An
// unknown version is an error that lists the known ones.
func Load(version string) (*Referential, error) {
	if version == "" {
		version = Default
	}
	known := Versions()
	if !versionRe.MatchString(version) || !contains(known, version) {
		return nil, fmt.Errorf("unknown referential %q%s", version, yamlx.Suggest(version, known))
	}
	name := path.Join("data", version+".yaml")
	data, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("referential %q: %w", version, err)
	}
	r, err := Parse("referential/"+name, data)
	if err != nil {
		return nil, err
	}
	if r.Version != version {
		return nil, fmt.Errorf("referential/%s: version %q does not match the file name", name, r.Version)
	}
	return r, nil
}

// MustLoad is Load for versions known to be embedded; it panics on error.
func MustLoad(version string) *Referential {
	r, err := Load(version)
	if err != nil {
		panic(err)
	}
	return r
}

// Parse decodes and validates a referential document strictly. Every problem is
// reported, as yamlx.Diagnostics naming file:line:col and field.
func Parse(file string, data []byte) (*Referential, error) {
	root, diags := yamlx.Parse(file, data)
	if diags != nil {
		return nil, diags.Err()
	}
	if root == nil {
		return nil, yamlx.Diagnostics{{Pos: yamlx.Pos{File: file}, Message: "empty referential"}}
	}
	r := &Referential{}
	d := yamlx.NewDecoder(file)
	d.Decode(root, r, "")
	r.validate(d, d.PosOf(root))
	if err := d.Diags.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Referential) validate(d *yamlx.Decoder, at yamlx.Pos) {
	add := func(pos yamlx.Pos, field, format string, args ...any) {
		d.Diags.Add(pos, field, format, args...)
	}
	if !versionRe.MatchString(r.Version) {
		add(at, "version", "must be a lower-case id such as tai-2018, got %q", r.Version)
	}
	if r.Title == "" {
		add(at, "title", "required")
	}
	if len(r.CCPs) == 0 {
		add(at, "ccps", "at least one CCP is required")
	}
	r.byID = map[string]Competence{}
	r.ccp = map[string]int{}
	for i := range r.CCPs {
		c := &r.CCPs[i]
		f := fmt.Sprintf("ccps[%d]", i)
		if !ccpIDRe.MatchString(c.ID) {
			add(c.Pos, f+".id", "must look like CCP1, got %q", c.ID)
		} else if _, dup := r.ccp[c.ID]; dup {
			add(c.Pos, f+".id", "duplicate CCP %q", c.ID)
		}
		r.ccp[c.ID] = i
		if c.Title == "" {
			add(c.Pos, f+".title", "required")
		}
		if len(c.Competences) == 0 {
			add(c.Pos, f+".competences", "at least one competence is required")
		}
		for j := range c.Competences {
			comp := &c.Competences[j]
			cf := fmt.Sprintf("%s.competences[%d]", f, j)
			comp.CCP = c.ID
			if !competenceRe.MatchString(comp.ID) {
				add(comp.Pos, cf+".id", "must look like C2.1, got %q", comp.ID)
			} else if _, dup := r.byID[comp.ID]; dup {
				add(comp.Pos, cf+".id", "duplicate competence %q", comp.ID)
			}
			if comp.Title == "" {
				add(comp.Pos, cf+".title", "required")
			}
			r.byID[comp.ID] = *comp
		}
	}
}

// Competence returns the competence with an id.
func (r *Referential) Competence(id string) (Competence, bool) {
	c, ok := r.byID[id]
	return c, ok
}

// CCP returns the CCP with an id.
func (r *Referential) CCP(id string) (CCP, bool) {
	i, ok := r.ccp[id]
	if !ok {
		return CCP{}, false
	}
	return r.CCPs[i], true
}

// CCPOf returns the CCP a competence belongs to.
func (r *Referential) CCPOf(competenceID string) (CCP, bool) {
	c, ok := r.byID[competenceID]
	if !ok {
		return CCP{}, false
	}
	return r.CCP(c.CCP)
}

// Competences returns every competence in official order (CCP by CCP).
func (r *Referential) Competences() []Competence {
	var out []Competence
	for _, c := range r.CCPs {
		out = append(out, c.Competences...)
	}
	return out
}

// CompetenceIDs returns the ids of every competence, in official order.
func (r *Referential) CompetenceIDs() []string {
	var out []string
	for _, c := range r.Competences() {
		out = append(out, c.ID)
	}
	return out
}

// Suggest is the hint to append to an "unknown competence" message: the valid ids
// in official order (ids such as C1.1 and C2.1 are too close for a "did you mean").
func (r *Referential) Suggest(string) string {
	return fmt.Sprintf(" (valid in %s: %s)", r.Version, strings.Join(r.CompetenceIDs(), ", "))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
