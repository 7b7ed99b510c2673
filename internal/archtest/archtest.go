// Package archtest reads the module's import graph (`go list -deps -json`) and
// checks it against rules of the form "these packages never import those":
// the arrows docs/architecture.md forbids. The rules are a table (Rules), so a
// new room adds a line, and the test that runs them (TestImportRules) fails
// naming each forbidden arrow.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
)

// Module is the module path the rules' patterns are relative to.
const Module = "github.com/tailab/tailab"

// Rule forbids arrows from the packages From matches to those To matches.
// A pattern is a package path relative to the module ("labs"), one ending in
// "/..." for that package and every package below it ("checks/..."), or "..."
// for every package.
type Rule struct {
	From []string
	To   []string
	// Except are packages From matches that may import To anyway.
	Except []string
	// Deps checks every package From depends on, directly or not (what it
	// pulls into a build), instead of its direct imports only.
	Deps bool
	// Why says what the rule protects, for the failure message.
	Why string
}

// Package is one package of the graph: its path relative to the module, and
// its direct imports and whole dependency set, also relative (packages
// outside the module are left out).
type Package struct {
	Path    string
	Imports []string
	Deps    []string
}

// Graph is the module's packages by path.
type Graph map[string]Package

// Violation is one forbidden arrow.
type Violation struct {
	From, To string
	// Indirect: From does not import To itself but through another package.
	Indirect bool
	Rule     Rule
}

func (v Violation) String() string {
	verb := "imports"
	if v.Indirect {
		verb = "depends on"
	}
	return fmt.Sprintf("%s %s %s: forbidden (%s)", v.From, verb, v.To, v.Rule.Why)
}

// Match reports whether a package path matches a pattern: "..." matches
// every package.
func Match(pattern, path string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return Match(p, path) })
}

// Check returns every arrow of g that a rule forbids, sorted by package.
func Check(g Graph, rules []Rule) []Violation {
	var out []Violation
	paths := make([]string, 0, len(g))
	for p := range g {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, r := range rules {
		for _, from := range paths {
			if !matchAny(r.From, from) || matchAny(r.Except, from) {
				continue
			}
			to := g[from].Imports
			if r.Deps {
				to = g[from].Deps
			}
			for _, t := range to {
				if matchAny(r.To, t) {
					out = append(out, Violation{From: from, To: t, Indirect: !slices.Contains(g[from].Imports, t), Rule: r})
				}
			}
		}
	}
	return out
}

// Load reads the import graph of the module rooted at dir with
// `go list -deps -json ./...` (test files left out: the rules are about
// what a build pulls in).
func Load(dir string) (Graph, error) {
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Deps", "./...")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w\n%s", err, stderr.String())
	}
	return Parse(bytes.NewReader(out))
}

// Parse reads the stream of JSON objects `go list -json` prints, keeping the
// module's packages and, in their imports, the module's packages only.
func Parse(r io.Reader) (Graph, error) {
	g := Graph{}
	dec := json.NewDecoder(r)
	for {
		var p struct {
			ImportPath    string
			Imports, Deps []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		path, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		g[path] = Package{Path: path, Imports: rels(p.Imports), Deps: rels(p.Deps)}
	}
	if len(g) == 0 {
		return nil, errors.New("go list: no package of module " + Module)
	}
	return g, nil
}

func rel(path string) (string, bool) {
	if path == Module {
		return ".", true
	}
	return strings.CutPrefix(path, Module+"/")
}

func rels(paths []string) []string {
	var out []string
	for _, p := range paths {
		if r, ok := rel(p); ok {
			out = append(out, r)
		}
	}
	return out
}
