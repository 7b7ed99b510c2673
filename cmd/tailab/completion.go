package main

import (
	"github.com/spf13/cobra"

	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/labs"
)

// addCompletions makes shell completion (`tailab completion bash|zsh|fish`)
// offer session names for every --session flag, the session's candidates for
// --candidate, the lab's machines for --machine, the candidate's snapshots
// for snapshot revert|delete NAME, report formats for grade's and report's -o, and built-in labs for a command's LAB argument.
func addCompletions(root *cobra.Command, g *globalOptions) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flag("session") != nil { // Flag: its persistent flags too (snapshot, reset)
			_ = c.RegisterFlagCompletionFunc("session", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return exam.CompleteSessions(g.DataDir), cobra.ShellCompDirectiveNoFileComp
			})
		}
		if c.Flag("candidate") != nil {
			_ = c.RegisterFlagCompletionFunc("candidate", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
				s, _ := cmd.Flags().GetString("session")
				return exam.CompleteCandidates(g.DataDir, s), cobra.ShellCompDirectiveNoFileComp
			})
		}
		if c.Flag("machine") != nil {
			_ = c.RegisterFlagCompletionFunc("machine", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
				s, _ := cmd.Flags().GetString("session")
				return exam.CompleteMachines(g.DataDir, s), cobra.ShellCompDirectiveNoFileComp
			})
		}
		if p := c.CommandPath(); p == "tailab snapshot revert" || p == "tailab snapshot delete" {
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				s, _ := cmd.Flags().GetString("session")
				cands, _ := cmd.Flags().GetStringSlice("candidate")
				m, _ := cmd.Flags().GetString("machine")
				return exam.CompleteSnapshots(cmd.Context(), g.DataDir, s, cands, m, g.engine), cobra.ShellCompDirectiveNoFileComp
			}
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
