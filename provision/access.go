package provision

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tailab/tailab/internal/audit"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/labs"
)

// Console is how to open one machine's graphical console.
type Console struct {
	Type string `json:"type"` // vnc (spice later)
	Host string `json:"host"` // the address it listens on, as the admin named it
	// Port is the live port (libvirt allocates it when the machine starts); 0
	// when the machine is not running.
	Port int `json:"port,omitempty"`
	// Password is the candidate's console password; the JSON shows it masked
	// unless the caller copies it to Shown.
	Password secret.Value `json:"-"`
	Shown    string       `json:"password,omitempty"`
}

// Address is host:port, or "" when the console has no port yet.
func (c *Console) Address() string {
	if c == nil || c.Port == 0 {
		return ""
	}
	return joinHostPort(c.Host, c.Port)
}

func joinHostPort(h string, p int) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]:" + strconv.Itoa(p)
	}
	return h + ":" + strconv.Itoa(p)
}

// VirtViewerFile is the console as a virt-viewer connection file (.vv), which
// `remote-viewer FILE.vv` opens. It holds the password in clear: write it 0600.
func (c *Console) VirtViewerFile(title string) []byte {
	var b strings.Builder
	b.WriteString("[virt-viewer]\n")
	fmt.Fprintf(&b, "type=%s\nhost=%s\nport=%d\n", c.Type, c.Host, c.Port)
	if !c.Password.IsZero() {
		fmt.Fprintf(&b, "password=%s\n", c.Password.Reveal())
	}
	if title != "" {
		fmt.Fprintf(&b, "title=%s\n", strings.NewReplacer("\n", " ", "\r", " ").Replace(title))
	}
	b.WriteString("delete-this-file=0\nfullscreen=0\n")
	return []byte(b.String())
}

// Endpoint is a network service of a machine someone may log in to.
type Endpoint struct {
	Proto   string `json:"proto"` // ssh, rdp, winrm
	Address string `json:"address"`
	Port    int    `json:"port"`
	User    string `json:"user,omitempty"`
	Network string `json:"network"` // the lab network it is on, or "mgmt" (admin and grader only)
}

// MachineAccess is how one candidate machine can be reached.
type MachineAccess struct {
	Session     string            `json:"session"`
	Candidate   string            `json:"candidate"`
	Machine     string            `json:"machine"`
	Kind        string            `json:"kind"`
	OS          string            `json:"os"`
	Role        string            `json:"role,omitempty"`
	State       string            `json:"state"` // running, stopped, missing
	MgmtAddress string            `json:"mgmt_address,omitempty"`
	Addresses   map[string]string `json:"addresses,omitempty"` // lab network → address
	Console     *Console          `json:"console,omitempty"`
	Endpoints   []Endpoint        `json:"endpoints,omitempty"`
}

// Accessor is implemented by providers that can tell how to reach machines.
type Accessor interface {
	// Access lists, for every machine of the instances, its console (as the
	// live machine has it) and endpoints. Console passwords are left empty:
	// they live in the State.
	Access(ctx context.Context, s *Session, ins []*labs.Instance) ([]MachineAccess, error)
}

// Snapshot is a saved state of one machine.
type Snapshot struct {
	Candidate string    `json:"candidate"`
	Machine   string    `json:"machine"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// State is the machine's state when it was taken: running (disk and
	// memory: revert resumes it) or shutoff (disk only: revert boots it).
	State string `json:"state,omitempty"`
	Kind  string `json:"kind"` // internal (qcow2) or dir (a container's private dir)
}

// Snapshotter is implemented by providers that can save, restore and reset
// machines. machine names one machine of the instance. Revert and Reset leave
// the machine running and, unless opts.NoWait, ready; they report its states to
// obs like Apply does.
type Snapshotter interface {
	CreateSnapshot(ctx context.Context, s *Session, in *labs.Instance, machine, name string) (Snapshot, error)
	ListSnapshots(ctx context.Context, s *Session, in *labs.Instance, machine string) ([]Snapshot, error)
	RevertSnapshot(ctx context.Context, s *Session, in *labs.Instance, machine, name string, opts ApplyOptions, obs Observer) error
	DeleteSnapshot(ctx context.Context, s *Session, in *labs.Instance, machine, name string) error
	// Reset brings a machine back to the state it had when the lab came up.
	Reset(ctx context.Context, s *Session, in *labs.Instance, machine string, opts ApplyOptions, obs Observer) error
}

// ErrUnsupported is returned when the session's provider cannot do what was asked.
var ErrUnsupported = errors.New("not supported by this provider")

// Access returns how to reach the machines of the session (or of the listed
// candidates), with each candidate's console password filled in.
func (e *Engine) Access(ctx context.Context, s *Session, candidates []string) ([]MachineAccess, error) {
	a, ok := e.Provider.(Accessor)
	if !ok {
		return nil, fmt.Errorf("access: provider %s: %w", e.Provider.Name(), ErrUnsupported)
	}
	ins, err := s.Instances(candidates...)
	if err != nil {
		return nil, err
	}
	out, err := a.Access(ctx, s, ins)
	if err != nil {
		return nil, err
	}
	pw := map[string]secret.Value{}
	for i := range out {
		c := out[i].Console
		if c == nil {
			continue
		}
		v, ok := pw[out[i].Candidate]
		if !ok {
			if v, err = e.State.ConsolePassword(s.Name, out[i].Candidate); err != nil {
				return nil, err
			}
			pw[out[i].Candidate] = v
		}
		c.Password = v
	}
	return out, nil
}

// target resolves one candidate's instance and the machines an action is for
// (machine "" means all of them).
func (e *Engine) target(s *Session, candidate, machine string) (Snapshotter, *labs.Instance, []string, error) {
	sn, ok := e.Provider.(Snapshotter)
	if !ok {
		return nil, nil, nil, fmt.Errorf("provider %s: %w", e.Provider.Name(), ErrUnsupported)
	}
	if candidate == "" {
		return nil, nil, nil, errors.New("a candidate is required")
	}
	ins, err := s.Instances(candidate)
	if err != nil {
		return nil, nil, nil, err
	}
	in := ins[0]
	if machine != "" {
		if _, ok := in.Machine(machine); !ok {
			var names []string
			for _, m := range in.Machines {
				names = append(names, m.Name)
			}
			return nil, nil, nil, fmt.Errorf("lab %s has no machine %q (machines: %s)", s.Lab, machine, strings.Join(names, ", "))
		}
		return sn, in, []string{machine}, nil
	}
	var names []string
	for _, m := range in.Machines {
		names = append(names, m.Name)
	}
	return sn, in, names, nil
}

func (e *Engine) applyOptions(s *Session, opts ApplyOptions) (ApplyOptions, error) {
	if opts.Secrets == nil {
		lab, err := s.LoadLab()
		if err != nil {
			return opts, err
		}
		opts.Secrets = func(candidate string) (map[string]secret.Value, error) {
			return e.State.Secrets(s.Name, lab, candidate)
		}
	}
	return opts, nil
}

// audited writes the action to the session's audit log before doing it, and
// its failure after, so the log shows every attempt even if tailab is killed.
func (e *Engine) audited(s *Session, action, candidate, machine string, facts *audit.Facts, do func() error) error {
	if err := e.State.Audit(s.Name, AuditEntry{Action: action, Candidate: candidate, Machine: machine, Facts: facts}); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	start := time.Now()
	err := do()
	if err != nil {
		failed := audit.Failure(time.Since(start), err)
		if aerr := e.State.Audit(s.Name, AuditEntry{Action: action, Candidate: candidate, Machine: machine, Facts: failed}); aerr != nil {
			err = errors.Join(err, fmt.Errorf("audit log: %w", aerr))
		}
	}
	return err
}

// CreateSnapshot saves the state of one candidate's machine (or all of them)
// under name, and writes it to the audit log.
func (e *Engine) CreateSnapshot(ctx context.Context, s *Session, candidate, machine, name string) ([]Snapshot, error) {
	release, err := e.Hold(s.Name, "snapshot")
	if err != nil {
		return nil, err
	}
	defer release()
	if err := ValidateName("snapshot name", name); err != nil {
		return nil, err
	}
	sn, in, machines, err := e.target(s, candidate, machine)
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	for _, m := range machines {
		err := e.audited(s, "snapshot", candidate, m, &audit.Facts{Op: "create", Snapshot: name}, func() error {
			snap, err := sn.CreateSnapshot(ctx, s, in, m, name)
			out = append(out, snap)
			return err
		})
		if err != nil {
			return out, fmt.Errorf("%s/%s: %w", candidate, m, err)
		}
	}
	return out, nil
}

// ListSnapshots lists the snapshots of one candidate's machine (or all of them).
func (e *Engine) ListSnapshots(ctx context.Context, s *Session, candidate, machine string) ([]Snapshot, error) {
	sn, in, machines, err := e.target(s, candidate, machine)
	if err != nil {
		return nil, err
	}
	out := []Snapshot{}
	for _, m := range machines {
		snaps, err := sn.ListSnapshots(ctx, s, in, m)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", candidate, m, err)
		}
		out = append(out, snaps...)
	}
	return out, nil
}

// DeleteSnapshot removes a named snapshot of one candidate's machine (or of all).
func (e *Engine) DeleteSnapshot(ctx context.Context, s *Session, candidate, machine, name string) error {
	release, err := e.Hold(s.Name, "snapshot")
	if err != nil {
		return err
	}
	defer release()
	sn, in, machines, err := e.target(s, candidate, machine)
	if err != nil {
		return err
	}
	for _, m := range machines {
		if err := e.audited(s, "snapshot", candidate, m, &audit.Facts{Op: "delete", Snapshot: name}, func() error {
			return sn.DeleteSnapshot(ctx, s, in, m, name)
		}); err != nil {
			return fmt.Errorf("%s/%s: %w", candidate, m, err)
		}
	}
	return nil
}

// RevertSnapshot brings one candidate's machine (or all) back to a named
// snapshot, records machine states and writes the audit log.
func (e *Engine) RevertSnapshot(ctx context.Context, s *Session, candidate, machine, name string, opts ApplyOptions, obs Observer) error {
	release, err := e.Hold(s.Name, "revert")
	if err != nil {
		return err
	}
	defer release()
	sn, in, machines, err := e.target(s, candidate, machine)
	if err != nil {
		return err
	}
	if opts, err = e.applyOptions(s, opts); err != nil {
		return err
	}
	return e.each(s, "revert", candidate, machines, &audit.Facts{Snapshot: name}, obs, func(m string, rec Observer) error {
		return sn.RevertSnapshot(ctx, s, in, m, name, opts, rec)
	})
}

// Reset brings one candidate's machine (or all) back to the state it had when
// the lab came up, records machine states and writes the audit log.
func (e *Engine) Reset(ctx context.Context, s *Session, candidate, machine string, opts ApplyOptions, obs Observer) error {
	release, err := e.Hold(s.Name, "reset")
	if err != nil {
		return err
	}
	defer release()
	sn, in, machines, err := e.target(s, candidate, machine)
	if err != nil {
		return err
	}
	if opts, err = e.applyOptions(s, opts); err != nil {
		return err
	}
	return e.each(s, "reset", candidate, machines, nil, obs, func(m string, rec Observer) error {
		return sn.Reset(ctx, s, in, m, opts, rec)
	})
}

func (e *Engine) each(s *Session, action, candidate string, machines []string, facts *audit.Facts, obs Observer, do func(string, Observer) error) error {
	for _, m := range machines {
		rec := newRecorder(e.State, obs)
		err := e.audited(s, action, candidate, m, facts, func() error {
			err := do(m, rec)
			if serr := rec.close(); serr != nil {
				err = errors.Join(err, fmt.Errorf("record machine state: %w", serr))
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("%s/%s: %w", candidate, m, err)
		}
	}
	return nil
}
