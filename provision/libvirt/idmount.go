package libvirt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The idmapped mounts of contained containers (see contain.go) must be made in
// libvirtd's mount namespace: a private daemon has its own, and a Go process
// cannot enter another mount namespace (setns needs a single-threaded caller).
// So tailab runs itself through `nsenter -t PID -m /proc/SELF/exe` with
// idmountEnv set: this init hook then does the one mount operation and exits,
// before anything else of the program runs. On an ordinary host (libvirtd in
// the host's namespace) the same helper runs without nsenter.
// idmountEnv names the helper's operation ("wait": a child that only holds a
// user namespace open).
const idmountEnv = "TAILAB_IDMOUNT"

func init() {
	switch os.Getenv(idmountEnv) {
	case "":
	case "wait":
		// Holds the user namespace its parent opens: exits when stdin closes.
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	default:
		if err := idmountMain(os.Getenv(idmountEnv), os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "tailab idmount:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// idmountMain runs one helper operation:
//
//	setup DIR BASE COUNT KIND:SRC:REL... [-- DIR BASE COUNT ...]
//	    for each machine (groups separated by "--", setupParallel at once):
//	    everything under DIR unmounted, then each SRC mounted on DIR/REL:
//	    KIND id (idmapped, read-only), ro (bind, read-only), rw (bind) or ov
//	    (an overlay: lower DIR/lower, the upper and work dirs in SRC, a dir
//	    under DIR an rw mount made before); prints "ok DIR" or "error DIR:
//	    MESSAGE" per machine as it is done (Apply starts each machine on its
//	    line), and fails when one failed
//	teardown DIR...                        everything under each DIR unmounted, DIR removed
func idmountMain(op string, args []string) error {
	switch op {
	case "setup":
		groups := splitGroups(args)
		if len(groups) == 0 {
			return errors.New("setup: want DIR BASE COUNT then KIND:SRC:REL groups")
		}
		var mu sync.Mutex
		var failed []string
		sem := make(chan struct{}, setupParallel)
		var wg sync.WaitGroup
		for _, g := range groups {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				err := setupOne(g)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					fmt.Printf("error %s: %s\n", g[0], strings.ReplaceAll(err.Error(), "\n", " "))
					failed = append(failed, fmt.Sprintf("%s: %v", g[0], err))
					return
				}
				fmt.Printf("ok %s\n", g[0])
			}()
		}
		wg.Wait()
		if len(failed) > 0 {
			return errors.New(strings.Join(failed, "; "))
		}
		return nil
	case "teardown":
		if len(args) == 0 {
			return errors.New("teardown: want one DIR or more")
		}
		// One run for a whole session's machines (`down`): each dir's own
		// error, the others torn down all the same.
		var errs []error
		for _, dir := range args {
			if err := unmountUnder(dir); err != nil {
				errs = append(errs, err)
			} else if err := removeEmptyDirs(dir); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("unknown operation %q", op)
}

// setupParallel is how many machines' mounts the helper makes at once.
const setupParallel = 8

// splitGroups cuts setup's arguments at each "--"; an empty group is dropped.
func splitGroups(args []string) [][]string {
	var out [][]string
	for len(args) > 0 {
		i := slices.Index(args, "--")
		if i < 0 {
			i = len(args)
		}
		if i > 0 {
			out = append(out, args[:i])
		}
		args = args[min(i+1, len(args)):]
	}
	return out
}

// setupOne makes one machine's mounts: DIR BASE COUNT KIND:SRC:REL...
func setupOne(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("setup: want DIR BASE COUNT KIND:SRC:REL..., got %q", args)
	}
	base, err1 := strconv.ParseUint(args[1], 10, 32)
	count, err2 := strconv.ParseUint(args[2], 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	if err := unmountUnder(args[0]); err != nil {
		return err
	}
	for _, spec := range args[3:] {
		kind, rest, _ := strings.Cut(spec, ":")
		src, rel, ok := strings.Cut(rest, ":")
		if !ok || !filepath.IsAbs(src) || !filepath.IsLocal(rel) {
			return fmt.Errorf("setup: bad mount %q", spec)
		}
		dst := filepath.Join(args[0], rel)
		var err error
		switch kind {
		case "id":
			err = idmapMount(src, dst, uint32(base), uint32(count))
		case "ro", "rw":
			err = bindMount(src, dst, kind == "ro")
		case "ov":
			if !strings.HasPrefix(src, args[0]+"/") {
				return fmt.Errorf("setup: overlay layers %s not under %s", src, args[0])
			}
			err = overlayMount(filepath.Join(args[0], "lower"), src, dst)
			if err == nil {
				// The overlay holds private clones of its layers: the
				// mounts it was made from go, two fewer in libvirtd's
				// namespace, which every container start copies whole
				// (docs/benchmarks.md, scale).
				err = detachLayers(filepath.Join(args[0], "lower"), src)
			}
		default:
			err = fmt.Errorf("setup: bad mount kind %q", kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// detachLayers detaches the mounts an overlay was made from.
func detachLayers(paths ...string) error {
	for _, m := range paths {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("umount %s: %w", m, err)
		}
	}
	return nil
}

// unmountUnder detaches every mount at or under dir, deepest first.
func unmountUnder(dir string) error {
	points, err := mountsUnder("/proc/self/mountinfo", dir)
	if err != nil {
		return err
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, m := range points {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("umount %s: %w", m, err)
		}
	}
	return nil
}

// removeEmptyDirs removes dir and the directories and empty files (mount
// points of file binds) under it, never anything else: a mount still there
// makes it fail rather than reach into what is mounted.
func removeEmptyDirs(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			if err := removeEmptyDirs(p); err != nil {
				return err
			}
		} else if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.Size() == 0 {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	return os.Remove(dir)
}

// bindMount bind mounts src (a dir or a file) on dst, created empty.
func bindMount(src, dst string, ro bool) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if info.IsDir() {
		err = os.Mkdir(dst, 0o755)
	} else {
		var f *os.File
		if f, err = os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err == nil {
			err = f.Close()
		}
	}
	if err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", src, dst, err)
	}
	if ro {
		if err := unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("read-only %s: %w", dst, err)
		}
	}
	return nil
}

// overlayMount mounts a writable overlay on dst: lower read-only, the upper
// and work dirs in rw (a neutral path under the mount dir: /proc/mounts in
// the machine shows it, never the data dir).
func overlayMount(lower, rw, dst string) error {
	for _, p := range []string{lower, rw, dst} {
		if strings.ContainsAny(p, ",:\\") {
			return fmt.Errorf("overlay: path %q holds a character overlayfs options cannot carry", p)
		}
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work", lower, rw, rw)
	if err := unix.Mount("overlay", dst, "overlay", 0, opts); err != nil {
		return fmt.Errorf("overlay on %s (%s): %w", dst, opts, err)
	}
	return nil
}

// idmapMount mounts src on dst read-only, with host ids base..base+count-1
// shown as 0..count-1 inside the user namespace of that range (and on disk the
// files keep their unshifted owners: one tree serves every uid range). dst
// already mounted is left as it is.
func idmapMount(src, dst string, base, count uint32) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	// A child in a new user namespace with the range mapped gives the
	// namespace the mount is idmapped with; it exits once the mount is made
	// (its stdin closes). cat where there is one: this very binary is 40 MB
	// of Go to start, ten times cat's cost, once per machine.
	child := exec.Command("/proc/self/exe")
	child.Env = []string{idmountEnv + "=wait"}
	if cat, err := exec.LookPath("cat"); err == nil {
		child = exec.Command(cat)
	}
	m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(base), Size: int(count)}}
	child.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER, UidMappings: m, GidMappings: m}
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return fmt.Errorf("user namespace for %d+%d: %w", base, count, err)
	}
	defer func() { stdin.Close(); _ = child.Wait() }()
	ns, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", child.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open user namespace: %w", err)
	}
	defer unix.Close(ns)
	tree, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", src, err)
	}
	defer unix.Close(tree)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP | unix.MOUNT_ATTR_RDONLY, Userns_fd: uint64(ns)}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, attr); err != nil {
		return fmt.Errorf("mount_setattr (idmap) %s: %w", src, err)
	}
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount %s: %w", dst, err)
	}
	return nil
}

// mountsUnder lists the mount points at or under dir in a mountinfo file (that
// of another process shows its mount namespace's).
func mountsUnder(mountinfo, dir string) ([]string, error) {
	b, err := os.ReadFile(mountinfo)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			if m := unescapeMount(f[4]); m == dir || strings.HasPrefix(m, dir+"/") {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
