package archtest

// Rules are the arrows docs/architecture.md forbids ("The rule, and the test
// that enforces it"). Add a line when a room gets a rule of its own.
var Rules = []Rule{
	{
		From: []string{"provision/..."}, To: []string{"checks/probe/..."}, Deps: true,
		Why: "provision builds machines and never runs the grader's probes; faults and solution steps run in scenario",
	},
	{
		From: []string{"checks/..."}, To: []string{"labs/...", "provision/...", "exam/...", "gateway/...", "web/...", "scenario/..."}, Deps: true,
		Why: "grading stays independent of the lab model, provisioning and the workflows (and builds without cgo)",
	},
	{
		From: []string{"labs/..."}, To: []string{"checks/...", "provision/..."}, Deps: true,
		Why: "the lab model is a leaf beside checks",
	},
	{
		// gateway keeps buckets of its own (endpoints, logins), not gradings.
		From: []string{"..."}, To: []string{"internal/store"}, Except: []string{"results/...", "provision/...", "gateway/..."},
		Why: "the store is opened through its owners: results for gradings, provision for session state",
	},
	{
		From: []string{"..."}, To: []string{"cmd/..."}, Except: []string{"cmd/..."},
		Why: "nothing imports the command line",
	},
	{
		From: []string{"..."}, To: []string{"provision/libvirt/..."}, Except: []string{"cmd/tailab", "provision/libvirt/..."},
		Why: "the libvirt provider needs cgo: only the binary that offers it links it",
	},
}
