package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/store"
)

func TestWindowPhases(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	paris, _ := time.LoadLocation("Europe/Paris")
	tests := []struct {
		name string
		w    Window
		at   time.Time
		want Phase
		msg  string
	}{
		{"never opened", Window{}, t0, NotOpen, "attendez l'ouverture"},
		{"opens later", Window{Opens: t0.Add(time.Hour)}, t0, NotOpen, "ouverture le 07/12/2026 à 10:00:00"},
		{"open", Window{Opens: t0}, t0, Open, ""},
		{"open until close", Window{Opens: t0, Closes: t0.Add(time.Hour)}, t0.Add(59 * time.Minute), Open, ""},
		{"closed", Window{Opens: t0, Closes: t0.Add(time.Hour)}, t0.Add(time.Hour), Closed, "fermeture le 07/12/2026 à 10:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.At(tt.at); got != tt.want {
				t.Errorf("phase %d, want %d", got, tt.want)
			}
			msg := tt.w.Refusal(tt.at, paris)
			if tt.msg == "" && msg != "" || !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q, want %q", msg, tt.msg)
			}
		})
	}
}

func TestWindowStore(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Truncate(time.Second)
	if _, err := CloseWindow(st, "s", t0); err == nil || !strings.Contains(err.Error(), "never opened") {
		t.Errorf("close before open: %v", err)
	}
	if _, err := OpenWindow(st, "s", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := CloseWindow(st, "s", t0.Add(-time.Minute)); err == nil {
		t.Error("a close before the opening was accepted")
	}
	if _, err := CloseWindow(st, "s", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	w, err := LoadWindow(st, "s")
	if err != nil || !w.Opens.Equal(t0) || !w.Closes.Equal(t0.Add(time.Hour)) {
		t.Fatalf("window %+v, %v", w, err)
	}
	// reopening after the close drops the close
	w, err = OpenWindow(st, "s", t0.Add(2*time.Hour))
	if err != nil || !w.Closes.IsZero() {
		t.Errorf("reopen: %+v, %v", w, err)
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(3, time.Minute)
	t0 := time.Now()
	for i := 0; i < 3; i++ {
		if b, _ := l.blocked("k", t0); b {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail("k", t0.Add(time.Duration(i)*time.Second))
	}
	if b, wait := l.blocked("k", t0.Add(3*time.Second)); !b || wait != 57*time.Second {
		t.Errorf("after 3 failures: blocked %v for %s", b, wait)
	}
	if b, _ := l.blocked("other", t0); b {
		t.Error("another key is blocked")
	}
	if b, _ := l.blocked("k", t0.Add(time.Minute)); b {
		t.Error("still blocked once the first failure left the period")
	}
}

func TestPasswordsAndRotate(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pws, err := Passwords(st, "s", []string{"c01", "c02"})
	if err != nil {
		t.Fatal(err)
	}
	p1 := pws["c01"].Reveal()
	if len(p1) != passwordLength || strings.Trim(p1, secret.Unambiguous) != "" || p1 == pws["c02"].Reveal() {
		t.Errorf("passwords %q %q", p1, pws["c02"].Reveal())
	}
	again, _ := Passwords(st, "s", []string{"c01"})
	if again["c01"].Reveal() != p1 {
		t.Error("the password changed without a rotation")
	}
	v := newVerifier()
	if err := v.check(st, "s", "c01", p1); err != nil {
		t.Errorf("right password refused: %v", err)
	}
	if err := v.check(st, "s", "c01", p1); err != nil { // remembered
		t.Errorf("right password refused: %v", err)
	}
	rotated, err := Rotate(st, "s", "c01")
	if err != nil || rotated.Reveal() == p1 {
		t.Fatalf("rotate: %v", err)
	}
	if v.check(st, "s", "c01", p1) == nil || v.check(st, "s", "c01", rotated.Reveal()) != nil {
		t.Error("after a rotation the old password works or the new one does not")
	}
	if v.check(st, "s", "c01", p1+"x") != errBadLogin || v.check(st, "s", "c01", p1) != errBadLogin {
		t.Error("a wrong password, or the old one after the new one was remembered, accepted")
	}
	if v.check(st, "s", "c99", p1) != errBadLogin {
		t.Error("unknown login not answered like a wrong password")
	}
}

// TestRecorderUTF8 proves a character split across two reads is recorded
// whole, and resizes are recorded.
func TestRecorderUTF8(t *testing.T) {
	dir := t.TempDir()
	r, err := newRecorder(dir, "c01", "srv", "xterm", 100, 30, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	é := []byte("é")
	r.Write(append([]byte("caf"), é[0]))
	r.Write(append([]byte{é[1]}, '\n'))
	r.resize(120, 40)
	r.typed([]byte("secret"))
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(r.Path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], `"width":100,"height":30`) || !strings.HasSuffix(lines[1], `"o","caf"]`) ||
		!strings.HasSuffix(lines[2], `"o","é\n"]`) || !strings.HasSuffix(lines[3], `"r","120x40"]`) {
		t.Errorf("recording:\n%s", b)
	}
	if fi, _ := os.Stat(r.Path); fi.Mode().Perm() != 0o600 || filepath.Dir(r.Path) != filepath.Join(dir, "c01") {
		t.Errorf("recording file %s mode %v", r.Path, fi.Mode())
	}
}

func TestParseAt(t *testing.T) {
	now := time.Date(2026, 6, 12, 9, 0, 0, 0, time.Local)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", now, false},
		{"now", now, false},
		{"+3h30m", now.Add(3*time.Hour + 30*time.Minute), false},
		{"14:00", time.Date(2026, 6, 12, 14, 0, 0, 0, time.Local), false},
		{"2026-06-12T14:00:00Z", time.Date(2026, 6, 12, 14, 0, 0, 0, time.UTC), false},
		{"demain", time.Time{}, true},
		{"+trois", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseAt(tt.in, now)
		if (err != nil) != tt.err || !got.Equal(tt.want) {
			t.Errorf("ParseAt(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}
