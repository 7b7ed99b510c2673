package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/results"
)

// newJuryCommand is `tailab jury set|override` (exam.SetJury).
func newJuryCommand(g *globalOptions) *cobra.Command {
	var e results.JuryEntry
	var session, status string
	run := func(_ *cobra.Command, args []string) error {
		e.Item, e.Status = args[0], checks.Status(status)
		if _, err := fmt.Sscan(append(args, "0")[1], &e.Points); err != nil {
			return errclass.Usagef("POINTS %q: a number (1.5)", args[1])
		}
		return exam.SetJury(g.DataDir, session, e)
	}
	c := &cobra.Command{Use: "jury", Short: "Enter the jury's marks and corrections of automated verdicts (audited)"}
	set := &cobra.Command{
		Use:     "set --session NAME --candidate ID ITEM POINTS [--note TEXT]",
		Short:   "Mark a criterion left to the jury: its points count in the competence, the CCP and the total",
		Example: `  tailab jury set -s juin -c c02 support.accueil 1.5 --note "reformulation claire"`,
		Args:    cobra.ExactArgs(2), RunE: run,
	}
	override := &cobra.Command{
		Use:     "override --session NAME --candidate ID CHECK --status pass|fail --note TEXT",
		Short:   "Correct an automated verdict of the latest grading; the machine's verdict and evidence stay beside it",
		Example: `  tailab jury override -s juin -c c02 ad.users --status pass --note "comptes créés dans l'OU voisine, accepté"`,
		Args:    cobra.ExactArgs(1), RunE: run,
	}
	override.Flags().StringVar(&status, "status", "", "the jury's verdict: pass or fail (required)")
	_ = override.MarkFlagRequired("status")
	for _, sub := range []*cobra.Command{set, override} {
		f := sub.Flags()
		f.StringVarP(&session, "session", "s", "", "session name (required)")
		f.StringVarP(&e.Candidate, "candidate", "c", "", "candidate ID (required)")
		f.StringVar(&e.Note, "note", "", "the jury's note or reason, shown beside the mark")
		f.StringVar(&e.Author, "author", os.Getenv("USER"), "who enters it (env USER)")
		_ = sub.MarkFlagRequired("session")
		_ = sub.MarkFlagRequired("candidate")
		c.AddCommand(sub)
	}
	return c
}
