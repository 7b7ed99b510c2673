package libvirt

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"libvirt.org/go/libvirtxml"

	"github.com/tailab/tailab/internal/atomicfile"
	"github.com/tailab/tailab/templates"
)

// A contained container (the layout of Config.RootFS) runs in a user namespace
// of its own: root inside is host uid BASE, an unprivileged id no host file
// belongs to, and the machine sees no host file system:
//
//   - its root is the lab rootfs (scripts/build-rootfs.sh, Debian packages,
//     never the host's /), mounted read-only and idmapped for the machine's
//     range (one unshifted tree serves every range: idmount.go);
//   - its /srv is the machine's private dir, chowned to the range;
//   - capabilities are libvirt's `deny` policy plus containerCaps;
//   - its management NIC is in the nftables set of mgmtfilter.go (no spoofing,
//     no connection to the host it did not answer).
//
// Each machine has a distinct range of uidRange ids, recorded in a host-wide
// table (Config.UIDTable) and in the domain's metadata tag (the gateway reads it
// from the machine's state: a shell is handed only in a contained machine).

// uidRange is how many ids each container maps: Samba AD's xids start at
// 3000000, so 65536 is not enough (lxc-containment recipe, section 4).
const uidRange = 1 << 22

// maxSlot is the last range that fits in 32-bit ids (uid -1 is invalid).
const maxSlot = (1<<32)/uidRange - 2

// containerCaps are the capabilities a contained machine keeps (every other
// is off): what sshd, ip, nft, dnsmasq and a Samba AD DC need, measured
// (lxc-containment recipe). No sys_admin: a candidate mounts nothing, not
// even within the machine's own mount namespace (`mount --bind / /x` fails).
// What used to need it is done from the host: the writable root (an overlay
// made in libvirtd's mount namespace), the lab's `tmpfs` (libvirt mounts them
// before it drops capabilities) and the host name (setHostname). Samba AD
// keeps its NT ACLs in user.NTACL (init.sh), which needs no sys_admin.
var containerCaps = []string{
	"chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
	"net_bind_service", "net_broadcast", "net_admin", "net_raw", "sys_chroot", "audit_write",
}

// RootFSBuilt and RootFSHost, as the rootfs option: DefaultRootFS (the
// default), or the host's / (the layout before containment: no user namespace,
// root in a container is root on the host; for hosts where no candidate gets
// a shell).
const (
	RootFSBuilt = "built"
	RootFSHost  = "host"
)

// DefaultRootFSRoot is where scripts/build-rootfs.sh keeps its builds.
const DefaultRootFSRoot = "/var/cache/tailab/rootfs"

// DefaultMountRoot is where contained machines' mounts are made, as libvirtd
// sees it (a private daemon's /run is its own).
const DefaultMountRoot = "/run/tailab/mnt"

// DefaultUIDTable is the host-wide table of the containers' uid ranges.
const DefaultUIDTable = "/var/lib/tailab/uid-ranges.json"

// RootFSBuildCommand is what makes the rootfs a binary expects.
const RootFSBuildCommand = "bash scripts/build-rootfs.sh"

// DefaultRootFS is the rootfs this binary's package list (templates/rootfs/
// packages.txt) is built into: DefaultRootFSRoot/HASH, the list's SHA-256 cut
// to 12 hex digits, as scripts/build-rootfs.sh names it.
func DefaultRootFS() string {
	b, err := templates.RootFSPackages()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return filepath.Join(DefaultRootFSRoot, hex.EncodeToString(sum[:])[:12])
}

// CheckRootFS reports a rootfs that is not a finished build, naming the
// command that makes it.
func CheckRootFS(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, ".tailab-rootfs")); err != nil {
		return fmt.Errorf("lab rootfs %s is not built: run `%s` (as root, once; ~1 min, downloads Debian packages) or pass --rootfs", dir, RootFSBuildCommand)
	}
	for _, p := range []string{".oldroot", "usr/sbin/sshd", "bin/busybox"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
			return fmt.Errorf("lab rootfs %s lacks /%s: rebuild it with `%s`", dir, p, RootFSBuildCommand)
		}
	}
	return nil
}

// contained reports whether containers use the contained layout.
func (p *Provider) contained() bool { return p.cfg.RootFS != "" }

// daemonPath is path as libvirtd sees it: a daemon with a private /var sees
// the host's at HostVar.
func (p *Provider) daemonPath(path string) string {
	if p.cfg.HostVar != "" && (path == "/var" || strings.HasPrefix(path, "/var/")) {
		return p.cfg.HostVar + strings.TrimPrefix(path, "/var")
	}
	return path
}

// mountDir holds a contained machine's mount points, as libvirtd sees it
// (Config.MountRoot/DOMAIN). libvirt_lxc resolves a <filesystem> source as the
// container's root (host uid BASE): every source must be reachable by others,
// and a data dir under /root is not. So the sources are bind mounted here,
// under /run (0755), and the domain names only these.
func (p *Provider) mountDir(domain string) string {
	return filepath.Join(p.cfg.MountRoot, domain)
}

// uidTable is the table of ranges: machine dir → slot (range = slot × uidRange).
type uidTable map[string]int

// uidBase returns the machine's uid base, allocating a free range the first
// time. Ranges of machines whose private dir is gone are free again.
func (p *Provider) uidBase(sp *machineSpec) (uint32, error) {
	if err := p.uidBases(sp); err != nil {
		return 0, err
	}
	return sp.UIDBase, nil
}

// uidBases gives each machine its uid base (uidBase), in one update of the
// table for them all: Apply allocates a session's ranges at once.
func (p *Provider) uidBases(sps ...*machineSpec) error {
	keys := map[string]*machineSpec{}
	for _, sp := range sps {
		if sp.UIDBase != 0 {
			continue
		}
		key, err := filepath.Abs(sp.Dir)
		if err != nil {
			return err
		}
		keys[key] = sp
	}
	if len(keys) == 0 {
		return nil
	}
	err := p.withUIDTable(func(t uidTable) (bool, error) {
		changed := false
		for key, sp := range keys {
			if k, ok := t[key]; ok {
				sp.UIDBase = uint32(k) * uidRange
				delete(keys, key)
			}
		}
		if len(keys) == 0 {
			return false, nil
		}
		used := map[int]bool{}
		for dir, k := range t {
			if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) && keys[dir] == nil {
				delete(t, dir)
				changed = true
				continue
			}
			used[k] = true
		}
		k := 1
		for _, key := range slices.Sorted(maps.Keys(keys)) {
			// The dir exists before the range is recorded: an allocation by
			// another process frees ranges whose dir is gone.
			if err := os.MkdirAll(key, 0o755); err != nil {
				return changed, err
			}
			for ; k <= maxSlot && used[k]; k++ {
			}
			if k > maxSlot {
				return changed, fmt.Errorf("no free uid range left in %s (%d containers)", p.cfg.UIDTable, maxSlot)
			}
			t[key], used[k] = k, true
			keys[key].UIDBase = uint32(k) * uidRange
			changed = true
		}
		return changed, nil
	})
	if err != nil {
		for _, sp := range keys {
			sp.UIDBase = 0 // not recorded
		}
		return fmt.Errorf("uid range: %w", err)
	}
	return nil
}

// freeUIDBase gives removed machines' ranges back (one table update).
func (p *Provider) freeUIDBase(dirs ...string) error {
	keys := make([]string, 0, len(dirs))
	for _, dir := range dirs {
		key, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		keys = append(keys, key)
	}
	return p.withUIDTable(func(t uidTable) (bool, error) {
		changed := false
		for _, key := range keys {
			if _, ok := t[key]; ok {
				delete(t, key)
				changed = true
			}
		}
		return changed, nil
	})
}

// withUIDTable runs fn on the table under an exclusive lock (tailab processes
// of any data dir share it: ranges are host-wide), writing it back when fn
// reports a change.
func (p *Provider) withUIDTable(fn func(uidTable) (bool, error)) error {
	path := p.cfg.UIDTable
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	t := uidTable{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &t); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	changed, err := fn(t)
	if err != nil || !changed {
		return err
	}
	b, err := json.MarshalIndent(t, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o600)
}

// chownPrivate gives the machine's private dirs to its range: root inside owns
// what tailab wrote (host root's files would show as nobody, unreadable when
// 0600). Links are not followed.
func chownPrivate(dir string, base uint32) error {
	for _, d := range privateDirs {
		root := filepath.Join(dir, d)
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && path == root {
					return nil
				}
				return err
			}
			var uid, gid uint32
			if info, err := e.Info(); err == nil {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					uid, gid = st.Uid, st.Gid
				}
			}
			if uid >= base && uid < base+uidRange && gid >= base && gid < base+uidRange {
				return nil // already the machine's (written by it, or chowned before)
			}
			return os.Lchown(path, int(base+uid%uidRange), int(base+gid%uidRange))
		})
		if err != nil {
			return fmt.Errorf("chown %s: %w", root, err)
		}
	}
	return nil
}

// daemonPID is the PID of the libvirtd the LXC URI reaches: Config.DaemonPID,
// else the peer of its unix socket (a ?socket= URI, or libvirt's default
// path). 0 when unknown: the mounts are then made in tailab's own namespace.
func (p *Provider) daemonPID() int {
	p.pidOnce.Do(func() {
		p.pid = p.cfg.DaemonPID
		if p.pid > 0 {
			return
		}
		sock := "/run/libvirt/libvirt-sock"
		if u, err := url.Parse(p.cfg.LXC); err == nil && u.Query().Get("socket") != "" {
			sock = u.Query().Get("socket")
		}
		c, err := net.DialTimeout("unix", sock, 2*time.Second)
		if err != nil {
			return
		}
		defer c.Close()
		raw, err := c.(*net.UnixConn).SyscallConn()
		if err != nil {
			return
		}
		_ = raw.Control(func(fd uintptr) {
			if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
				p.pid = int(cred.Pid)
			}
		})
	})
	return p.pid
}

// idmount runs the mount helper (idmount.go) in libvirtd's mount namespace.
func (p *Provider) idmount(op string, args ...string) error {
	cmd := p.idmountCommand(op, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", op, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// idmountCommand is the mount helper's command for op.
func (p *Provider) idmountCommand(op string, args ...string) *exec.Cmd {
	self := fmt.Sprintf("/proc/%d/exe", os.Getpid())
	var cmd *exec.Cmd
	pid := p.daemonPID()
	theirs, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	ours, _ := os.Readlink("/proc/self/ns/mnt")
	if pid > 0 && theirs != ours {
		cmd = exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-m", self}, args...)...)
	} else {
		cmd = exec.Command(self, args...)
	}
	cmd.Env = append(os.Environ(), idmountEnv+"="+op)
	return cmd
}

// hostMount is one mount the helper makes for a contained machine: Kind id
// (idmapped read-only), ro or rw (bind), Source as libvirtd sees it, Rel the
// mount point under mountDir.
type hostMount struct{ Kind, Source, Rel string }

// sambaDCTemplatesInside is where init.sh looks for Samba AD templates.
const sambaDCTemplatesInside = "/var/cache/tailab/samba-dc"

// rootLayer is the dir of a contained machine's dir that holds the writable
// layer of its root (upper and work dirs of the overlay): the machine's own
// changes to /etc, /root, /home, /opt..., kept across restarts, copied by
// snapshots and dropped by a reset like /srv. It is out of the machine's
// reach (only /srv and the files dir are shown to it), so no link the
// candidate plants can redirect the overlay.
const rootLayer = "root"

// containerMounts are what a contained machine's domain mounts: the helper's
// mounts under mountDir, and the <filesystem>s (source under mountDir → path
// in the machine). Its root is an overlay: the rootfs, idmapped and
// read-only, under its own writable layer (rootLayer); /srv its private dir;
// /srv/lib the session's shared files; its `files` outside /srv each bound
// from its files dir; for a samba-dc machine, the host's Samba AD templates,
// idmapped.
func (p *Provider) containerMounts(sp *machineSpec) ([]hostMount, []fsMount) {
	md := p.mountDir(sp.Domain)
	hm := []hostMount{
		{"id", p.daemonPath(p.cfg.RootFS), "lower"}, {"rw", p.daemonPath(sp.Dir + "/" + rootLayer), "rw"},
		{"ov", md + "/rw", "root"}, {"rw", p.daemonPath(sp.Dir + "/srv"), "srv"},
	}
	fm := []fsMount{{md + "/root", "/", false}, {md + "/srv", "/srv", false}}
	if sp.SharedDir != "" {
		hm = append(hm, hostMount{"ro", p.daemonPath(sp.SharedDir), "lib"})
		fm = append(fm, fsMount{md + "/lib", "/srv/lib", true})
	}
	if files := fileMounts(sp); len(files) > 0 {
		hm = append(hm, hostMount{"rw", p.daemonPath(sp.Dir + "/files"), "files"})
		for _, f := range files {
			fm = append(fm, fsMount{md + "/files" + f[1], f[1], false})
		}
	}
	if slices.Contains(sp.Machine.Services, "samba-dc") && p.cfg.SambaDCTemplates != "" {
		hm = append(hm, hostMount{"id", p.daemonPath(p.cfg.SambaDCTemplates), "samba-dc"})
		fm = append(fm, fsMount{md + "/samba-dc", sambaDCTemplatesInside, true})
	}
	return hm, fm
}

// ensureMounts makes the machine's mounts anew, before every start: a reset
// or a revert replaced its private dirs, a restarted daemon lost them.
func (p *Provider) ensureMounts(sp *machineSpec) error {
	args, err := p.mountArgs(sp)
	if err != nil {
		return err
	}
	return p.idmount("setup", args...)
}

// mountArgs makes the dirs of a machine's mounts and returns its arguments
// of the helper's setup.
func (p *Provider) mountArgs(sp *machineSpec) ([]string, error) {
	base, err := p.uidBase(sp)
	if err != nil {
		return nil, err
	}
	hm, _ := p.containerMounts(sp)
	if slices.ContainsFunc(hm, func(m hostMount) bool { return m.Rel == "samba-dc" }) {
		if err := os.MkdirAll(p.cfg.SambaDCTemplates, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(sp.Dir, "srv"), 0o755); err != nil {
		return nil, err
	}
	if err := rootLayerDirs(sp.Dir, base); err != nil {
		return nil, err
	}
	args := []string{p.mountDir(sp.Domain), strconv.FormatUint(uint64(base), 10), strconv.Itoa(uidRange)}
	for _, m := range hm {
		args = append(args, m.Kind+":"+m.Source+":"+m.Rel)
	}
	return args, nil
}

// rootLayerDirs makes the overlay's upper and work dirs; the upper's top is
// the machine's / (owner and mode): its root's, 0755.
func rootLayerDirs(dir string, base uint32) error {
	layer := filepath.Join(dir, rootLayer)
	for _, d := range []string{layer, layer + "/upper", layer + "/work"} {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	upper := filepath.Join(layer, "upper")
	info, err := os.Lstat(upper)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", upper)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && (st.Uid != base || st.Gid != base) {
		if err := os.Lchown(upper, int(base), int(base)); err != nil {
			return err
		}
	}
	return nil
}

// removeMounts unmounts machines' mounts (after their domains stopped) and
// removes their dirs, in one run of the helper; nothing mounted is fine.
func (p *Provider) removeMounts(domains ...string) error {
	if p.cfg.MountRoot == "" || len(domains) == 0 {
		return nil
	}
	dirs := make([]string, len(domains))
	for i, d := range domains {
		dirs[i] = p.mountDir(d)
	}
	return p.idmount("teardown", dirs...)
}

// mountedDomains lists the domains that have mounts under MountRoot in
// libvirtd's mount namespace (gc: those of a gone session).
func (p *Provider) mountedDomains() []string {
	info := "/proc/self/mountinfo"
	if pid := p.daemonPID(); pid > 0 {
		info = fmt.Sprintf("/proc/%d/mountinfo", pid)
	}
	points, _ := mountsUnder(info, p.cfg.MountRoot)
	seen := map[string]bool{}
	var out []string
	for _, m := range points {
		rel, err := filepath.Rel(p.cfg.MountRoot, m)
		if err != nil || rel == "." {
			continue
		}
		d, _, _ := strings.Cut(rel, "/")
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// capabilities is libvirt's `deny` policy with containerCaps on.
func capabilities() *libvirtxml.DomainFeatureCapabilities {
	on := func() *libvirtxml.DomainFeatureCapability { return &libvirtxml.DomainFeatureCapability{State: "on"} }
	return &libvirtxml.DomainFeatureCapabilities{
		Policy: "deny", Chown: on(), DACOverride: on(), FOwner: on(), FSetID: on(), Kill: on(),
		SetGID: on(), SetUID: on(), SetPCap: on(), NetBindService: on(), NetBroadcast: on(),
		NetAdmin: on(), NetRaw: on(), SysChRoot: on(), AuditWrite: on(),
	}
}
