package libvirt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	lv "libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/tailab/tailab/internal/beneath"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// Snapshots and reset.
//
// VMs: libvirt internal snapshots inside the machine's qcow2 overlays (an
// overlay with a backing file holds them like any qcow2). Taken from a running
// VM, a snapshot holds disk and memory, and reverting resumes the VM where it
// was; taken from a stopped VM, it holds the disks, and reverting boots them.
// Read-only and raw disks (the seed ISO) are left out.
//
// Containers: a copy of the private dir (/srv and the machine's files: a
// container's only writable layer) in DIR/snapshots/NAME, taken with the
// container frozen, not restarted (whileFrozen: what it holds in RAM stays),
// and restored with it stopped (a revert restarts it: exam.Guard reads the
// drawn faults before and puts back those the restart lost); the data dir is
// hidden from every container, so no candidate reads a snapshot.
//
// Reset: VMs get fresh overlays of their base image (their snapshots go with
// the old overlays) and containers a private dir generated anew (keeping the
// SSH host key, so known_hosts stay valid; their snapshots stay), exactly as
// `up` made them, then start and wait until ready.

var _ provision.Snapshotter = (*Provider)(nil)

// spec returns the spec of one machine of an instance (only that machine's:
// a container's snapshot does not need the VMs' images).
func (p *Provider) spec(s *provision.Session, in *labs.Instance, machine string) (*machineSpec, error) {
	for mi := range in.Machines {
		if in.Machines[mi].Name == machine {
			sp, err := p.machineSpec(s, in, mi)
			if err != nil {
				return nil, fmt.Errorf("machine %s: %w", machine, err)
			}
			return sp, nil
		}
	}
	return nil, fmt.Errorf("lab %s has no machine %q", s.Lab, machine)
}

// domain looks up a machine's domain; the caller frees it.
func (p *Provider) domain(sp *machineSpec) (*lv.Domain, error) {
	c, err := p.conn(sp.Type)
	if err != nil {
		return nil, err
	}
	dom, err := c.LookupDomainByName(sp.Domain)
	if isNotFound(err) {
		return nil, fmt.Errorf("machine %s/%s does not exist (run `tailab up`)", sp.Candidate, sp.Machine.Name)
	}
	if err != nil {
		return nil, err
	}
	return dom, nil
}

func checkSnapshotName(name string) error {
	if !provision.NameRe.MatchString(name) {
		return fmt.Errorf("snapshot name %q: use 1-20 lower-case letters, digits or '-'", name)
	}
	return nil
}

// CreateSnapshot saves a machine's state under name.
func (p *Provider) CreateSnapshot(ctx context.Context, s *provision.Session, in *labs.Instance, machine, name string) (provision.Snapshot, error) {
	if p.multi() {
		v, err := p.hostView(s, in)
		if err != nil {
			return provision.Snapshot{}, err
		}
		return v.CreateSnapshot(ctx, s, in, machine, name)
	}
	if err := checkSnapshotName(name); err != nil {
		return provision.Snapshot{}, err
	}
	sp, err := p.spec(s, in, machine)
	if err != nil {
		return provision.Snapshot{}, err
	}
	if sp.Type == "lxc" {
		return p.createDirSnapshot(ctx, sp, name)
	}
	dom, err := p.domain(sp)
	if err != nil {
		return provision.Snapshot{}, err
	}
	defer dom.Free()
	if snap, err := dom.SnapshotLookupByName(name, 0); err == nil {
		snap.Free()
		return provision.Snapshot{}, fmt.Errorf("snapshot %q already exists", name)
	}
	x, err := snapshotXML(dom, name)
	if err != nil {
		return provision.Snapshot{}, err
	}
	snap, err := dom.CreateSnapshotXML(x, lv.DOMAIN_SNAPSHOT_CREATE_ATOMIC)
	if err != nil {
		hint := ""
		if sp.Machine.Firmware == "uefi" {
			hint = " (libvirt cannot take internal snapshots of UEFI VMs: use `tailab reset`)"
		}
		return provision.Snapshot{}, fmt.Errorf("create snapshot %q: %w%s", name, err, hint)
	}
	defer snap.Free()
	return snapshotInfo(sp, snap)
}

// snapshotXML asks for an internal snapshot of every writable qcow2 disk.
func snapshotXML(dom *lv.Domain, name string) (string, error) {
	x, err := dom.GetXMLDesc(lv.DOMAIN_XML_INACTIVE)
	if err != nil {
		return "", fmt.Errorf("domain XML: %w", err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		return "", err
	}
	ds := &libvirtxml.DomainSnapshot{Name: name, Description: "tailab", Disks: &libvirtxml.DomainSnapshotDisks{}}
	if d.Devices != nil {
		for _, disk := range d.Devices.Disks {
			if disk.Target == nil {
				continue
			}
			mode := "no"
			if disk.ReadOnly == nil && disk.Driver != nil && disk.Driver.Type == "qcow2" {
				mode = "internal"
			}
			ds.Disks.Disks = append(ds.Disks.Disks, libvirtxml.DomainSnapshotDisk{Name: disk.Target.Dev, Snapshot: mode})
		}
	}
	return ds.Marshal()
}

func snapshotInfo(sp *machineSpec, snap *lv.DomainSnapshot) (provision.Snapshot, error) {
	x, err := snap.GetXMLDesc(0)
	if err != nil {
		return provision.Snapshot{}, err
	}
	var ds libvirtxml.DomainSnapshot
	if err := ds.Unmarshal(x); err != nil {
		return provision.Snapshot{}, err
	}
	sec, _ := strconv.ParseInt(ds.CreationTime, 10, 64)
	return provision.Snapshot{Candidate: sp.Candidate, Machine: sp.Machine.Name, Name: ds.Name,
		CreatedAt: time.Unix(sec, 0).UTC(), State: ds.State, Kind: "internal"}, nil
}

// ListSnapshots lists a machine's snapshots, oldest first.
func (p *Provider) ListSnapshots(ctx context.Context, s *provision.Session, in *labs.Instance, machine string) ([]provision.Snapshot, error) {
	if p.multi() {
		v, err := p.hostView(s, in)
		if err != nil {
			return nil, err
		}
		return v.ListSnapshots(ctx, s, in, machine)
	}
	sp, err := p.spec(s, in, machine)
	if err != nil {
		return nil, err
	}
	var out []provision.Snapshot
	if sp.Type == "lxc" {
		out, err = listDirSnapshots(sp)
	} else {
		out, err = p.listVMSnapshots(sp)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].Name < out[j].Name
	})
	return out, err
}

func (p *Provider) listVMSnapshots(sp *machineSpec) ([]provision.Snapshot, error) {
	dom, err := p.domain(sp)
	if err != nil {
		return nil, err
	}
	defer dom.Free()
	snaps, err := dom.ListAllSnapshots(0)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var out []provision.Snapshot
	var errs []error
	for i := range snaps {
		info, err := snapshotInfo(sp, &snaps[i])
		if err != nil {
			errs = append(errs, err)
		} else {
			out = append(out, info)
		}
		snaps[i].Free()
	}
	return out, errors.Join(errs...)
}

// RevertSnapshot brings a machine back to a snapshot and waits until it is ready.
func (p *Provider) RevertSnapshot(ctx context.Context, s *provision.Session, in *labs.Instance, machine, name string, opts provision.ApplyOptions, obs provision.Observer) error {
	if p.multi() {
		v, err := p.hostView(s, in)
		if err != nil {
			return err
		}
		return v.RevertSnapshot(ctx, s, in, machine, name, opts, obs)
	}
	if err := checkSnapshotName(name); err != nil {
		return err
	}
	sp, err := p.spec(s, in, machine)
	if err != nil {
		return err
	}
	start := time.Now()
	if sp.Type == "lxc" {
		dir := filepath.Join(sp.Dir, "snapshots", name)
		if !fileExists(filepath.Join(dir, "snapshot.json")) {
			return fmt.Errorf("no snapshot %q (see `tailab snapshot list`)", name)
		}
		_, err := p.whileStopped(sp, func() error {
			if err := removePrivate(sp); err != nil {
				return err
			}
			if err := copyPrivate(ctx, dir, sp.Dir); err != nil {
				return err
			}
			if err := withDir(sp.Dir, func(d *beneath.Dir) error { return installHostKey(sp, d) }); err != nil {
				return err
			}
			if !sp.Contained {
				return nil
			}
			base, err := p.uidBase(sp) // the key copied back is the machine's root's
			if err != nil {
				return err
			}
			return chownPrivate(sp.Dir, base)
		})
		if err != nil {
			return err
		}
		return p.startAndWait(ctx, sp, "reverted to "+name, start, opts, obs)
	}
	dom, err := p.domain(sp)
	if err != nil {
		return err
	}
	defer dom.Free()
	snap, err := dom.SnapshotLookupByName(name, 0)
	if err != nil {
		if isNoSnapshot(err) {
			return fmt.Errorf("no snapshot %q (see `tailab snapshot list`)", name)
		}
		return err
	}
	defer snap.Free()
	if err := snap.RevertToSnapshot(lv.DOMAIN_SNAPSHOT_REVERT_RUNNING | lv.DOMAIN_SNAPSHOT_REVERT_FORCE); err != nil {
		return fmt.Errorf("revert to snapshot %q: %w", name, err)
	}
	return p.startAndWait(ctx, sp, "reverted to "+name, start, opts, obs)
}

// DeleteSnapshot removes a snapshot.
func (p *Provider) DeleteSnapshot(ctx context.Context, s *provision.Session, in *labs.Instance, machine, name string) error {
	if p.multi() {
		v, err := p.hostView(s, in)
		if err != nil {
			return err
		}
		return v.DeleteSnapshot(ctx, s, in, machine, name)
	}
	if err := checkSnapshotName(name); err != nil {
		return err
	}
	sp, err := p.spec(s, in, machine)
	if err != nil {
		return err
	}
	if sp.Type == "lxc" {
		dir := filepath.Join(sp.Dir, "snapshots", name)
		if !fileExists(dir) {
			return fmt.Errorf("no snapshot %q", name)
		}
		return os.RemoveAll(dir)
	}
	dom, err := p.domain(sp)
	if err != nil {
		return err
	}
	defer dom.Free()
	snap, err := dom.SnapshotLookupByName(name, 0)
	if err != nil {
		if isNoSnapshot(err) {
			return fmt.Errorf("no snapshot %q", name)
		}
		return err
	}
	defer snap.Free()
	if err := snap.Delete(0); err != nil {
		return fmt.Errorf("delete snapshot %q: %w", name, err)
	}
	return nil
}

// Reset brings a machine back to the state `up` made it in: fresh overlays of
// the base image for a VM, a private dir generated anew for a container.
func (p *Provider) Reset(ctx context.Context, s *provision.Session, in *labs.Instance, machine string, opts provision.ApplyOptions, obs provision.Observer) error {
	if p.multi() {
		v, err := p.hostView(s, in)
		if err != nil {
			return err
		}
		return v.Reset(ctx, s, in, machine, opts, obs)
	}
	sp, err := p.spec(s, in, machine)
	if err != nil {
		return err
	}
	start := time.Now()
	dom, err := p.domain(sp)
	if err != nil {
		return err
	}
	defer dom.Free()
	if err := dom.Destroy(); err != nil && !isNotRunning(err) {
		return fmt.Errorf("stop: %w", err)
	}
	if sp.Type == "lxc" {
		if err := removePrivate(sp); err != nil {
			return err
		}
	} else {
		// The overlays are about to be replaced: their internal snapshots go
		// with them, and libvirt must forget them.
		snaps, err := dom.ListAllSnapshots(0)
		if err != nil {
			return fmt.Errorf("list snapshots: %w", err)
		}
		for i := range snaps {
			err := snaps[i].Delete(lv.DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
			snaps[i].Free()
			if err != nil && !isNoSnapshot(err) {
				return fmt.Errorf("forget snapshot: %w", err)
			}
		}
	}
	if err := p.prepare(sp, opts); err != nil {
		return err
	}
	return p.startAndWait(ctx, sp, "reset", start, opts, obs)
}

// startAndWait starts a machine unless it runs, then waits until it is ready,
// reporting its states like Apply.
func (p *Provider) startAndWait(ctx context.Context, sp *machineSpec, what string, start time.Time, opts provision.ApplyOptions, obs provision.Observer) error {
	dom, err := p.domain(sp)
	if err != nil {
		return err
	}
	defer dom.Free()
	if active, _ := dom.IsActive(); !active {
		if err := p.startDomain(dom, sp); err != nil {
			obs.Machine(p.state(sp, provision.StateError, err))
			return err
		}
	}
	obs.Machine(p.state(sp, provision.StateRunning, nil))
	obs.Event(provision.Event{Time: time.Now(), Candidate: sp.Candidate, Machine: sp.Machine.Name, Resource: sp.Domain, What: what, Elapsed: time.Since(start)})
	if opts.NoWait {
		return nil
	}
	pin, err := waitReady(ctx, sp, nil)
	if err != nil {
		obs.Machine(p.state(sp, provision.StateNotReady, err))
		obs.Event(provision.Event{Time: time.Now(), Candidate: sp.Candidate, Machine: sp.Machine.Name, What: "not ready", Err: err})
		return err
	}
	ms := p.state(sp, provision.StateReady, nil)
	ms.ReadyAt, ms.TLSPin = time.Now().UTC(), pin
	obs.Machine(ms)
	obs.Event(provision.Event{Time: time.Now(), Candidate: sp.Candidate, Machine: sp.Machine.Name, What: "ready", Elapsed: time.Since(start)})
	return nil
}

// whileStopped runs fn with the machine stopped and starts it again if it ran
// (without waiting: the caller does); it reports whether it ran.
func (p *Provider) whileStopped(sp *machineSpec, fn func() error) (bool, error) {
	dom, err := p.domain(sp)
	if err != nil {
		return false, err
	}
	defer dom.Free()
	active, _ := dom.IsActive()
	if active {
		if err := dom.Destroy(); err != nil && !isNotRunning(err) {
			return active, fmt.Errorf("stop: %w", err)
		}
	}
	err = fn()
	if active {
		if serr := p.startDomain(dom, sp); serr != nil {
			err = errors.Join(err, fmt.Errorf("start again: %w", serr))
		}
	}
	return active, err
}

// whileFrozen runs fn with a running container's processes frozen (libvirt's
// suspend: the LXC driver's freezer cgroup) and thaws them after: fn sees its
// private dir still, and the machine loses nothing it holds in RAM (a tmpfs, a
// stopped or started service: a drawn fault such as a full tmpfs share stays
// as it was, where a restart would repair it). A container libvirt cannot
// freeze (no freezer cgroup) is stopped and started again instead (whileStopped;
// restarted then says so: the caller waits until it is ready, and exam.Guard
// puts back the faults the restart lost). A paused container stays paused.
func (p *Provider) whileFrozen(sp *machineSpec, fn func() error) (wasRunning, restarted bool, err error) {
	dom, err := p.domain(sp)
	if err != nil {
		return false, false, err
	}
	defer dom.Free()
	state, _, err := dom.GetState()
	if err != nil {
		return false, false, fmt.Errorf("domain state: %w", err)
	}
	switch state {
	case lv.DOMAIN_PAUSED:
		return true, false, fn()
	case lv.DOMAIN_RUNNING:
	default:
		return false, false, fn()
	}
	if serr := dom.Suspend(); serr != nil {
		wasRunning, err = p.whileStopped(sp, fn)
		return wasRunning, wasRunning, err
	}
	err = fn()
	if rerr := dom.Resume(); rerr != nil {
		err = errors.Join(err, fmt.Errorf("thaw: %w", rerr))
	}
	return true, false, err
}

// dirSnapshot is DIR/snapshots/NAME/snapshot.json.
type dirSnapshot struct {
	CreatedAt time.Time `json:"created_at"`
	State     string    `json:"state"`
}

func (p *Provider) createDirSnapshot(ctx context.Context, sp *machineSpec, name string) (provision.Snapshot, error) {
	root := filepath.Join(sp.Dir, "snapshots")
	dir := filepath.Join(root, name)
	if fileExists(dir) {
		return provision.Snapshot{}, fmt.Errorf("snapshot %q already exists", name)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return provision.Snapshot{}, err
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return provision.Snapshot{}, err
	}
	meta := dirSnapshot{CreatedAt: time.Now().UTC().Truncate(time.Second), State: "shutoff"}
	copyTo := func() error {
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			return err
		}
		return copyPrivate(ctx, sp.Dir, tmp)
	}
	wasRunning, restarted, err := p.whileFrozen(sp, copyTo)
	if err != nil {
		os.RemoveAll(tmp)
		return provision.Snapshot{}, err
	}
	if wasRunning {
		meta.State = "running"
	}
	b, _ := json.Marshal(meta)
	if err := writeFile(filepath.Join(tmp, "snapshot.json"), b, 0o600); err != nil {
		return provision.Snapshot{}, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return provision.Snapshot{}, err
	}
	if restarted {
		if _, err := waitReady(ctx, sp, nil); err != nil {
			return provision.Snapshot{}, fmt.Errorf("snapshot %q taken, but the container is not ready again: %w", name, err)
		}
	}
	return provision.Snapshot{Candidate: sp.Candidate, Machine: sp.Machine.Name, Name: name,
		CreatedAt: meta.CreatedAt, State: meta.State, Kind: "dir"}, nil
}

func listDirSnapshots(sp *machineSpec) ([]provision.Snapshot, error) {
	entries, err := os.ReadDir(filepath.Join(sp.Dir, "snapshots"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []provision.Snapshot
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(sp.Dir, "snapshots", e.Name(), "snapshot.json"))
		if err != nil || strings.HasSuffix(e.Name(), ".tmp") {
			continue // an interrupted snapshot
		}
		var m dirSnapshot
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", e.Name(), err)
		}
		out = append(out, provision.Snapshot{Candidate: sp.Candidate, Machine: sp.Machine.Name, Name: e.Name(),
			CreatedAt: m.CreatedAt, State: m.State, Kind: "dir"})
	}
	return out, nil
}

// privateDirs are the parts of a container's dir its mounts show: /srv, the
// machine's files and the writable layer of its root (contain.go).
var privateDirs = []string{"srv", "files", rootLayer}

// copyPrivate copies a container's private dirs from one machine dir (or
// snapshot) to another with cp -a: owners, modes, links and times as they were
// (-a copies a link as a link, never what it names; the destination is new).
func copyPrivate(ctx context.Context, from, to string) error {
	for _, d := range privateDirs {
		src := filepath.Join(from, d)
		if st, err := os.Lstat(src); err != nil || !st.IsDir() {
			continue
		}
		if out, err := exec.CommandContext(ctx, "cp", "-a", src, filepath.Join(to, d)).CombinedOutput(); err != nil {
			return fmt.Errorf("copy %s: %v: %s", src, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// removePrivate removes a container's private dirs. Links are removed,
// never what they name. (The SSH host key is kept in the machine's dir, out of
// the machine's reach: installHostKey copies it back.)
func removePrivate(sp *machineSpec) error {
	dir, err := beneath.Open(sp.Dir)
	if err != nil {
		return err
	}
	defer dir.Close()
	for _, d := range privateDirs {
		if err := dir.RemoveAll(d); err != nil {
			return err
		}
	}
	return nil
}

// isNoSnapshot tells a missing snapshot apart from other errors.
func isNoSnapshot(err error) bool {
	var e lv.Error
	return errors.As(err, &e) && e.Code == lv.ERR_NO_DOMAIN_SNAPSHOT
}
