package provision

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSessionLock: a second holder of a session's lock (another process or
// Engine) is refused with the holder's pid and verb; gc is refused while a
// session changes and sessions while gc runs; an Engine's own methods run
// under the lock it holds.
func TestSessionLock(t *testing.T) {
	dir := t.TempDir()
	open := func() *State {
		st, err := OpenState(dir)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	a, b := open(), open()
	down, err := a.LockSession("s1", "down")
	if err != nil {
		t.Fatal(err)
	}
	pid := fmt.Sprintf("`down` (pid %d, ", os.Getpid())
	tests := []struct {
		name string
		try  func() (*SessionLock, error)
		want string // "" when it must succeed
	}{
		{"same session", func() (*SessionLock, error) { return b.LockSession("s1", "up") }, `session "s1" is busy: ` + pid},
		{"other session", func() (*SessionLock, error) { return b.LockSession("s2", "up") }, ""},
		{"gc while a session changes", b.LockGC, "gc cannot run now: `down s1` (pid "},
		{"bad name", func() (*SessionLock, error) { return b.LockSession("../x", "up") }, "session name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tt.try()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				l.Unlock()
				return
			}
			if err == nil {
				l.Unlock()
				t.Fatalf("got the lock, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
	down.Unlock()

	gc, err := a.LockGC()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.LockSession("s1", "up"); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "gc cannot run now: `gc` (pid") {
		t.Errorf("up during gc: %v", err)
	}
	gc.Unlock()

	// An Engine holding the lock runs its own methods under it; another is refused.
	e1, e2 := &Engine{State: a}, &Engine{State: b}
	release, err := e1.Hold("s1", "up")
	if err != nil {
		t.Fatal(err)
	}
	again, err := e1.Hold("s1", "up")
	if err != nil {
		t.Fatalf("the holding Engine: %v", err)
	}
	again()
	if _, err := e2.Hold("s1", "down"); !errors.Is(err, ErrBusy) {
		t.Fatalf("another Engine while held: %v", err)
	}
	release()
	release() // twice is harmless
	r2, err := e2.Hold("s1", "down")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	r2()
}

// TestSessionLockDiesWithItsHolder: a process killed (SIGKILL) while holding
// a session's lock leaves it free.
func TestSessionLockDiesWithItsHolder(t *testing.T) {
	if dir := os.Getenv("TAILAB_LOCK_HOLDER"); dir != "" {
		st, err := OpenState(dir)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		if _, err := st.LockSession("s1", "up"); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("held")
		select {} // until killed
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSessionLockDiesWithItsHolder$")
	cmd.Env = append(os.Environ(), "TAILAB_LOCK_HOLDER="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "held\n" {
		t.Fatalf("holder says %q", line)
	}
	st, err := OpenState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.LockSession("s1", "down"); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("`up` (pid %d, ", cmd.Process.Pid)) {
		t.Fatalf("while the holder lives: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := st.LockSession("s1", "down")
	if err != nil {
		t.Fatalf("after kill -9 of the holder: %v", err)
	}
	l.Unlock()
}
