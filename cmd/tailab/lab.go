package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/labs"
)

func newLabCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{Use: "lab", Short: "List and show labs"}
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the built-in labs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validOutput(output, "table", "json"); err != nil {
				return err
			}
			entries, err := labs.Catalog()
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), entries)
			}
			t := newTable(cmd.OutOrStdout(), "NAME", "MACHINES", "NETWORKS", "DESCRIPTION")
			for _, e := range entries {
				t.row(e.Name, fmt.Sprint(e.Machines), fmt.Sprint(e.Networks), e.Description)
			}
			return t.flush()
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	var source bool
	show := &cobra.Command{
		Use:   "show NAME|FILE",
		Short: "Show a lab: machines, networks and a text topology",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if source {
				b, err := labs.BuiltinSource(args[0])
				if err != nil {
					b, err = os.ReadFile(args[0])
				}
				if err != nil {
					return errclass.Usagef("no built-in lab or file %q", args[0])
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			lab, err := labs.Open(args[0])
			if err != nil {
				return err
			}
			return showLab(cmd, lab)
		},
	}
	show.Flags().BoolVar(&source, "source", false, "print the lab's YAML")
	c.AddCommand(list, show)
	return c
}

func showLab(cmd *cobra.Command, lab *labs.Lab) error {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "Lab %s — %s\n", lab.Name, lab.Description)
	if lab.Referential != "" {
		fmt.Fprintf(w, "Referential: %s\n", lab.Referential)
	}
	if len(lab.Parameters) > 0 {
		fmt.Fprintln(w, "\nParameters:")
		names := make([]string, 0, len(lab.Parameters))
		for n := range lab.Parameters {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			p := lab.Parameters[n]
			how := fmt.Sprintf("= %v", p.Value)
			switch {
			case len(p.Pick) > 0:
				how = fmt.Sprintf("picked per candidate from %v", p.Pick)
			case p.Template != "":
				how = "template " + p.Template
			}
			fmt.Fprintf(w, "  %-16s %s\n", n, how)
		}
	}
	fmt.Fprintln(w, "\nMachines:")
	t := newTable(w, "  NAME", "ROLE", "KIND", "OS", "CPUS", "MEMORY", "NICS")
	for _, m := range lab.Machines {
		var nics []string
		for _, n := range m.NICs {
			a := n.Address
			if a == "" {
				a = "-"
			}
			nics = append(nics, n.Network+"="+a)
		}
		t.row("  "+m.Name, m.Role, m.Kind, m.OS, fmt.Sprint(max(m.CPUs, 1)), m.Memory.String(), strings.Join(nics, " "))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nTopology (each candidate gets their own copy):")
	for _, n := range lab.Networks {
		fmt.Fprintf(w, "  [%s %s %s]\n", n.Name, n.CIDR, n.Mode)
		for _, m := range lab.Machines {
			for _, nic := range m.NICs {
				if nic.Network == n.Name {
					a := nic.Address
					if a == "" {
						a = "no address"
					}
					fmt.Fprintf(w, "    ├── %s (%s)\n", m.Name, a)
				}
			}
		}
	}
	fmt.Fprintln(w, "  [management] grader ── every machine (isolated ports)")
	return nil
}
