package main

import (
	"github.com/spf13/cobra"

	"github.com/tailab/tailab/exam"
)

func newInventoryCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{Use: "inventory", Short: "Inventories of existing machines, for up --provider static"}
	var lab, roster, out string
	var count int
	initCmd := &cobra.Command{
		Use:   "init --lab LAB (--candidates roster.csv | --count N) [--out FILE]",
		Short: "Write an inventory skeleton: every candidate with every lab machine, addresses to fill in",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := exam.InventoryInit(lab, roster, count, out)
			if err == nil {
				_, err = cmd.OutOrStdout().Write(data)
			}
			return err
		},
	}
	f := initCmd.Flags()
	f.StringVar(&lab, "lab", "", "the lab (a built-in lab name or a file)")
	f.StringVar(&roster, "candidates", "", "roster CSV: id, last name, first name")
	f.IntVar(&count, "count", 0, "number of candidates (c01..cNN) when there is no roster")
	f.StringVarP(&out, "out", "o", "", "write the inventory to this file (default: standard output)")
	_ = initCmd.MarkFlagRequired("lab")
	c.AddCommand(initCmd)
	return c
}
