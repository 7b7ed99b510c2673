// Package userfile reads the files a user names, on the command line or in
// another file: labs, check suites, rosters, inventories, hosts files. Such a
// name may point anywhere (`checks: [/dev/zero]` in a lab made `validate` grow
// to 22 GiB; a FIFO blocked it for ever): the file must be a regular file under
// a size limit, checked on the open descriptor before anything is read, and
// never read past the limit.
package userfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxSize bounds what Read reads: the largest built-in lab is under 40 KiB,
// a roster of a thousand candidates under 100 KiB.
const MaxSize = 4 << 20

var (
	// ErrNotRegular: the name is a FIFO, a device, a directory or a socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file is larger than its limit.
	ErrTooLarge = errors.New("too large")
)

// Read reads the regular file at path, at most MaxSize bytes. Errors are
// *fs.PathError (fs.ErrNotExist still matches a missing file).
func Read(path string) ([]byte, error) { return ReadLimit(path, MaxSize) }

// ReadLimit is Read with another limit.
func ReadLimit(path string, limit int64) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO returns at once (it is then refused), a
	// regular file ignores the flag.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadOpen(f, path, limit)
}

// ReadOpen reads an open file as ReadLimit does, naming it path in errors.
func ReadOpen(f *os.File, path string, limit int64) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind(st.Mode()))}
	}
	tooLarge := &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %s", ErrTooLarge, size(limit))}
	if st.Size() > limit {
		return nil, tooLarge
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1)) // a /proc file says 0 and may grow
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, tooLarge
	}
	return b, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a file"
}

func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
