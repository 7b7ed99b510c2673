package atomicfile

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// leftovers lists the temporary files left in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name     string
		existing string // "" = no previous file
		data     string
		perm     os.FileMode
	}{
		{"new file", "", "bonjour\n", 0o644},
		{"replaces existing", "ancien contenu, plus long que le nouveau", "nouveau", 0o600},
		{"empty content", "x", "", 0o640},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "grille.csv")
			if tt.existing != "" {
				if err := os.WriteFile(path, []byte(tt.existing), 0o666); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFile(path, []byte(tt.data), tt.perm); err != nil {
				t.Fatalf("WriteFile: %v", err)
			}
			if got := readFile(t, path); got != tt.data {
				t.Errorf("content = %q, want %q", got, tt.data)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != tt.perm {
				t.Errorf("mode = %v, want %v", st.Mode().Perm(), tt.perm)
			}
			if l := leftovers(t, dir); len(l) != 0 {
				t.Errorf("temporary files left: %v", l)
			}
		})
	}
}

func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
	}{
		{"missing directory", filepath.Join(dir, "absent", "f.txt")},
		{"destination is a directory", dir + string(filepath.Separator)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteFile(tt.path, []byte("x"), 0o644)
			if err == nil {
				t.Fatal("WriteFile succeeded, want an error")
			}
			if !strings.Contains(err.Error(), "atomicfile") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
	// Renaming a file over a non-empty directory fails: nothing may be left behind.
	target := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(target, "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(target, []byte("x"), 0o644); err == nil {
		t.Fatal("WriteFile over a directory succeeded")
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("temporary files left after a failed commit: %v", l)
	}
}

func TestStreamingCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rapport.html")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	if f.Name() != path {
		t.Errorf("Name() = %q, want %q", f.Name(), path)
	}
	for _, chunk := range []string{"<html>", "é", "</html>"} {
		if _, err := f.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
		// Until Commit, readers still see the old content.
		if got := readFile(t, path); got != "old" {
			t.Fatalf("before commit, content = %q, want %q", got, "old")
		}
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "<html>é</html>" {
		t.Errorf("content = %q", got)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != DefaultPerm {
		t.Errorf("mode = %v, want %v", st.Mode().Perm(), DefaultPerm)
	}
	// After Commit: Abort is a no-op, everything else says ErrDone.
	if err := f.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if err := f.Commit(); !errors.Is(err, ErrDone) {
		t.Errorf("second Commit: %v, want ErrDone", err)
	}
	if _, err := f.Write([]byte("x")); !errors.Is(err, ErrDone) {
		t.Errorf("Write after Commit: %v, want ErrDone", err)
	}
	if got := readFile(t, path); got != "<html>é</html>" {
		t.Errorf("content changed after Commit: %q", got)
	}
}

func TestStreamingAbort(t *testing.T) {
	tests := []struct {
		name     string
		existing bool
	}{
		{"keeps the old file", true},
		{"creates nothing", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.json")
			if tt.existing {
				if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := CreatePerm(path, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte("half a repo")); err != nil {
				t.Fatal(err)
			}
			if err := f.Abort(); err != nil {
				t.Fatal(err)
			}
			if err := f.Abort(); err != nil {
				t.Errorf("second Abort: %v", err)
			}
			if err := f.Commit(); !errors.Is(err, ErrDone) {
				t.Errorf("Commit after Abort: %v, want ErrDone", err)
			}
			_, err = os.Stat(path)
			switch {
			case tt.existing && readFile(t, path) != "old":
				t.Errorf("old content lost")
			case !tt.existing && !errors.Is(err, os.ErrNotExist):
				t.Errorf("destination exists after Abort: %v", err)
			}
			if l := leftovers(t, dir); len(l) != 0 {
				t.Errorf("temporary files left: %v", l)
			}
		})
	}
}

func TestRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := WriteFile("rel.txt", []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "rel.txt")); got != "ok" {
		t.Errorf("content = %q", got)
	}
}

// TestCrashLeavesOldContent kills a writer in the middle of a write (a child process
// that exits without Commit or Abort) and checks the destination is intact.
func TestCrashLeavesOldContent(t *testing.T) {
	if path := os.Getenv("ATOMICFILE_CRASH_PATH"); path != "" {
		f, err := Create(path)
		if err != nil {
			os.Exit(3)
		}
		_, _ = f.Write(bytes.Repeat([]byte("new "), 1<<16))
		os.Exit(7) // crash: no Commit, no Abort, no deferred calls
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "grille.csv")
	if err := WriteFile(path, []byte("complete old grid\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLeavesOldContent$")
	cmd.Env = append(os.Environ(), "ATOMICFILE_CRASH_PATH="+path)
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 7 {
		t.Fatalf("child: %v, want exit status 7", err)
	}
	if got := readFile(t, path); got != "complete old grid\n" {
		t.Errorf("after a crash, content = %.40q..., want the old content", got)
	}
	// The crash may leave a hidden temporary file; it never replaces the destination.
	if l := leftovers(t, dir); len(l) != 1 {
		t.Errorf("want exactly one leftover temporary file, got %v", l)
	}
}
