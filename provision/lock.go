package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Session locks.
//
// `up`, `down`, `reset`, `snapshot` change a session's resources, and `gc`
// removes the resources of sessions the store does not know: two of them at
// once on one session raced (an `up` during a `down` left dozens of domains and
// networks of a session the store no longer knew). Each takes a lock first and
// a second one is refused at once, naming the holder.
//
// A lock is flock(2) on a file of the data dir, DATA/locks/SESSION.lock, and
// not the bbolt store's own lock: the store is opened per operation (status,
// grade --watch and serve read it while `up` runs), so its lock cannot be held
// for the minutes an `up` lasts. flock belongs to the open file: the kernel
// drops it when the process ends, however it ends (kill -9 included), so a
// lock never outlives its holder; the file stays, saying who held it last.
// Every session lock also holds DATA/locks/.gc shared, which `gc` takes
// exclusively: gc does not run while a session changes (it would take a
// session being created for an orphan), nor the reverse.

// LockHolder says who holds a lock, as written in its file.
type LockHolder struct {
	PID   int       `json:"pid"`
	Verb  string    `json:"verb"`
	Since time.Time `json:"since"`
	User  string    `json:"user,omitempty"`
}

// BusyError is the refusal of a lock held by another process.
type BusyError struct {
	Session string       // "" for gc's lock
	Holders []LockHolder // who holds it (what their lock files say)
}

func (e *BusyError) Error() string {
	what := fmt.Sprintf("session %q is busy", e.Session)
	if e.Session == "" {
		what = "gc cannot run now"
	}
	if len(e.Holders) == 0 {
		return what + ": another tailab process holds its lock; run the command again once it ends"
	}
	var hs []string
	for _, h := range e.Holders {
		hs = append(hs, h.String())
	}
	return fmt.Sprintf("%s: %s; run the command again once it ends (or stop it)", what, strings.Join(hs, ", "))
}

// String renders "`down` (pid 1234, root, since 17:02:03 UTC)".
func (h LockHolder) String() string {
	who := ""
	if h.User != "" {
		who = h.User + ", "
	}
	return fmt.Sprintf("`%s` (pid %d, %ssince %s)", h.Verb, h.PID, who, h.Since.UTC().Format("15:04:05 MST"))
}

// ErrBusy matches every BusyError (errors.Is).
var ErrBusy = errors.New("busy")

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// gcLockName is gc's lock file in the locks dir (not a session name: those
// start with a letter).
const gcLockName = ".gc"

// SessionLock is a held lock; Unlock releases it.
type SessionLock struct {
	files []*os.File
	once  sync.Once
}

// Unlock releases the lock (closing its files drops the flocks).
func (l *SessionLock) Unlock() {
	l.once.Do(func() {
		for _, f := range l.files {
			f.Close()
		}
	})
}

func (s *State) locksDir() (string, error) {
	dir := filepath.Join(filepath.Dir(s.st.Path()), "locks")
	return dir, os.MkdirAll(dir, 0o700)
}

// LockSession takes session's lock for verb (up, down, reset, snapshot...),
// or returns a *BusyError naming the holder (session's, or gc's).
func (s *State) LockSession(session, verb string) (*SessionLock, error) {
	if err := ValidateName("session name", session); err != nil {
		return nil, err
	}
	dir, err := s.locksDir()
	if err != nil {
		return nil, err
	}
	gc, err := flock(filepath.Join(dir, gcLockName), unix.LOCK_SH, verb)
	if err != nil {
		return nil, busy("", err, filepath.Join(dir, gcLockName))
	}
	own, err := flock(filepath.Join(dir, session+".lock"), unix.LOCK_EX, verb)
	if err != nil {
		gc.Close()
		return nil, busy(session, err, filepath.Join(dir, session+".lock"))
	}
	return &SessionLock{files: []*os.File{own, gc}}, nil
}

// LockGC takes gc's lock: no session is changing while it is held. Refused
// with a *BusyError naming the sessions that change (and who changes them).
func (s *State) LockGC() (*SessionLock, error) {
	dir, err := s.locksDir()
	if err != nil {
		return nil, err
	}
	f, err := flock(filepath.Join(dir, gcLockName), unix.LOCK_EX, "gc")
	if err == nil {
		return &SessionLock{files: []*os.File{f}}, nil
	}
	if !errors.Is(err, unix.EWOULDBLOCK) {
		return nil, err
	}
	// Shared holders write nothing in gc's file: name the sessions whose
	// own lock is held.
	be := &BusyError{}
	names, _ := filepath.Glob(filepath.Join(dir, "*.lock"))
	sort.Strings(names)
	for _, n := range names {
		if h, held := lockHeld(n); held {
			h.Verb += " " + strings.TrimSuffix(filepath.Base(n), ".lock")
			be.Holders = append(be.Holders, h)
		}
	}
	if len(be.Holders) == 0 { // a gc holds it exclusively, and wrote itself there
		if h, ok := readHolder(filepath.Join(dir, gcLockName)); ok {
			be.Holders = append(be.Holders, h)
		}
	}
	return nil, be
}

// flock opens path and locks it (how: LOCK_SH or LOCK_EX) without waiting.
// An exclusive holder writes itself in the file.
func flock(path string, how int, verb string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	if how == unix.LOCK_EX {
		b, _ := json.Marshal(LockHolder{PID: os.Getpid(), Verb: verb, Since: time.Now().UTC().Truncate(time.Second), User: CurrentUser()})
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt(append(b, '\n'), 0)
		}
	}
	return f, nil
}

// busy turns a refused flock into a *BusyError naming the holder written in
// path.
func busy(session string, err error, path string) error {
	if !errors.Is(err, unix.EWOULDBLOCK) {
		return err
	}
	be := &BusyError{Session: session}
	if h, ok := readHolder(path); ok {
		be.Holders = append(be.Holders, h)
	}
	return be
}

// lockHeld reports whether path's lock is held (and by whom), without keeping it.
func lockHeld(path string) (LockHolder, bool) {
	f, err := os.Open(path)
	if err != nil {
		return LockHolder{}, false
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) == nil {
		return LockHolder{}, false
	}
	h, _ := readHolder(path)
	return h, true
}

func readHolder(path string) (LockHolder, bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 4096 {
		return LockHolder{}, false
	}
	var h LockHolder
	return h, json.Unmarshal(b, &h) == nil && h.PID > 0
}

// heldLock is a session lock an Engine holds, with how many of its callers
// hold it.
type heldLock struct {
	lock *SessionLock
	n    int
}

// Hold takes session's lock for verb until release is called: the Engine's
// own methods then run under it rather than take it again (`up` holds it from
// its plan to the end of its apply). Another Engine, or another process, is
// refused with a *BusyError naming the holder.
func (e *Engine) Hold(session, verb string) (release func(), err error) {
	e.lockMu.Lock()
	defer e.lockMu.Unlock()
	if h := e.held[session]; h != nil {
		h.n++
		return func() { e.release(session) }, nil
	}
	l, err := e.State.LockSession(session, verb)
	if err != nil {
		return nil, err
	}
	if e.held == nil {
		e.held = map[string]*heldLock{}
	}
	e.held[session] = &heldLock{lock: l, n: 1}
	var once sync.Once
	return func() { once.Do(func() { e.release(session) }) }, nil
}

func (e *Engine) release(session string) {
	e.lockMu.Lock()
	defer e.lockMu.Unlock()
	h := e.held[session]
	if h == nil {
		return
	}
	if h.n--; h.n == 0 {
		h.lock.Unlock()
		delete(e.held, session)
	}
}
