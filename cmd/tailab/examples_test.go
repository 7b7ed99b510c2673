package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryVerbHasExamples walks every command: each has an Examples section,
// and each example names an existing command with flags it has (parsed as
// cobra would, values included).
func TestEveryVerbHasExamples(t *testing.T) {
	root := newRootCommand()
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Hidden {
			return
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s: no Examples section (internal/clidoc)", c.CommandPath())
			return
		}
		for _, line := range strings.Split(c.Example, "\n") {
			args := exampleArgs(line)
			if len(args) == 0 {
				continue
			}
			n++
			if !strings.HasPrefix(strings.Join(append([]string{"tailab"}, args...), " "), c.CommandPath()) && c != root {
				t.Errorf("%s: example %q runs another command", c.CommandPath(), line)
			}
			found, rest, err := newRootCommand().Find(args)
			if err != nil {
				t.Errorf("%s: example %q: %v", c.CommandPath(), line, err)
				continue
			}
			if err := found.ParseFlags(rest); err != nil {
				t.Errorf("%s: example %q: %v", c.CommandPath(), line, err)
			}
		}
	}
	walk(root)
	if n < 60 {
		t.Errorf("%d examples checked, want every verb's", n)
	}
}

// exampleArgs are the arguments after "tailab" in an example line, quotes
// removed, up to a comment, a pipe or a redirection.
func exampleArgs(line string) []string {
	_, cmd, ok := strings.Cut(line, "tailab ")
	if !ok {
		return nil
	}
	for _, end := range []string{"  #", " | ", " > "} {
		cmd, _, _ = strings.Cut(cmd, end)
	}
	var args []string
	var cur strings.Builder
	quote, in := rune(0), false
	for _, r := range cmd {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '"' || r == '\''):
			quote, in = r, true
		case quote == 0 && r == ' ':
			if in {
				args, in = append(args, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		args = append(args, cur.String())
	}
	return args
}
