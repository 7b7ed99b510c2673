package provision

import (
	"testing"

	"github.com/tailab/tailab/internal/secret"
)

func TestVirtViewerFile(t *testing.T) {
	for _, tt := range []struct {
		name  string
		c     Console
		title string
		want  string
	}{
		{"password", Console{Type: "vnc", Host: "192.168.10.5", Port: 5901, Password: secret.New("Ab3dEf7h")}, "s1 c01 pc1",
			"[virt-viewer]\ntype=vnc\nhost=192.168.10.5\nport=5901\npassword=Ab3dEf7h\ntitle=s1 c01 pc1\ndelete-this-file=0\nfullscreen=0\n"},
		{"no password, title with a newline", Console{Type: "vnc", Host: "127.0.0.1", Port: 5900}, "a\nb",
			"[virt-viewer]\ntype=vnc\nhost=127.0.0.1\nport=5900\ntitle=a b\ndelete-this-file=0\nfullscreen=0\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.c.VirtViewerFile(tt.title)); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestConsoleAddress(t *testing.T) {
	for _, tt := range []struct {
		c    *Console
		want string
	}{
		{nil, ""},
		{&Console{Host: "127.0.0.1"}, ""},
		{&Console{Host: "127.0.0.1", Port: 5900}, "127.0.0.1:5900"},
		{&Console{Host: "fd00::1", Port: 5900}, "[fd00::1]:5900"},
	} {
		if got := tt.c.Address(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.c, got, tt.want)
		}
	}
}

// TestConsolePassword: 8 characters, stable per candidate, different between
// candidates, returned by Secrets for labs with VMs only.
func TestConsolePassword(t *testing.T) {
	st, err := OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.ConsolePassword("s", "c01")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := st.ConsolePassword("s", "c01")
	b, _ := st.ConsolePassword("s", "c02")
	if len(a.Reveal()) != 8 || a.Reveal() != again.Reveal() || a.Reveal() == b.Reveal() {
		t.Errorf("passwords: c01 %d chars, stable %v, differs from c02 %v", len(a.Reveal()), a.Reveal() == again.Reveal(), a.Reveal() != b.Reveal())
	}
	for _, r := range a.Reveal() {
		if r == '0' || r == 'O' || r == '1' || r == 'l' || r == 'I' {
			t.Errorf("ambiguous character %q in a console password", r)
		}
	}
}
