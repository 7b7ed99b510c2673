package exam

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/tailab/tailab/labs"
)

// DescribeLab writes what `tailab lab show` prints of a lab: its parameters
// (how each is drawn), machines, and a text topology of the networks each
// candidate gets a copy of.
func DescribeLab(w io.Writer, lab *labs.Lab) error {
	fmt.Fprintf(w, "Lab %s — %s\n", lab.Name, lab.Description)
	if lab.Referential != "" {
		fmt.Fprintf(w, "Referential: %s\n", lab.Referential)
	}
	if len(lab.Parameters) > 0 {
		fmt.Fprintln(w, "\nParameters:")
		for _, n := range slices.Sorted(maps.Keys(lab.Parameters)) {
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
