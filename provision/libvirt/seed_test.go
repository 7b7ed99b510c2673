package libvirt

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/labs"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// winSeedLab has one Windows VM with a static NIC on a nat network (so with a
// gateway and libvirt's DNS), a DHCP NIC and a static NIC on isolated networks;
// the management NIC comes last.
const winSeedLab = `name: win-seed
secrets:
  admin: {value: unused}
networks:
  - {name: wan, cidr: 10.101.0.0/24, mode: nat}
  - {name: lan, cidr: 10.20.0.0/24}
  - {name: dmz, cidr: 10.21.0.0/24}
machines:
  - name: srv
    role: server
    kind: vm
    os: windows
    image: win-test
    memory: 2GiB
    firmware: uefi
    credentials:
      winrm: {user: Administrateur, password: admin}
    ready: {winrm: true}
    nics:
      - {network: wan, address: 10.101.0.10}
      - {network: lan, address: dhcp}
      - {network: dmz, address: 10.21.0.5}
`

// fakeAdminPassword stands for the administrator's secret: XML-special
// characters, never a real password.
const fakeAdminPassword = `Faux-Mdp&<golden>"1'`

// labSpecs plans one candidate of the lab on the test driver, with an empty
// image file for each name in images, and returns the machines' specs.
func labSpecs(t *testing.T, labYAML string, images ...string) ([]*machineSpec, error) {
	t.Helper()
	h := newTDHost(t)
	if err := os.MkdirAll(filepath.Join(h.dataDir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		if err := os.WriteFile(filepath.Join(h.dataDir, "images", img+".qcow2"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := h.session(t, "gold", labYAML, 1)
	s.MgmtCIDR = "10.250.0.0/16"
	ins, err := s.Instances()
	if err != nil {
		t.Fatal(err)
	}
	_, specs, err := h.p.specs(s, ins)
	return specs, err
}

// winSeedSpec plans the lab on the test driver and returns srv's spec.
func winSeedSpec(t *testing.T, labYAML string) *machineSpec {
	t.Helper()
	specs, err := labSpecs(t, labYAML, "win-test")
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 1 || specs[0].Machine.OS != labs.OSWindows {
		t.Fatalf("specs: %+v", specs)
	}
	return specs[0]
}

// unattend is the part of an answer file the test reads back with
// encoding/xml (the namespace of every element is the unattend one).
type unattend struct {
	XMLName  xml.Name `xml:"urn:schemas-microsoft-com:unattend unattend"`
	Settings []struct {
		Pass       string `xml:"pass,attr"`
		Components []struct {
			Name       string `xml:"name,attr"`
			Interfaces []struct {
				Identifier string   `xml:"Identifier"`
				DHCP       string   `xml:"Ipv4Settings>DhcpEnabled"`
				Addresses  []string `xml:"UnicastIpAddresses>IpAddress"`
				Routes     []struct {
					NextHop string `xml:"NextHopAddress"`
					Prefix  string `xml:"Prefix"`
				} `xml:"Routes>Route"`
				DNS          []string `xml:"DNSServerSearchOrder>IpAddress"`
				Registration string   `xml:"EnableAdapterDomainNameRegistration"`
			} `xml:"Interfaces>Interface"`
			AutoLogonUser string `xml:"AutoLogon>Username"`
			AutoLogonPass string `xml:"AutoLogon>Password>Value"`
			AdminPass     string `xml:"UserAccounts>AdministratorPassword>Value"`
			ComputerName  string `xml:"ComputerName"`
		} `xml:"component"`
	} `xml:"settings"`
}

func TestWindowsAnswerFile(t *testing.T) {
	sp := winSeedSpec(t, winSeedLab)
	volid, files, err := renderSeed(sp, map[string]secret.Value{"admin": secret.New(fakeAdminPassword)})
	if err != nil {
		t.Fatal(err)
	}
	if volid != "UNATTEND" || len(files) != 1 || files[0].Name != "autounattend.xml" {
		t.Fatalf("volid %q, files %v", volid, files)
	}
	got := files[0].Data
	golden := filepath.Join("testdata", "autounattend-srv.golden.xml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("answer file differs from %s (run with -update and review the diff):\n%s", golden, got)
	}

	var u unattend
	if err := xml.Unmarshal(got, &u); err != nil {
		t.Fatalf("the answer file is not XML: %v", err)
	}
	type iface struct{ tcpip, dns []string }
	byID := map[string]*iface{}
	var logonUser, logonPass, adminPass, computer string
	for _, st := range u.Settings {
		for _, c := range st.Components {
			switch {
			case c.Name == "Microsoft-Windows-TCPIP" && st.Pass == "specialize":
				for _, i := range c.Interfaces {
					if byID[i.Identifier] == nil {
						byID[i.Identifier] = &iface{}
					}
					f := byID[i.Identifier]
					f.tcpip = append(f.tcpip, "dhcp="+i.DHCP)
					f.tcpip = append(f.tcpip, i.Addresses...)
					for _, r := range i.Routes {
						f.tcpip = append(f.tcpip, r.Prefix+" via "+r.NextHop)
					}
				}
			case c.Name == "Microsoft-Windows-DNS-Client" && st.Pass == "specialize":
				for _, i := range c.Interfaces {
					if byID[i.Identifier] == nil {
						byID[i.Identifier] = &iface{}
					}
					f := byID[i.Identifier]
					f.dns = append(f.dns, i.DNS...)
					if i.Registration != "" {
						f.dns = append(f.dns, "register="+i.Registration)
					}
				}
			case c.Name == "Microsoft-Windows-Shell-Setup" && st.Pass == "oobeSystem":
				logonUser, logonPass, adminPass = c.AutoLogonUser, c.AutoLogonPass, c.AdminPass
			case c.Name == "Microsoft-Windows-Shell-Setup" && st.Pass == "specialize":
				computer = c.ComputerName
			}
		}
	}
	id := func(j int) string { return windowsMAC(sp.NICs[j].MAC) }
	want4 := map[string]iface{
		id(0): {tcpip: []string{"dhcp=false", "10.101.0.10/24", "0.0.0.0/0 via 10.101.0.1"}, dns: []string{"10.101.0.1"}},
		id(2): {tcpip: []string{"dhcp=false", "10.21.0.5/24"}},
		id(3): {tcpip: []string{"dhcp=false", "10.250.1.10/16"}, dns: []string{"register=false"}},
	}
	if len(byID) != len(want4) {
		t.Errorf("interfaces %v, want exactly the static NICs %v (never the DHCP NIC %s)", slices.Sorted(maps.Keys(byID)), slices.Sorted(maps.Keys(want4)), id(1))
	}
	for k, w := range want4 {
		g := byID[k]
		if g == nil {
			t.Errorf("no Interface %s", k)
			continue
		}
		if strings.Join(g.tcpip, " ") != strings.Join(w.tcpip, " ") || strings.Join(g.dns, " ") != strings.Join(w.dns, " ") {
			t.Errorf("Interface %s: tcpip %q dns %q, want %q %q", k, g.tcpip, g.dns, w.tcpip, w.dns)
		}
	}
	if sp.NICs[3].Lab != "" || sp.NICs[3].Address != "10.250.1.10" {
		t.Errorf("NIC 3 is not the management NIC: %+v", sp.NICs[3])
	}
	if !strings.HasPrefix(id(3), "52-54-00-") || strings.ToUpper(id(3)) != id(3) {
		t.Errorf("identifier %q: want the MAC upper-case with dashes", id(3))
	}
	if logonUser != "Administrateur" || logonPass != fakeAdminPassword || adminPass != fakeAdminPassword || computer != "SRV" {
		t.Errorf("autologon %q, passwords decoded right: %v %v, computer %q", logonUser, logonPass == fakeAdminPassword, adminPass == fakeAdminPassword, computer)
	}

	if _, err := exec.LookPath("xmllint"); err == nil {
		f := filepath.Join(t.TempDir(), "autounattend.xml")
		if err := os.WriteFile(f, got, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("xmllint", "--noout", f).CombinedOutput(); err != nil {
			t.Errorf("xmllint: %v\n%s", err, out)
		}
	} else {
		t.Log("xmllint not installed (libxml2-utils): well-formedness checked by encoding/xml only")
	}
}

// TestWindowsAdminUser: the automatic logon uses the winrm credentials' user,
// without a domain, Administrator when none is given.
func TestWindowsAdminUser(t *testing.T) {
	for _, tc := range []struct{ user, want string }{
		{"", "Administrator"},
		{"Administrator", "Administrator"},
		{"Administrateur", "Administrateur"},
		{`AGENCE\Administrateur`, "Administrateur"},
		{"admin@agence.lan", "admin"},
	} {
		m := labs.Machine{Credentials: map[string]labs.Credential{}}
		if tc.user != "" {
			m.Credentials["winrm"] = labs.Credential{User: tc.user}
		}
		if got := windowsAdmin(m); got != tc.want {
			t.Errorf("windowsAdmin(%q) = %q, want %q", tc.user, got, tc.want)
		}
	}
}

// TestWindowsSeedISO writes the seed ISO as `up` does and reads the answer
// file back from it: the password is inside the ISO and nowhere else in the
// machine's directory (the files genisoimage read are gone), and an odd
// session name cannot break the XML comment.
func TestWindowsSeedISO(t *testing.T) {
	testenv.RequireBinary(t, "genisoimage")
	testenv.RequireBinary(t, "isoinfo")
	sp := winSeedSpec(t, strings.Replace(winSeedLab, "name: srv\n", "name: srv--x-\n", 1))
	sp.Dir = t.TempDir()
	sp.Image = &image{Seed: filepath.Join(sp.Dir, "seed.iso")}
	if err := writeSeed(sp, map[string]secret.Value{"admin": secret.New(fakeAdminPassword)}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("isoinfo", "-J", "-i", sp.Image.Seed, "-x", "/autounattend.xml").Output()
	if err != nil {
		t.Fatalf("isoinfo: %v", err)
	}
	var u unattend
	if err := xml.Unmarshal(out, &u); err != nil {
		t.Fatalf("answer file in the ISO: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("Faux-Mdp&amp;&lt;golden&gt;&quot;1&apos;")) || !bytes.Contains(out, []byte("machine srv-_x-_,")) {
		t.Errorf("answer file in the ISO:\n%s", out)
	}
	err = filepath.WalkDir(sp.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if p != sp.Image.Seed {
			t.Errorf("%s left in the machine's directory", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
