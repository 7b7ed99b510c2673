// Package beneath opens, reads, writes and removes files inside one directory
// without ever following a symbolic link and without ever leaving it.
//
// A machine's private dir on the host (a container's /srv, its files) is
// written by the candidate, who is root in the machine: a symbolic link they
// plant there must not lead a host-side operation of tailab (reset keeping the
// SSH host key, up writing a lab's files) to read or write a host file. Every
// path is resolved by the kernel with openat2(2) RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS from a descriptor of the
// directory: a link anywhere in the path, or a path leaving the directory, is
// an error (ErrLink, ErrEscape), never followed. Temporary files are created
// beside their destination, beneath the directory too.
package beneath

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tailab/tailab/internal/userfile"
)

var (
	// ErrLink: a path holds a symbolic link, which tailab never follows in a
	// machine's dir.
	ErrLink = errors.New("a symbolic link (never followed)")
	// ErrEscape: a path leaves the directory.
	ErrEscape = errors.New("a path leaving the directory")
	// ErrNotRegular: a file read is not a regular file (a FIFO, a device).
	ErrNotRegular = userfile.ErrNotRegular
	// ErrTooLarge: a file read is larger than its limit.
	ErrTooLarge = userfile.ErrTooLarge
)

// resolve is how every path below the directory is resolved.
const resolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// Dir is an open directory. Paths given to its methods are relative to it,
// slash-separated; they are cleaned, and one leaving the directory is refused
// before any system call.
type Dir struct {
	fd   int
	name string
}

// Open opens the directory at name (a path of the host, trusted: tailab's own
// data dir). It does not follow a link as its last component either.
func Open(name string) (*Dir, error) {
	fd, err := unix.Open(name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: classify(err)}
	}
	return &Dir{fd: fd, name: name}, nil
}

// Close releases the directory.
func (d *Dir) Close() error { return unix.Close(d.fd) }

// Name is the path the directory was opened with.
func (d *Dir) Name() string { return d.name }

// clean checks rel and returns it cleaned ("." for the directory itself):
// relative, not climbing out with "..", no NUL.
func clean(rel string) (string, error) {
	if strings.IndexByte(rel, 0) >= 0 {
		return "", errors.New("a path with a NUL byte")
	}
	c := path.Clean(rel)
	if strings.HasPrefix(rel, "/") || c == ".." || strings.HasPrefix(c, "../") {
		return "", ErrEscape
	}
	return c, nil
}

// classify turns the errors openat2 gives for a refused path into ErrLink and
// ErrEscape.
func classify(err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return ErrLink
	case errors.Is(err, unix.EXDEV):
		return ErrEscape
	case errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("openat2 is not available (Linux 5.6 or later is required): %w", err)
	}
	return err
}

func (d *Dir) pathErr(op, rel string, err error) error {
	return &os.PathError{Op: op, Path: d.name + "/" + rel, Err: classify(err)}
}

// openat opens rel beneath the directory.
func (d *Dir) openat(rel string, flags uint64, mode uint32) (int, error) {
	for {
		fd, err := unix.Openat2(d.fd, rel, &unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Mode: uint64(mode), Resolve: resolve})
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue // EAGAIN: a concurrent rename; the kernel asks to retry
		}
		return fd, err
	}
}

// ReadFile reads the regular file rel, at most limit bytes (ErrTooLarge
// beyond). A link, a FIFO or a device is refused without being read.
func (d *Dir) ReadFile(rel string, limit int64) ([]byte, error) {
	rel, err := clean(rel)
	if err != nil {
		return nil, d.pathErr("read", rel, err)
	}
	fd, err := d.openat(rel, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, d.pathErr("read", rel, err)
	}
	f := os.NewFile(uintptr(fd), d.name+"/"+rel)
	defer f.Close()
	return userfile.ReadOpen(f, d.name+"/"+rel, limit)
}

// IsRegular reports whether rel is a regular file, without following a link.
func (d *Dir) IsRegular(rel string) bool {
	rel, err := clean(rel)
	if err != nil {
		return false
	}
	fd, err := d.openat(rel, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG
}

// MkdirAll makes the directory rel and its parents beneath the directory
// (mode for the new ones), refusing a link on the way.
func (d *Dir) MkdirAll(rel string, mode os.FileMode) error {
	fd, err := d.mkdirAll(rel, mode)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// mkdirAll makes rel and returns a descriptor of it (O_PATH).
func (d *Dir) mkdirAll(rel string, mode os.FileMode) (int, error) {
	rel, err := clean(rel)
	if err != nil {
		return -1, d.pathErr("mkdir", rel, err)
	}
	fd, err := d.openat(rel, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		if err != nil {
			return -1, d.pathErr("mkdir", rel, err)
		}
		return fd, nil
	}
	walked := ""
	for _, c := range strings.Split(rel, "/") {
		walked = path.Join(walked, c)
		parent, base := path.Split(walked)
		pfd := d.fd
		if parent != "" {
			if pfd, err = d.openat(strings.TrimSuffix(parent, "/"), unix.O_PATH|unix.O_DIRECTORY, 0); err != nil {
				return -1, d.pathErr("mkdir", walked, err)
			}
		}
		err = unix.Mkdirat(pfd, base, uint32(mode.Perm()))
		if pfd != d.fd {
			unix.Close(pfd)
		}
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, d.pathErr("mkdir", walked, err)
		}
	}
	fd, err = d.openat(rel, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return -1, d.pathErr("mkdir", rel, err)
	}
	return fd, nil
}

// WriteFile writes data to rel with mode (exactly: the umask does not
// apply), making its parent directories (0755). A new file is written in
// place (O_EXCL: a link planted there is not followed); an existing one is
// replaced through a temporary file beside it and a rename, so a crash leaves
// the old content or the new one and a link in its place is replaced, not
// followed.
func (d *Dir) WriteFile(rel string, data []byte, mode os.FileMode) error {
	rel, err := clean(rel)
	if err != nil || rel == "." {
		return d.pathErr("write", rel, cmpErr(err, ErrEscape))
	}
	parent, base := path.Split(rel)
	pfd, err := d.mkdirAll(strings.TrimSuffix(parent, "/"), 0o755)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	pd := &Dir{fd: pfd, name: d.name + "/" + strings.TrimSuffix(parent, "/")}
	if pd.name == d.name+"/" {
		pd.name = d.name
	}
	if err := pd.create(base, data, mode); err == nil || !errors.Is(err, unix.EEXIST) {
		return err
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	tmp := "." + base + ".tmp-" + hex.EncodeToString(suffix[:])
	if len(tmp) > 255 {
		tmp = ".tmp-" + hex.EncodeToString(suffix[:])
	}
	if err := pd.create(tmp, data, mode); err != nil {
		return err
	}
	if err := unix.Renameat(pfd, tmp, pfd, base); err != nil {
		unix.Unlinkat(pfd, tmp, 0)
		return pd.pathErr("rename", base, err)
	}
	return nil
}

func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// create makes the new file name (O_EXCL) with data and exactly mode; the
// error wraps EEXIST when something (a file, a link) is already there.
func (d *Dir) create(name string, data []byte, mode os.FileMode) error {
	fd, err := d.openat(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, uint32(mode.Perm()))
	if err != nil {
		return d.pathErr("create", name, err)
	}
	f := os.NewFile(uintptr(fd), d.name+"/"+name)
	_, werr := f.Write(data)
	cherr := unix.Fchmod(fd, uint32(mode.Perm()))
	cerr := f.Close()
	if err := errors.Join(werr, cherr, cerr); err != nil {
		unix.Unlinkat(d.fd, name, 0)
		return err
	}
	return nil
}

// RemoveAll removes rel and what it holds, without following a link (a link
// is removed, not what it names). A missing rel is not an error.
func (d *Dir) RemoveAll(rel string) error {
	rel, err := clean(rel)
	if err != nil || rel == "." {
		return d.pathErr("remove", rel, cmpErr(err, ErrEscape))
	}
	parent, base := path.Split(rel)
	pfd := d.fd
	if parent != "" {
		pfd, err = d.openat(strings.TrimSuffix(parent, "/"), unix.O_PATH|unix.O_DIRECTORY, 0)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return d.pathErr("remove", rel, err)
		}
		defer unix.Close(pfd)
	}
	// The parent is pinned by its descriptor; os.RemoveAll then works from
	// it with unlinkat and O_NOFOLLOW opens all the way down.
	return os.RemoveAll(fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base))
}
