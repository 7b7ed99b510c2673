package provision

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/labs"
)

// Op is what a plan does to a resource.
type Op string

// Plan operations.
const (
	OpCreate  Op = "create"
	OpKeep    Op = "keep"
	OpReplace Op = "replace" // exists but drifted from the lab: destroyed and created again
	OpRemove  Op = "remove"  // belongs to the session but no longer to its lab
)

// Resource is one thing a provider manages.
type Resource struct {
	Type      string `json:"type"` // network, volume, domain, dir
	Name      string `json:"name"`
	Candidate string `json:"candidate,omitempty"`
	Machine   string `json:"machine,omitempty"`
	Host      string `json:"host,omitempty"`
}

// Action is one step of a plan.
type Action struct {
	Op       Op       `json:"op"`
	Resource Resource `json:"resource"`
	Reason   string   `json:"reason,omitempty"`
}

// ReasonStopped is the reason of a kept machine that exists but does not run
// (the candidate stopped it from inside, it crashed, the host restarted): the
// plan starts it, and what it held in memory is gone (exam.RecordStarted).
const ReasonStopped = "defined but not running: will be started"

// Plan is what Apply would do. `up --dry-run` prints it.
type Plan struct {
	Session   *Session         `json:"-"`
	Instances []*labs.Instance `json:"-"`
	Actions   []Action         `json:"actions"`
	Needs     Capacity         `json:"needs"`
	Offers    Capacity         `json:"offers"`
	Private   any              `json:"-"` // provider-specific details for Apply
}

// Count returns how many actions have op.
func (p *Plan) Count(op Op) int {
	n := 0
	for _, a := range p.Actions {
		if a.Op == op {
			n++
		}
	}
	return n
}

// Summary is "3 to create, 2 to keep, 0 to replace, 0 to remove".
func (p *Plan) Summary() string {
	return fmt.Sprintf("%d to create, %d to keep, %d to replace, %d to remove",
		p.Count(OpCreate), p.Count(OpKeep), p.Count(OpReplace), p.Count(OpRemove))
}

// Capacity is an amount of host resources.
type Capacity struct {
	CPUs      int   `json:"cpus"`
	MemoryMiB int64 `json:"memory_mib"`
	DiskMiB   int64 `json:"disk_mib"`
}

// Machine states as recorded in the store.
const (
	StateDefined  = "defined"
	StateRunning  = "running"
	StateReady    = "ready"
	StateNotReady = "not-ready" // running, but readiness timed out
	StateError    = "error"
	StateMissing  = "missing" // recorded, but the provider does not have it
	StateStopped  = "stopped"
)

// MachineState is one candidate machine as provisioned: what `status` prints and
// what the grader dials.
type MachineState struct {
	Session     string            `json:"session"`
	Candidate   string            `json:"candidate"`
	Machine     string            `json:"machine"`
	Role        string            `json:"role"`
	Kind        string            `json:"kind"`
	OS          string            `json:"os"`
	Host        string            `json:"host,omitempty"`   // where it runs (provider URI)
	Domain      string            `json:"domain,omitempty"` // provider resource name
	MgmtAddress string            `json:"mgmt_address,omitempty"`
	Addresses   map[string]string `json:"addresses,omitempty"` // lab network → address
	State       string            `json:"state"`
	Error       string            `json:"error,omitempty"`
	ReadyAt     time.Time         `json:"ready_at,omitempty"`
	UpdatedAt   time.Time         `json:"updated_at"`
	// TLSPin is the SHA-256 (tlspin.Fingerprint) of the certificate the
	// machine's WinRM listener presented when its readiness check passed: the
	// grader and the steps trust that certificate only (see NoteTLSPin).
	TLSPin string `json:"tls_sha256,omitempty"`
	// UIDBase is, for a contained container, the host uid its root maps to
	// (a user namespace of its own, no host file system: provision/libvirt's
	// contain.go). 0: not contained; the gateway hands no shell there.
	UIDBase uint32 `json:"uid_base,omitempty"`
	// SSHHostKey is the SHA256 fingerprint ("SHA256:...") of the SSH host key
	// the provider generated for the machine: the grader, the steps and the
	// gateway accept that key only (probe.Target.SSHHostKey).
	SSHHostKey string `json:"ssh_host_key,omitempty"`
	// Ports are the machine's ports by transport ("ssh": 2222) when they are
	// not the protocol's (an existing machine's, from the static inventory):
	// the grader dials them (probe.Target.Ports).
	Ports map[string]int `json:"ports,omitempty"`
	// Reach is, for an existing machine, what its last reachability check
	// found per transport: "ok" or why not ("smb 10.0.0.5:445: connection
	// refused").
	Reach map[string]string `json:"reach,omitempty"`
	// FirstSeenHostKey is the SSH host key an existing machine presented at
	// `up` when nothing pinned one (trust on first use): State.PutMachines
	// pins it unless a key was pinned before, so a changed key stays an error.
	FirstSeenHostKey string `json:"-"`
	// FirstSeenTLSPin is, likewise, the certificate an existing machine's
	// WinRM listener presented at `up` when nothing pinned one.
	FirstSeenTLSPin string `json:"-"`
}

// Key is the store key of a machine state.
func (m MachineState) Key() string { return m.Candidate + "/" + m.Machine }

// Event is a progress notification from Apply or Destroy.
type Event struct {
	Time      time.Time `json:"time"`
	Candidate string    `json:"candidate,omitempty"`
	Machine   string    `json:"machine,omitempty"`
	Resource  string    `json:"resource,omitempty"`
	What      string    `json:"what"` // created, started, ready, destroyed, failed, kept
	Err       error     `json:"-"`
	Elapsed   time.Duration
}

// Observer receives progress events and machine states as they change. Apply
// calls it from several goroutines; implementations must be safe for that.
type Observer interface {
	Event(Event)
	Machine(MachineState)
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	Parallel int  // machines created at once (default 8)
	Force    bool // skip the admission check
	NoWait   bool // do not wait for readiness
	// ForceCancel cancels a run in progress instead of following it
	// (terraform provider: `up --force-cancel`, for a run stuck for good).
	ForceCancel bool
	// Secrets returns a candidate's secrets (by the names the lab declares).
	Secrets func(candidate string) (map[string]secret.Value, error)
}

// Provider provisions labs. Implementations are idempotent: Apply reconciles with
// what exists, Destroy removes what exists and succeeds when nothing does.
type Provider interface {
	Name() string
	// Plan compares the session's instances with what exists.
	Plan(ctx context.Context, s *Session, ins []*labs.Instance) (*Plan, error)
	// Apply carries out a plan, reporting progress and machine states to obs.
	Apply(ctx context.Context, p *Plan, opts ApplyOptions, obs Observer) error
	// Destroy removes every resource of the session (or of the listed candidates).
	Destroy(ctx context.Context, s *Session, candidates []string, obs Observer) error
	// Status reports the live state of the session's machines.
	Status(ctx context.Context, s *Session, ins []*labs.Instance) ([]MachineState, error)
	// Orphans lists tailab resources whose session is not in keep.
	Orphans(ctx context.Context, keep map[string]bool) ([]Resource, error)
	// RemoveOrphans removes resources listed by Orphans.
	RemoveOrphans(ctx context.Context, rs []Resource) error
	// Close releases connections.
	Close() error
}

// Factory builds a provider. The command line registers one per back-end,
// closing over that back-end's typed configuration (filled from its flags and
// environment): providers take no untyped options.
type Factory func() (Provider, error)

// Registry maps provider names to factories.
type Registry struct{ m map[string]Factory }

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]Factory{}} }

// Register adds a provider factory.
func (r *Registry) Register(name string, f Factory) { r.m[name] = f }

// Names lists registered providers, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// New builds the named provider.
func (r *Registry) New(name string) (Provider, error) {
	f, ok := r.m[name]
	if !ok && len(r.m) == 0 {
		return nil, fmt.Errorf("this tailab was built without provisioning back-ends (-tags nolibvirt): it validates labs and grades sessions only")
	}
	if !ok {
		return nil, fmt.Errorf("unknown provider %q (available: %s)", name, strings.Join(r.Names(), ", "))
	}
	return f()
}

// Admit refuses a plan whose new machines need more than the host offers:
// memory and disk as measured, and vCPUs up to 8 per host CPU (a lab machine
// idles most of the exam).
func Admit(plan *Plan) error {
	var problems []string
	n, o := plan.Needs, plan.Offers
	if o.MemoryMiB > 0 && n.MemoryMiB > o.MemoryMiB {
		problems = append(problems, fmt.Sprintf("memory: the new machines need %d MiB, the host has %d MiB free", n.MemoryMiB, o.MemoryMiB))
	}
	if o.CPUs > 0 && n.CPUs > 8*o.CPUs {
		problems = append(problems, fmt.Sprintf("CPU: the new machines need %d vCPUs, more than 8 per host CPU (%d CPUs)", n.CPUs, o.CPUs))
	}
	if o.DiskMiB > 0 && n.DiskMiB > o.DiskMiB {
		problems = append(problems, fmt.Sprintf("disk: the new disks may grow to %d MiB, the pool has %d MiB free", n.DiskMiB, o.DiskMiB))
	}
	if len(problems) > 0 {
		return fmt.Errorf("the host cannot take this session (--force to try anyway):\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
