// Package probe defines how the grader observes a lab machine: a Probe speaks one
// protocol (WinRM, SSH, LDAP, DNS, ...) and turns a batch of requests for one
// machine into observations. Each probe lives in its own sub-package and is added
// to a Registry by one line in the command that builds the grader.
package probe

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/yamlx"
)

// Credentials are what the grader presents to a machine. Secret fields never print.
type Credentials struct {
	User       string       `json:"user,omitempty"`
	Password   secret.Value `json:"password,omitempty"`
	PrivateKey secret.Value `json:"private_key,omitempty"` // PEM
	Domain     string       `json:"domain,omitempty"`
}

// Target is one lab machine as the grader reaches it over the management path.
type Target struct {
	Session   string `json:"session"`
	Candidate string `json:"candidate"`
	Machine   string `json:"machine"`
	// Address is the management address (IP or host name) the grader dials.
	Address string `json:"address"`
	// Ports overrides the default port of a transport ("ssh": 2222, "winrm": 5986).
	Ports map[string]int `json:"ports,omitempty"`
	// Credentials by transport ("ssh", "winrm", "ldap", "smb", "http"); "" is
	// the default.
	Credentials map[string]Credentials `json:"-"`
	// Identities are the machine's named credentials by transport and name
	// (`credentials: {smb: {admin: ..., pdurand: ...}}` in the lab): a check
	// that says `as: pdurand` is observed with Identities[its probe]["pdurand"]
	// in place of Credentials[its probe] (see As).
	Identities map[string]map[string]Credentials `json:"-"`
	// Masker scrubs this target's secrets from evidence.
	Masker *secret.Masker `json:"-"`
	// TLSPin, when set, is the SHA-256 fingerprint (tlspin.Fingerprint) of the
	// certificate the machine's TLS service (WinRM) presented when `tailab up`
	// found it ready: probes then trust that certificate and no other (trust on
	// first use, like SSH's known_hosts), instead of checking it against CAs.
	TLSPin string `json:"tls_sha256,omitempty"`
	// SSHHostKey, when set, is the SHA256 fingerprint ("SHA256:...", as
	// ssh-keygen -l prints it) of the SSH host key tailab generated for the
	// machine and pinned at `tailab up`: the ssh probe accepts that key and no
	// other, and another is an error naming both, never a verdict.
	SSHHostKey string `json:"ssh_host_key,omitempty"`
}

// Port returns the port for a transport, or def when the target does not override it.
func (t Target) Port(transport string, def int) int {
	if p, ok := t.Ports[transport]; ok && p > 0 {
		return p
	}
	return def
}

// Creds returns the credentials for a transport, falling back to the default ones.
func (t Target) Creds(transport string) Credentials {
	if c, ok := t.Credentials[transport]; ok {
		return c
	}
	return t.Credentials[""]
}

// As returns the target with the identity name of transport as that
// transport's credentials, for a check that says `as: name`; ok is false when
// the machine has no such identity.
func (t Target) As(transport, name string) (Target, bool) {
	c, ok := t.Identities[transport][name]
	if !ok {
		return t, false
	}
	creds := make(map[string]Credentials, len(t.Credentials)+1)
	for k, v := range t.Credentials {
		creds[k] = v
	}
	creds[transport] = c
	t.Credentials = creds
	return t, true
}

// IdentityNames lists the names of a transport's identities, sorted.
func (t Target) IdentityNames(transport string) []string {
	out := make([]string, 0, len(t.Identities[transport]))
	for n := range t.Identities[transport] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RunByPort serves a batch whose checks may name their own port (a `port:`
// parameter, portOf; 0 means the machine's): requests of one port go to run
// together, with the target's port for transport set to it, in the batch's
// order of first appearance, so each port gets its own connection. The
// observations come back in request order; the error is run's when every group
// failed (nothing could be observed), nil otherwise.
func RunByPort(ctx context.Context, t Target, transport string, reqs []Request, portOf func(Params) int,
	run func(context.Context, Target, []Request) ([]Observation, error)) ([]Observation, error) {
	var order []int
	groups := map[int][]int{}
	for i, r := range reqs {
		port := portOf(r.Params)
		if _, ok := groups[port]; !ok {
			order = append(order, port)
		}
		groups[port] = append(groups[port], i)
	}
	if len(order) <= 1 {
		if len(order) == 1 && order[0] > 0 {
			t = t.WithPort(transport, order[0])
		}
		return run(ctx, t, reqs)
	}
	out := make([]Observation, len(reqs))
	var firstErr error
	failed := 0
	for _, port := range order {
		idx := groups[port]
		sub := make([]Request, len(idx))
		for k, i := range idx {
			sub[k] = reqs[i]
		}
		gt := t
		if port > 0 {
			gt = t.WithPort(transport, port)
		}
		obs, err := run(ctx, gt, sub)
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
		}
		for k, i := range idx {
			o := Observation{ID: reqs[i].ID, Err: err}
			if k < len(obs) {
				o = obs[k]
				if o.Err == nil && err != nil {
					o.Err = err
				}
			}
			out[i] = o
		}
	}
	if failed == len(order) {
		return out, firstErr
	}
	return out, nil
}

// WithPort returns the target with transport's port set to port.
func (t Target) WithPort(transport string, port int) Target {
	ports := make(map[string]int, len(t.Ports)+1)
	for k, v := range t.Ports {
		ports[k] = v
	}
	ports[transport] = port
	t.Ports = ports
	return t
}

// ValidatePort reports a `port:` parameter outside 0-65535 (0: the machine's).
func ValidatePort(d *yamlx.Decoder, port int, pos yamlx.Pos, field string) {
	if port < 0 || port > 65535 {
		d.Diags.Add(pos, JoinField(field, "port"), "port %d out of range 1-65535", port)
	}
}

// Params are one check's probe parameters, decoded from the suite file by yamlx into
// the probe's own struct. Validate reports semantic problems (a missing field, a bad
// value) with the decoder, so they carry file:line:column.
type Params interface {
	Validate(d *yamlx.Decoder, at yamlx.Pos, field string)
}

// Request is one check's call to a probe.
type Request struct {
	ID      string        // check id, unique within the suite
	Params  Params        // the probe's own parameter struct, templated for the candidate
	Timeout time.Duration // for this request; 0 means the probe's default
	// Exclusive asks a Concurrent probe to run this request alone: the
	// requests before it end first, the ones after it start after it (a check
	// that restarts a service). Suites set it with `exclusive: true`.
	Exclusive bool
}

// Concurrent is implemented by probes that run a batch's requests at the same
// time (ssh: a machine's checks at once in its one script). Only their checks
// may declare `exclusive: true`.
type Concurrent interface {
	Probe
	// Concurrency is how many requests of one batch run at once.
	Concurrency() int
}

// Observation is what a probe saw for one request. Values holds the fields that
// `expect` matchers address (e.g. "stdout", "exit_code", "answers"). Err set means
// the probe could not observe (unreachable, authentication, timeout): the check's
// status is then `error`, never `fail`.
type Observation struct {
	ID       string         `json:"id"`
	Values   map[string]any `json:"values,omitempty"`
	Evidence string         `json:"evidence,omitempty"` // raw transcript, secrets masked
	Err      error          `json:"-"`
	Duration time.Duration  `json:"duration"`
}

// Probe observes machines over one protocol.
type Probe interface {
	// Type is the name used in suites (`probe: {type: ldap, ...}`).
	Type() string
	// NewParams returns a new, zero parameter struct to decode a check's probe into.
	NewParams() Params
	// Run executes a batch of requests against one machine, reusing one connection
	// (or one shell) for all of them, and returns one observation per request, in
	// order. It returns an error only when nothing could be observed at all; the
	// runner then marks every request of the batch as `error`.
	Run(ctx context.Context, t Target, reqs []Request) ([]Observation, error)
}

// Registry maps probe types to probes.
type Registry struct{ probes map[string]Probe }

// NewRegistry returns a registry holding the given probes.
func NewRegistry(ps ...Probe) *Registry {
	r := &Registry{probes: map[string]Probe{}}
	for _, p := range ps {
		r.Register(p)
	}
	return r
}

// Register adds a probe; a second probe of the same type panics (a programming error).
func (r *Registry) Register(p Probe) {
	if _, dup := r.probes[p.Type()]; dup {
		panic(fmt.Sprintf("probe: %q registered twice", p.Type()))
	}
	r.probes[p.Type()] = p
}

// Get returns the probe of a type.
func (r *Registry) Get(typ string) (Probe, bool) {
	p, ok := r.probes[typ]
	return p, ok
}

// Types lists the registered probe types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.probes))
	for t := range r.probes {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// ErrorObservations returns one observation per request, all carrying err: what the
// runner records when a whole batch could not run.
func ErrorObservations(reqs []Request, err error) []Observation {
	out := make([]Observation, len(reqs))
	for i, r := range reqs {
		out[i] = Observation{ID: r.ID, Err: err}
	}
	return out
}

// Timeout is the deadline of one request: the smaller of the check's own
// `timeout` parameter and the runner's Request.Timeout, or def when neither is set.
func Timeout(own time.Duration, r Request, def time.Duration) time.Duration {
	t := own
	if r.Timeout > 0 && (t == 0 || r.Timeout < t) {
		t = r.Timeout
	}
	if t <= 0 {
		t = def
	}
	return t
}

// JoinField appends key to a dotted field path, for diagnostics.
func JoinField(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}
