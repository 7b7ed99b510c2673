package static

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/tailab/tailab/labs"
)

// Skeleton is an inventory to fill in for a lab and a roster (`tailab
// inventory init`): every candidate with every lab machine, the addresses
// left as placeholders the loader refuses until they are replaced, and the
// transports the grader will use listed in a comment.
func Skeleton(lab *labs.Lab, candidates []labs.Candidate) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# tailab inventory for lab %s: where each candidate's existing machines are.\n", lab.Name)
	b.WriteString("# Replace every address (IP or DNS name the grader dials); give ports that are\n")
	b.WriteString("# not the protocol's, host_key (SHA256:..., ssh-keygen -lf) when you know it.\n")
	b.WriteString("# docs/existing-room.md\n")
	fmt.Fprintf(&b, "lab: %s\n", lab.Name)
	b.WriteString("# known_hosts: ./known_hosts   # the machines' SSH host keys, if the centre keeps them\n")
	b.WriteString("machines:                      # per lab machine, for every candidate\n")
	for _, m := range lab.Machines {
		var uses []string
		for t := range m.Credentials {
			uses = append(uses, t)
		}
		sort.Strings(uses)
		fmt.Fprintf(&b, "  %s: {}   # graded over %v\n", m.Name, uses)
	}
	b.WriteString("candidates:\n")
	for _, c := range candidates {
		name := c.FullName()
		if name != "" {
			fmt.Fprintf(&b, "  %s:   # %s\n", c.ID, name)
		} else {
			fmt.Fprintf(&b, "  %s:\n", c.ID)
		}
		for _, m := range lab.Machines {
			fmt.Fprintf(&b, "    %s: {address: %s}\n", m.Name, Placeholder)
		}
	}
	return b.Bytes()
}

// Placeholder is the address Skeleton writes: not a host name, so an
// inventory still holding one is refused at its line and column.
const Placeholder = "_FILL_ME_"
