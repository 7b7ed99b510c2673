package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/results"
)

// newJuryCommand is `tailab jury set|override|decide` (exam.JuryArgs, exam.SetJury).
func newJuryCommand(g *globalOptions) *cobra.Command {
	var e results.JuryEntry
	var session, status string
	c := &cobra.Command{Use: "jury", Short: "Enter the jury's marks, corrections of automated verdicts and decisions (audited)"}
	for _, v := range []struct {
		use, short, example string
		args                int
	}{
		{"set --session NAME --candidate ID ITEM POINTS [--note TEXT]", "Mark a criterion left to the jury: its points count in the competence, the CCP and the total",
			`  tailab jury set -s juin -c c02 support.accueil 1,5 --note "reformulation claire"`, 2},
		{"override --session NAME --candidate ID CHECK --status pass|fail --note TEXT", "Correct an automated verdict of the latest grading; the machine's verdict and evidence stay beside it",
			`  tailab jury override -s juin -c c02 ad.users --status pass --note "comptes créés dans l'OU voisine, accepté"`, 1},
		{"decide --session NAME --candidate ID CCP acquis|non-acquis [--note TEXT]", "Confirm or change the decision the rule proposes for a CCP the subject assesses",
			`  tailab jury decide -s juin -c c02 CCP3 acquis --note "diagnostic oral convaincant"`, 2},
	} {
		sub := &cobra.Command{Use: v.use, Short: v.short, Example: v.example, Args: cobra.ExactArgs(v.args),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := exam.JuryArgs(&e, cmd.Name(), args, status); err != nil {
					return err
				}
				return exam.SetJury(g.DataDir, session, e)
			}}
		f := sub.Flags()
		f.StringVarP(&session, "session", "s", "", "session name (required)")
		f.StringVarP(&e.Candidate, "candidate", "c", "", "candidate ID (required)")
		f.StringVar(&e.Note, "note", "", "the jury's note or reason, shown beside the mark")
		f.StringVar(&e.Author, "author", os.Getenv("USER"), "who enters it (env USER)")
		_ = sub.MarkFlagRequired("session")
		_ = sub.MarkFlagRequired("candidate")
		if sub.Name() == "override" {
			f.StringVar(&status, "status", "", "the jury's verdict: pass or fail (required)")
			_ = sub.MarkFlagRequired("status")
		}
		c.AddCommand(sub)
	}
	return c
}
