package sambadc_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sambadc"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

func TestDCFixtures(t *testing.T) {
	dc := sambadc.Start(t, sambadc.Options{
		PlainLDAP: true,
		Shares: []sambadc.Share{{
			Name: "Compta", Files: map[string]string{"lisezmoi.txt": "bonjour"},
			ReadUsers: []string{"bob"}, WriteUsers: []string{"alice"},
		}},
	})
	ou := dc.CreateOU(t, "OU=Paris")
	dc.CreateUser(t, sambadc.User{Name: "alice", Password: "Passw0rd-alice", OU: "OU=Paris", MustChangePassword: false})
	dc.CreateUser(t, sambadc.User{Name: "bob", Password: "Passw0rd-bob"})
	dc.CreateGroup(t, "GG_Compta", "OU=Paris", "")
	dc.AddMembers(t, "GG_Compta", "alice")
	guid := dc.CreateGPO(t, "Fond d'écran")
	dc.LinkGPO(t, ou, guid)

	out, err := exec.Command("ldapsearch", "-x", "-H", "ldap://"+dc.IP, "-D", dc.AdminUPN, "-w", dc.AdminPassword,
		"-b", ou, "-s", "base", "gPLink").CombinedOutput()
	if err != nil || !strings.Contains(strings.ToUpper(string(out)), guid) {
		t.Fatalf("gPLink of %s lacks %s: %v\n%s", ou, guid, err, out)
	}
	if out, err := dc.SmbClient("Compta", "alice", "Passw0rd-alice", "put /etc/hostname x.txt; ls"); err != nil || !strings.Contains(string(out), "x.txt") {
		t.Fatalf("alice write: %v\n%s", err, out)
	}
	if out, err := dc.SmbClient("Compta", "bob", "Passw0rd-bob", "put /etc/hostname y.txt"); err == nil && !strings.Contains(out, "DENIED") {
		t.Fatalf("bob could write:\n%s", out)
	}
	t.Logf("startup %s", dc.Startup)
}
