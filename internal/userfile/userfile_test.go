package userfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "lab.yaml")
	big := filepath.Join(dir, "big.yaml")
	fifo := filepath.Join(dir, "fifo")
	link := filepath.Join(dir, "link.yaml")
	for _, err := range []error{
		os.WriteFile(small, []byte("name: x\n"), 0o644),
		os.WriteFile(big, make([]byte, 100), 0o644),
		syscall.Mkfifo(fifo, 0o644),
		os.Symlink(small, link), // a user's own link to a file is fine
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path  string
		limit int64
		want  string // content, or the error's text
		is    error
	}{
		{small, 64, "name: x\n", nil},
		{link, 64, "name: x\n", nil},
		{big, 100, strings.Repeat("\x00", 100), nil},
		{big, 99, "read " + big + ": too large: more than 99 bytes", ErrTooLarge},
		{"/dev/zero", MaxSize, "read /dev/zero: not a regular file (a character device)", ErrNotRegular},
		{"/proc/self/status", 8, "too large: more than 8 bytes", ErrTooLarge}, // says size 0
		{fifo, 64, "not a regular file (a FIFO)", ErrNotRegular},
		{dir, 64, "not a regular file (a directory)", ErrNotRegular},
		{filepath.Join(dir, "missing"), 64, "no such file or directory", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			start := time.Now()
			b, err := ReadLimit(tt.path, tt.limit)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s", d)
			}
			if tt.is == nil {
				if err != nil || string(b) != tt.want {
					t.Fatalf("got %q, %v; want %q", b, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v; want %v containing %q", err, tt.is, tt.want)
			}
		})
	}
}
