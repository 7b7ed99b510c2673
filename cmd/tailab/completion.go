package main

import (
	"github.com/spf13/cobra"

	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// addCompletions makes shell completion (`tailab completion bash|zsh|fish`)
// offer session names for every --session flag, the session's candidates for
// --candidate, report formats for grade's and report's -o, and built-in labs for a command's LAB argument.
func addCompletions(root *cobra.Command, g *globalOptions) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().Lookup("session") != nil {
			_ = c.RegisterFlagCompletionFunc("session", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return completeSessions(g), cobra.ShellCompDirectiveNoFileComp
			})
		}
		if c.Flags().Lookup("candidate") != nil {
			_ = c.RegisterFlagCompletionFunc("candidate", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
				s, _ := cmd.Flags().GetString("session")
				return completeCandidates(g, s), cobra.ShellCompDirectiveNoFileComp
			})
		}
		if c.Name() == "grade" || c.Name() == "report" { // -o: the report formats
			_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(report.Formats(), cobra.ShellCompDirectiveNoFileComp))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, name := range []string{"up", "verify"} {
		if c, _, err := root.Find([]string{name}); err == nil && c.Name() == name && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = completeLabs
		}
	}
	if c, _, err := root.Find([]string{"lab", "show"}); err == nil && c.Name() == "show" {
		c.ValidArgsFunction = completeLabs
	}
}

// completeLabs offers the built-in labs, then files.
func completeLabs(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	entries, _ := labs.Catalog()
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Name+"\t"+e.Description)
	}
	return out, cobra.ShellCompDirectiveDefault
}

func completeSessions(g *globalOptions) []string {
	st, err := provision.OpenState(g.DataDir)
	if err != nil {
		return nil
	}
	sessions, err := st.Sessions()
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(sessions))
	for _, s := range sessions {
		out = append(out, s.Name+"\t"+s.Lab)
	}
	return out
}

func completeCandidates(g *globalOptions, session string) []string {
	st, err := provision.OpenState(g.DataDir)
	if err != nil || session == "" {
		return nil
	}
	s, err := st.Session(session)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(s.Candidates))
	for _, c := range s.Candidates {
		out = append(out, c.ID+"\t"+c.FullName())
	}
	return out
}
