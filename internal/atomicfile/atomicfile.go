// Package atomicfile writes files so that readers, and a crash, only ever see the old
// content or the whole new content, never a half-written file.
//
// The data goes to a temporary file in the destination's directory (same file system,
// so the final rename is atomic), which is flushed to disk (fsync), renamed over the
// destination, and the directory itself is flushed so the rename survives a power
// loss. A crash before Commit leaves the destination untouched; at worst a hidden
// temporary file ".<name>.tmp-*" remains next to it.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DefaultPerm is the mode of files made by Create.
const DefaultPerm os.FileMode = 0o644

// ErrDone is returned by File methods called after Commit or Abort.
var ErrDone = errors.New("atomicfile: file already committed or aborted")

// File is a file being written atomically. Write to it, then Commit to publish it or
// Abort to discard it. A File is not safe for concurrent use.
//
// The usual pattern:
//
//	f, err := atomicfile.Create(path)
//	if err != nil { return err }
//	defer f.Abort() // no-op once committed
//	if _, err := f.Write(data); err != nil { return err }
//	return f.Commit()
type File struct {
	tmp  *os.File
	path string
	perm os.FileMode
	done bool
}

// Create starts writing path atomically with mode DefaultPerm.
func Create(path string) (*File, error) { return CreatePerm(path, DefaultPerm) }

// CreatePerm starts writing path atomically; the committed file gets exactly perm (the
// process umask does not apply).
func CreatePerm(path string, perm os.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return nil, fmt.Errorf("atomicfile: create %q: not a file name", path)
	}
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("atomicfile: create %q: %w", path, err)
	}
	return &File{tmp: tmp, path: path, perm: perm}, nil
}

// Name returns the destination path (not the temporary file's).
func (f *File) Name() string { return f.path }

// Write appends p to the pending content.
func (f *File) Write(p []byte) (int, error) {
	if f.done {
		return 0, ErrDone
	}
	n, err := f.tmp.Write(p)
	if err != nil {
		return n, fmt.Errorf("atomicfile: write %q: %w", f.path, err)
	}
	return n, nil
}

// Commit flushes the content to disk and atomically replaces the destination with it.
// On error before the rename, the destination is untouched and the temporary file is
// removed. If the destination is a symbolic link, the link itself is replaced.
func (f *File) Commit() error {
	if f.done {
		return ErrDone
	}
	f.done = true
	tmpName := f.tmp.Name()
	if err := f.publish(tmpName); err != nil {
		_ = f.tmp.Close() // may already be closed; the first error is the one to report
		_ = os.Remove(tmpName)
		return fmt.Errorf("atomicfile: commit %q: %w", f.path, err)
	}
	if err := syncDir(filepath.Dir(f.path)); err != nil {
		return fmt.Errorf("atomicfile: commit %q: file renamed but directory not synced: %w", f.path, err)
	}
	return nil
}

func (f *File) publish(tmpName string) error {
	if err := f.tmp.Chmod(f.perm); err != nil {
		return err
	}
	if err := f.tmp.Sync(); err != nil {
		return err
	}
	if err := f.tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmpName, f.path)
}

// Abort discards the pending content and leaves the destination untouched. It is a
// no-op after Commit or a previous Abort, so it can always be deferred.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	closeErr := f.tmp.Close()
	if err := os.Remove(f.tmp.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("atomicfile: abort %q: %w", f.path, err)
	}
	if closeErr != nil {
		return fmt.Errorf("atomicfile: abort %q: %w", f.path, closeErr)
	}
	return nil
}

// WriteFile atomically replaces path with data, with mode perm (exactly: the umask
// does not apply). Like os.WriteFile, but a reader or a crash never sees a partial file.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := CreatePerm(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// syncDir flushes a directory so a rename inside it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	syncErr := d.Sync()
	closeErr := d.Close()
	if syncErr != nil {
		return syncErr
	}
	return closeErr
}
