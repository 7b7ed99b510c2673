package beneath

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// plant builds the tree a hostile candidate leaves in their /srv: links to a
// host file and to a host directory, a link climbing out, a FIFO, and a
// regular file and directory.
func plant(t *testing.T) (dir *Dir, root, host string) {
	t.Helper()
	base := t.TempDir()
	root, host = filepath.Join(base, "srv"), filepath.Join(base, "host")
	for _, d := range []string{root, host, filepath.Join(root, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(host, "secret"), []byte("host secret"), 0o600))
	must(os.WriteFile(filepath.Join(root, "plain"), []byte("plain"), 0o644))
	must(os.WriteFile(filepath.Join(root, "sub", "f"), []byte("f"), 0o644))
	must(os.Symlink(filepath.Join(host, "secret"), filepath.Join(root, "key")))
	must(os.Symlink(host, filepath.Join(root, "hostdir")))
	must(os.Symlink("../host/secret", filepath.Join(root, "up")))
	must(os.Symlink("plain", filepath.Join(root, "inside"))) // stays inside: still refused
	must(syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	dir, err := Open(root)
	must(err)
	t.Cleanup(func() { dir.Close() })
	return dir, root, host
}

func TestReadFile(t *testing.T) {
	d, _, _ := plant(t)
	tests := []struct {
		rel   string
		limit int64
		want  string
		err   error
	}{
		{"plain", 100, "plain", nil},
		{"sub/f", 100, "f", nil},
		{"./sub/../plain", 100, "plain", nil},
		{"key", 100, "", ErrLink},
		{"up", 100, "", ErrLink},
		{"inside", 100, "", ErrLink},
		{"hostdir/secret", 100, "", ErrLink},
		{"../host/secret", 100, "", ErrEscape},
		{"/etc/passwd", 100, "", ErrEscape},
		{"fifo", 100, "", ErrNotRegular}, // returns at once: never blocks on a FIFO
		{"sub", 100, "", ErrNotRegular},
		{"plain", 4, "", ErrTooLarge},
		{"missing", 100, "", os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			b, err := d.ReadFile(tt.rel, tt.limit)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ReadFile(%q) = %q, %v; want %v", tt.rel, b, err, tt.err)
				}
				return
			}
			if err != nil || string(b) != tt.want {
				t.Fatalf("ReadFile(%q) = %q, %v; want %q", tt.rel, b, err, tt.want)
			}
		})
	}
}

// TestWriteFile: a write never goes through a planted link (the link is
// replaced, the host file is untouched) and leaves no temporary file.
func TestWriteFile(t *testing.T) {
	tests := []struct {
		rel  string
		mode os.FileMode
		err  error
	}{
		{"new", 0o600, nil},
		{"plain", 0o600, nil}, // replaced through a temporary file
		{"key", 0o600, nil},   // the link is replaced, not followed
		{"a/b/c", 0o644, nil}, // parents made
		{"hostdir/x", 0o644, ErrLink},
		{"../host/x", 0o644, ErrEscape},
		{"/tmp/x", 0o644, ErrEscape},
		{".", 0o644, ErrEscape},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			d, root, host := plant(t)
			err := d.WriteFile(tt.rel, []byte("new content"), tt.mode)
			if b, _ := os.ReadFile(filepath.Join(host, "secret")); string(b) != "host secret" {
				t.Fatalf("the host file was written: %q", b)
			}
			if ents, _ := os.ReadDir(host); len(ents) != 1 {
				t.Fatalf("a file was created in the host dir: %v", ents)
			}
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("WriteFile(%q) = %v, want %v", tt.rel, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(root, tt.rel)
			st, err := os.Lstat(p)
			if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != tt.mode {
				t.Fatalf("%s: %v %v, want a regular file %v", tt.rel, st.Mode(), err, tt.mode)
			}
			if b, _ := os.ReadFile(p); string(b) != "new content" {
				t.Fatalf("%s holds %q", tt.rel, b)
			}
			tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".*.tmp-*"))
			if len(tmps) > 0 {
				t.Fatalf("temporary files left: %v", tmps)
			}
		})
	}
}

func TestMkdirAllAndIsRegular(t *testing.T) {
	d, root, host := plant(t)
	if err := d.MkdirAll("x/y", 0o700); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(root, "x/y")); err != nil || !st.IsDir() {
		t.Fatalf("x/y: %v", err)
	}
	if err := d.MkdirAll("hostdir/z", 0o755); !errors.Is(err, ErrLink) {
		t.Fatalf("MkdirAll through a link = %v, want ErrLink", err)
	}
	if _, err := os.Stat(filepath.Join(host, "z")); err == nil {
		t.Fatal("a directory was made in the host dir")
	}
	for rel, want := range map[string]bool{"plain": true, "sub/f": true, "key": false, "inside": false, "fifo": false, "sub": false, "missing": false, "../host/secret": false} {
		if got := d.IsRegular(rel); got != want {
			t.Errorf("IsRegular(%q) = %v, want %v", rel, got, want)
		}
	}
}

// TestRemoveAll: links are removed, never what they name.
func TestRemoveAll(t *testing.T) {
	d, root, host := plant(t)
	for _, rel := range []string{"hostdir", "key", "sub", "missing", "missing/x"} {
		if err := d.RemoveAll(rel); err != nil {
			t.Fatalf("RemoveAll(%q): %v", rel, err)
		}
		if _, err := os.Lstat(filepath.Join(root, rel)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s still there: %v", rel, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(host, "secret")); string(b) != "host secret" {
		t.Fatal("the host file went")
	}
	for rel, want := range map[string]error{"../host": ErrEscape, ".": ErrEscape, "hostdir/secret": nil, "up/x": ErrLink} {
		if err := d.RemoveAll(rel); !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("RemoveAll(%q) = %v, want %v", rel, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(host, "secret")); err != nil {
		t.Fatal("the host file went")
	}
}
