package checks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tailab/tailab/checks/match"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/yamlx"
	"gopkg.in/yaml.v3"
)

// expectation is one `field: matcher` entry of a check.
type expectation struct {
	field     string // as written, e.g. "answers[0].data"
	path      []step
	node      *yaml.Node
	pos       yamlx.Pos
	matcher   match.Matcher // nil when templated: compiled per candidate
	templated bool
}

// step is one element of a field path: a key, or an index into a list
// (negative indexes count from the end).
type step struct {
	key   string
	index int
	isIdx bool
}

// parsePath parses a field path: keys separated by dots, each optionally followed
// by list indexes, e.g. "stdout", "answers[0].data", "users[-1].upn".
func parsePath(s string) ([]step, error) {
	if s == "" {
		return nil, fmt.Errorf("empty field name")
	}
	var out []step
	for _, part := range strings.Split(s, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key == "" {
			return nil, fmt.Errorf("invalid field path %q: empty key (write a.b[0].c)", s)
		}
		out = append(out, step{key: key})
		if rest == "" && !strings.Contains(part, "[") {
			continue
		}
		rest = "[" + rest
		for rest != "" {
			if !strings.HasPrefix(rest, "[") {
				return nil, fmt.Errorf("invalid field path %q: unexpected %q", s, rest)
			}
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("invalid field path %q: missing ]", s)
			}
			i, err := strconv.Atoi(rest[1:end])
			if err != nil {
				return nil, fmt.Errorf("invalid field path %q: index %q is not an integer", s, rest[1:end])
			}
			out = append(out, step{index: i, isIdx: true})
			rest = rest[end+1:]
		}
	}
	return out, nil
}

// lookup returns the value at path in an observation's values, or match.Absent.
func lookup(values map[string]any, path []step) any {
	if len(path) == 0 || path[0].isIdx {
		return match.Absent
	}
	v, ok := values[path[0].key]
	if !ok {
		return match.Absent
	}
	cur := match.Normalize(v)
	for _, s := range path[1:] {
		if s.isIdx {
			list, ok := cur.([]any)
			if !ok {
				return match.Absent
			}
			idx := s.index
			if idx < 0 {
				idx += len(list)
			}
			if idx < 0 || idx >= len(list) {
				return match.Absent
			}
			cur = list[idx]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return match.Absent
		}
		if cur, ok = m[s.key]; !ok {
			return match.Absent
		}
	}
	return cur
}

// judge applies the expectations to an observation, masking secrets in what the
// report shows.
func judge(exps []expectation, obs probe.Observation, mask func(string) string) (ok bool, out []Expectation) {
	ok = true
	for _, e := range exps {
		r := e.matcher.Match(lookup(obs.Values, e.path))
		out = append(out, Expectation{
			Field: e.field, OK: r.OK,
			Actual: mask(r.Actual), Expected: mask(r.Expected), Message: mask(r.Message), Found: mask(r.Found),
		})
		ok = ok && r.OK
	}
	return ok, out
}
