package checks

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/yamlx"
)

// NetAddress is one lab-network address of a machine (not its management
// address): what a machine pings when it pings another lab machine.
type NetAddress struct {
	Network string
	Address string
}

// Vantages resolves, for the probes that observe from a lab machine rather than
// from the grader (ping's `from`, or a ping check's `from:`), a machine name of the
// candidate being graded to its Target, and a request id of the Runner
// (probe.Request.ID) back to its check.
//
// The Runner hands a probe the Target of the check's vantage machine (`from:`, else
// `machine:`) and the requests only, so a probe wrapper built by the command that
// assembles the registry uses Vantages to learn the check's own machine and to
// reach the candidate's other machines. A Vantages is read-only once built.
type Vantages struct {
	targets map[string]map[string]probe.Target // candidate → machine → target
	labNets map[string]map[string][]NetAddress // candidate → machine → lab addresses
	checks  map[string]*Check                  // request id → check
}

// NewVantages indexes the suites graded together (request ids as the Runner
// builds them) and the candidates' inventories. labNets gives each candidate's
// machines' lab-network addresses (candidate → machine → addresses); it may be nil.
func NewVantages(suites []*Suite, cands []Candidate, labNets map[string]map[string][]NetAddress) (*Vantages, error) {
	units, err := unitsOf(suites)
	if err != nil {
		return nil, err
	}
	v := &Vantages{
		targets: make(map[string]map[string]probe.Target, len(cands)),
		labNets: labNets,
		checks:  map[string]*Check{},
	}
	for _, u := range units {
		if u.check != nil {
			v.checks[u.reqID] = u.check
		}
	}
	for _, c := range cands {
		v.targets[c.ID] = c.Machines
	}
	return v, nil
}

// Check returns the check a Runner request id belongs to (nil when unknown).
func (v *Vantages) Check(reqID string) *Check {
	if v == nil {
		return nil
	}
	return v.checks[reqID]
}

// Target returns the candidate's machine of that name, as the grader reaches it.
func (v *Vantages) Target(candidate, machine string) (probe.Target, error) {
	if v == nil {
		return probe.Target{}, fmt.Errorf("no inventory to resolve machine %q", machine)
	}
	ms, ok := v.targets[candidate]
	if !ok {
		return probe.Target{}, fmt.Errorf("unknown candidate %q", candidate)
	}
	t, ok := ms[machine]
	if !ok {
		names := make([]string, 0, len(ms))
		for n := range ms {
			names = append(names, n)
		}
		sort.Strings(names)
		return probe.Target{}, fmt.Errorf("machine %q not in candidate %s's inventory%s", machine, candidate, yamlx.Suggest(machine, names))
	}
	return t, nil
}

// LabAddress returns the candidate's machine's address on a lab network, as
// another lab machine (from) reaches it: on a network both are on when there is
// one, else the machine's first lab address. ok is false when the machine has no
// known lab address.
func (v *Vantages) LabAddress(candidate, machine, from string) (addr string, ok bool) {
	if v == nil {
		return "", false
	}
	mine := v.labNets[candidate][machine]
	if len(mine) == 0 {
		return "", false
	}
	theirs := map[string]bool{}
	for _, n := range v.labNets[candidate][from] {
		theirs[n.Network] = true
	}
	for _, n := range mine {
		if theirs[n.Network] {
			return n.Address, true
		}
	}
	return mine[0].Address, true
}

// ProbeFrom returns the machine a check's probe parameters name as their own
// vantage (a `from` parameter, as ping's) with its position, when written without
// a template; "" otherwise. Check.From is the check's vantage, not this one.
func (c *Check) ProbeFrom() (string, yamlx.Pos) {
	n := resolveAlias(c.paramsNode)
	if n == nil || n.Kind != yaml.MappingNode {
		return "", yamlx.Pos{}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		if k.Value == "from" && v != nil && v.Kind == yaml.ScalarNode && !strings.Contains(v.Value, "{{") {
			return v.Value, yamlx.Pos{File: c.file, Line: v.Line, Column: v.Column}
		}
	}
	return "", yamlx.Pos{}
}

// CheckProbeVantages reports, as CheckMachines does for `machine` and `from`, the
// probe parameters naming a vantage machine (ProbeFrom) that is not one of the
// lab's machines.
func (s *Suite) CheckProbeVantages(machines []string) error {
	known := map[string]bool{}
	for _, m := range machines {
		known[m] = true
	}
	var diags yamlx.Diagnostics
	for _, c := range s.Checks {
		if name, at := c.ProbeFrom(); name != "" && !known[name] {
			diags.Add(at, c.paramsField+".from", "unknown machine %q%s", name, yamlx.Suggest(name, machines))
		}
	}
	return diags.Err()
}
