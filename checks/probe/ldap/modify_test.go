package ldap_test

import (
	"crypto/tls"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/tailab/tailab/checks/probe/ldap"
	"github.com/tailab/tailab/internal/testenv/sambadc"
)

// modify replaces one attribute of an entry of the DC, as Administrator over
// LDAPS: what a candidate does with ADSI Edit or the GPMC (e.g. a GPO's
// flags, "All settings disabled").
func modify(t *testing.T, dc *sambadc.DC, dn, attr string, values ...string) {
	t.Helper()
	c, err := goldap.DialURL("ldaps://"+dc.LDAPSAddr(), goldap.DialWithTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(sambadc.AdminUPN, dc.AdminPassword); err != nil {
		t.Fatal(err)
	}
	m := goldap.NewModifyRequest(dn, nil)
	m.Replace(attr, values)
	if err := c.Modify(m); err != nil {
		t.Fatalf("modify %s %s: %v", dn, attr, err)
	}
}

// TestAGDLPNearMisses: the agdlp helper credits the chain account → global
// group → domain-local group only, against the real Samba AD DC: each near
// miss (a direct membership of the domain-local group, beside the chain or
// instead of it; the global group not nested; a group of the wrong scope; a
// distribution group) fails, and says why.
func TestAGDLPNearMisses(t *testing.T) {
	l := setup(t)
	p := ldap.New()
	dc := l.dc
	dc.CreateUser(t, sambadc.User{Name: "erin", Password: "Erin-Passw0rd!", OU: "OU=Paris"})
	dc.CreateUser(t, sambadc.User{Name: "fred", Password: "Fred-Passw0rd!", OU: "OU=Paris"})
	dc.CreateGroup(t, "GG_Libre", "OU=Groupes", "Global")     // not nested in the domain-local group
	dc.CreateGroup(t, "GG_Portee", "OU=Groupes", "Universal") // the wrong scope
	dc.CreateGroup(t, "DL_Portee", "OU=Groupes", "Global")    // a "domain-local" group that is global
	dc.AddMembers(t, "GG_Libre", "erin")
	dc.AddMembers(t, "GG_Portee", "fred")
	dc.AddMembers(t, "DL_Compta_RW", "GG_Portee")
	dc.AddMembers(t, "DL_Portee", "GG_Compta")
	dc.Tool(t, "group", "add", "GG_Liste", "--groupou=OU=Groupes", "--group-scope=Global", "--group-type=Distribution")
	dc.AddMembers(t, "GG_Liste", "erin")
	dc.AddMembers(t, "DL_Compta_RW", "GG_Liste")
	check := compile(t, `true`)
	agdlp := func(account, gg, dl string) (bool, []any) {
		t.Helper()
		obs, err := run(t, p, l.target, &ldap.Params{InsecureSkipVerify: true, Filter: "(sAMAccountName=" + account + ")",
			AGDLP: &ldap.AGDLP{Account: account, Global: gg, DomainLocal: dl}})
		if err != nil || obs[0].Err != nil {
			t.Fatalf("%v %v", err, obs[0].Err)
		}
		v := obs[0].Values
		missing, _ := v["agdlp_missing"].([]any)
		return check.Match(v["agdlp"]).OK, missing
	}
	for _, tc := range []struct {
		name, account, gg, dl string
		credited              bool
		why                   string
	}{
		{"the chain", "alice", "GG_Compta", "DL_Compta_RW", true, ""},
		{"names in another case (AD compares them so)", "ALICE", "gg_compta", "dl_compta_rw", true, ""},
		{"global group not nested", "erin", "GG_Libre", "DL_Compta_RW", false, "GG_Libre n'est pas membre de DL_Compta_RW"},
		{"universal instead of global", "fred", "GG_Portee", "DL_Compta_RW", false, "GG_Portee n'est pas un groupe global (étendue universelle)"},
		{"global instead of domain local", "alice", "GG_Compta", "DL_Portee", false, "DL_Portee n'est pas un groupe local de domaine (étendue globale)"},
		{"distribution group", "erin", "GG_Liste", "DL_Compta_RW", false, "GG_Liste n'est pas un groupe de sécurité"},
		{"no such account", "zoe", "GG_Compta", "DL_Compta_RW", false, `compte "zoe" introuvable`},
		{"account not in the global group", "carol", "GG_Compta", "DL_Compta_RW", false, "carol n'est pas membre (direct) de GG_Compta"},
	} {
		ok, missing := agdlp(tc.account, tc.gg, tc.dl)
		if ok != tc.credited {
			t.Errorf("%s: credited %v, want %v (%v)", tc.name, ok, tc.credited, missing)
		}
		if tc.why != "" && !containsAny(missing, tc.why) {
			t.Errorf("%s: agdlp_missing %v lacks %q", tc.name, missing, tc.why)
		}
	}
	// A direct membership of the domain-local group: instead of the chain,
	// then beside it.
	dc.AddMembers(t, "DL_Compta_RW", "carol")
	if ok, missing := agdlp("carol", "GG_Compta", "DL_Compta_RW"); ok || !containsAny(missing, "carol est membre direct de DL_Compta_RW : en AGDLP, seulement par GG_Compta") {
		t.Errorf("direct membership instead of the chain: credited %v (%v)", ok, missing)
	}
	dc.AddMembers(t, "DL_Compta_RW", "alice")
	if ok, missing := agdlp("alice", "GG_Compta", "DL_Compta_RW"); ok || len(missing) != 1 {
		t.Errorf("direct membership beside the chain: credited %v (%v), want one reason", ok, missing)
	}
	dc.Tool(t, "group", "removemembers", "DL_Compta_RW", "alice")
	if ok, missing := agdlp("alice", "GG_Compta", "DL_Compta_RW"); !ok {
		t.Errorf("the chain again: not credited (%v)", missing)
	}
}

func containsAny(list []any, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
