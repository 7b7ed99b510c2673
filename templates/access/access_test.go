package access

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sample() []Sheet {
	at := time.Date(2026, 6, 15, 8, 30, 0, 0, time.UTC)
	return []Sheet{
		{
			Session: "juin-26", Lab: "tpe-local", Candidate: "c01", Name: "Élodie Martin", Generated: at,
			Gateway: &Gateway{Address: "192.168.10.5", SSHPort: 2222, URL: "https://192.168.10.5:8443/", Login: "c01", Password: "Kp7mWx3qRt",
				CertSHA256: "AB:CD:EF:01", HostKey: "SHA256:abcdef"},
			Machines: []Machine{
				{Name: "srv", Kind: "container", OS: "linux", Role: "server",
					Addresses: []Address{{"lan", "10.20.0.10"}},
					Logins:    []Login{{Proto: "ssh", Address: "10.20.0.10", Port: 22, User: "root"}}},
				{Name: "pc1", Kind: "vm", OS: "windows", Role: "client",
					Addresses: []Address{{"lan", "10.20.0.21"}},
					Console:   &Console{Type: "vnc", Host: "192.168.10.5", Port: 5901, Password: "Ab3<&x9Z"},
					Logins:    []Login{{Proto: "rdp", Address: "10.20.0.21", Port: 3389, User: "Administrateur"}}},
			},
		},
		{
			Session: "juin-26", Lab: "tpe-local", Candidate: "c02", Generated: at,
			Gateway: &Gateway{Login: "c02", Password: "Zz9aBc4dEf"},
			Machines: []Machine{
				{Name: "pc1", Kind: "vm", OS: "linux", Console: &Console{Type: "vnc", Host: "::1"}},
				{Name: "sw", Kind: "container"},
			},
		},
		{
			Session: "juin-26", Lab: "tpe-local", Candidate: "c03", Generated: at,
			Gateway:  &Gateway{Login: "c03", Password: "Hj4kLm5nPq", Address: "gw.exam", SSHPort: 2222},
			Machines: []Machine{{Name: "srv", Kind: "container", Addresses: []Address{{"lan", "10.20.0.10"}}}},
		},
	}
}

// TestRenderGolden renders two sheets: a full one (escaped password, RDP, a
// container), and one of a candidate without a name whose VM was stopped
// (blank port and password lines to fill in by hand).
func TestRenderGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, sample()); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "sheets.golden.html")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("sheet differs from %s (go test -update to accept):\n%s", golden, b.String())
	}
	for _, s := range []string{"Ab3&lt;&amp;x9Z", "vnc://192.168.10.5:5901", "Élodie Martin (c01)", "15/06/2026 à 08:30", "port 3389"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("sheet lacks %q", s)
		}
	}
	for _, s := range []string{"Kp7mWx3qRt", "https://192.168.10.5:8443/", "ssh -p 2222 c01@192.168.10.5", "AB:CD:EF:01", "SHA256:abcdef",
		"Zz9aBc4dEf", "ssh -p 2222 c03@gw.exam"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("sheet lacks %q", s)
		}
	}
	// the console note only on the sheets of labs with VMs (c01, c02), not c03's
	if n := strings.Count(b.String(), "remote-viewer"); n != 2 {
		t.Errorf("the console note appears %d times, want 2 (not on a sheet without VMs)", n)
	}
	// ...which sends candidates to the gateway's console tab when there is a gateway
	if n := strings.Count(b.String(), "onglet « Console MACHINE »"); n != 2 {
		t.Errorf("the console tab is named %d times, want 2", n)
	}
	if strings.Contains(b.String(), "Ab3<&x9Z") {
		t.Error("password not HTML-escaped")
	}
}

func TestConsoleURL(t *testing.T) {
	for _, tt := range []struct {
		c    Console
		want string
	}{
		{Console{Type: "vnc", Host: "127.0.0.1", Port: 5900}, "vnc://127.0.0.1:5900"},
		{Console{Type: "vnc", Host: "fd00::5", Port: 5901}, "vnc://[fd00::5]:5901"},
		{Console{Type: "vnc", Host: "127.0.0.1"}, ""},
	} {
		if got := tt.c.URL(); got != tt.want {
			t.Errorf("%+v: URL() = %q, want %q", tt.c, got, tt.want)
		}
	}
}
