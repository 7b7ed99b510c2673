package scenario

import (
	"context"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ldap"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv/sambadc"
	"github.com/tailab/tailab/labs"
)

type ldapLab struct {
	dc     *sambadc.DC
	runner *Runner
}

func newLDAPLab(t *testing.T) *ldapLab {
	t.Helper()
	dc := sambadc.Start(t, sambadc.Options{})
	m := &secret.Masker{}
	m.Add(dc.AdminPassword)
	return &ldapLab{dc: dc, runner: &Runner{Machines: map[string]probe.Target{
		"dc": {Machine: "dc", Address: dc.IP, Masker: m, Credentials: map[string]probe.Credentials{
			"ldap": {User: "Administrator", Domain: dc.Realm, Password: secret.New(dc.AdminPassword)},
		}},
	}}}
}

func ldapStep(name, run string) labs.Step {
	return labs.Step{Action: labs.Action{Name: name, Machine: "dc", Transport: "ldap", Run: run, Timeout: labs.Duration(20 * time.Second)}}
}

// observe searches the directory with the ldap probe, as a check would.
func (l *ldapLab) observe(t *testing.T, p ldap.Params) map[string]any {
	t.Helper()
	p.InsecureSkipVerify = true
	obs, err := ldap.New().Run(context.Background(), l.runner.Machines["dc"], []probe.Request{{ID: "c", Params: &p, Timeout: 10 * time.Second}})
	if err != nil || obs[0].Err != nil {
		t.Fatalf("search: %v %v", err, obs[0].Err)
	}
	return obs[0].Values
}

func TestLDAPStepsAgainstSambaDC(t *testing.T) {
	l := newLDAPLab(t)
	base := l.dc.BaseDN
	ctx := context.Background()

	// A solution: an OU and a user (one step, two records), then changes.
	create := ldapStep("ou-et-compte", `version: 1

# l'unité d'organisation de l'agence
dn: OU=Élèves,`+base+`
changetype: add
objectClass: organizationalUnit
description: Agence de
  Besançon

dn: CN=Zoé Durand,OU=Élèves,`+base+`
changetype: add
objectClass: user
sAMAccountName: zdurand
givenName: Zoé
sn: Durand
`)
	res, err := l.runner.ApplyStep(ctx, create)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("transcript:\n%s", res.Output)
	for _, w := range []string{"bind Administrator@" + l.dc.Realm, "add OU=Élèves," + base + " (objectClass, description): ok", "add CN=Zoé Durand,OU=Élèves," + base + " (objectClass, sAMAccountName, givenName, sn): ok"} {
		if !strings.Contains(res.Output, w) {
			t.Errorf("output lacks %q:\n%s", w, res.Output)
		}
	}
	v := l.observe(t, ldap.Params{Base: "OU=Élèves", Scope: "base", Attributes: []string{"description"}})
	if v["base_exists"] != true || !strings.Contains(v["entries"].([]any)[0].(map[string]any)["description"].([]any)[0].(string), "Agence de Besançon") {
		t.Fatalf("the OU: %v", v)
	}

	change := ldapStep("compte", `dn: CN=Zoé Durand,OU=Élèves,`+base+`
changetype: modify
replace: description
description: Comptable
-
replace: userAccountControl
userAccountControl: 514
-
`)
	if _, err := l.runner.ApplyStep(ctx, change); err != nil {
		t.Fatal(err)
	}
	v = l.observe(t, ldap.Params{Filter: "(sAMAccountName=zdurand)", AccountFlags: true, Attributes: []string{"description"}})
	if v["count"] != 1 || v["disabled"] != true || v["entries"].([]any)[0].(map[string]any)["description"].([]any)[0] != "Comptable" {
		t.Fatalf("the user after modify: %v", v)
	}

	// Renaming and moving, then deleting (the tree-delete control removes the OU
	// with what it holds).
	move := ldapStep("deplacer", `dn: CN=Zoé Durand,OU=Élèves,`+base+`
changetype: modrdn
newrdn: CN=Zoé Martin
deleteoldrdn: 1
newsuperior: CN=Users,`+base+`

dn: OU=Élèves,`+base+`
changetype: delete
`)
	if _, err := l.runner.ApplyStep(ctx, move); err != nil {
		t.Fatal(err)
	}
	if v := l.observe(t, ldap.Params{Filter: "(sAMAccountName=zdurand)"}); v["count"] != 1 || v["dns"].([]any)[0] != "CN=Zoé Martin,CN=Users,"+base {
		t.Fatalf("after modrdn: %v", v)
	}
	if v := l.observe(t, ldap.Params{Base: "OU=Élèves", Scope: "base"}); v["base_exists"] != false {
		t.Fatalf("the OU is still there: %v", v)
	}
	l.dc.CreateOU(t, "OU=Lyon")
	l.dc.CreateOU(t, "OU=Bureaux,OU=Lyon")
	tree := ldapStep("lyon", "dn: OU=Lyon,"+base+"\ncontrol: 1.2.840.113556.1.4.805 true\nchangetype: delete\n\ndn: CN=Zoé Martin,CN=Users,"+base+"\nchangetype: delete\n")
	if _, err := l.runner.ApplyStep(ctx, tree); err != nil {
		t.Fatal(err)
	}
	if v := l.observe(t, ldap.Params{Filter: "(|(sAMAccountName=zdurand)(ou=Bureaux))"}); v["count"] != 0 {
		t.Fatalf("after the deletes: %v", v)
	}

	t.Run("a refused record stops the step", func(t *testing.T) {
		st := ldapStep("groupes", `dn: OU=Groupes,`+base+`
changetype: add
objectClass: organizationalUnit

dn: CN=GG_Compta,OU=Absente,`+base+`
changetype: add
objectClass: group

dn: OU=Jamais,`+base+`
changetype: add
objectClass: organizationalUnit
`)
		res, err := l.runner.ApplyStep(ctx, st)
		want := "step groupes on dc: record 2 (line 5 of run: add CN=GG_Compta,OU=Absente," + base + "): no such entry (or its parent is missing): LDAP Result Code 32"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v\nwant %q", err, want)
		}
		if !goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) || res.ExitCode != 32 {
			t.Errorf("exit code %d, error chain %v", res.ExitCode, err)
		}
		if !strings.Contains(res.Output, "add OU=Groupes,"+base+" (objectClass): ok") || !strings.Contains(res.Output, ": refused") || strings.Contains(res.Output, "Jamais") {
			t.Errorf("transcript:\n%s", res.Output)
		}
		if v := l.observe(t, ldap.Params{Base: "OU=Jamais", Scope: "base"}); v["base_exists"] != false {
			t.Error("a record after the refused one was applied")
		}

		// Applying it again: the first add now exists.
		_, err = l.runner.ApplyStep(ctx, st)
		want = "record 1 (line 1 of run: add OU=Groupes," + base + "): the entry already exists (steps are applied once, to an instance whose faults are applied): LDAP Result Code 68"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("re-run: err = %v\nwant %q", err, want)
		}
	})

	t.Run("StartTLS", func(t *testing.T) {
		r := &Runner{Machines: l.runner.Machines, LDAP: &ldap.Params{TLS: ldap.TLSStartTLS, CAFile: l.dc.CAFile(), ServerName: sambadc.HostName + "." + strings.ToLower(l.dc.Realm)}}
		res, err := r.ApplyFaults(ctx, []labs.Fault{{Action: labs.Action{Name: "compte-verrouille", Machine: "dc", Transport: "ldap",
			Run: "dn: CN=Administrator,CN=Users," + base + "\nchangetype: modify\nreplace: description\ndescription: modifié par une panne\n"}}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res[0].Output, "(StartTLS) bind Administrator@") {
			t.Errorf("transcript:\n%s", res[0].Output)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		tg := l.runner.Machines["dc"]
		tg.Credentials = map[string]probe.Credentials{"ldap": {User: "Administrator", Domain: l.dc.Realm, Password: secret.New("Mauvais-mdp-1")}}
		r := &Runner{Machines: map[string]probe.Target{"dc": tg}}
		_, err := r.ApplyStep(ctx, ldapStep("x", "dn: OU=X,"+base+"\nchangetype: delete\n"))
		if err == nil || !strings.Contains(err.Error(), "bind as Administrator@"+l.dc.Realm+" (wrong password)") {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), "Mauvais-mdp-1") || strings.Contains(err.Error(), l.dc.AdminPassword) {
			t.Fatalf("a password in %v", err)
		}
	})

	t.Run("DC unreachable", func(t *testing.T) {
		tg := l.runner.Machines["dc"]
		tg.Address = "127.0.10.250" // nothing listens there
		r := &Runner{Machines: map[string]probe.Target{"dc": tg}}
		st := ldapStep("x", "dn: OU=X,"+base+"\nchangetype: delete\n")
		st.Timeout = labs.Duration(time.Second) // waited for as a restarting machine
		res, err := r.ApplyStep(ctx, st)
		if err == nil || !strings.Contains(err.Error(), "step x on dc: ldap 127.0.10.250: dial 127.0.10.250:636") || !strings.Contains(err.Error(), "connection refused") ||
			!strings.Contains(err.Error(), "no answer within the step's timeout, 1s") || res.Attempts < 2 {
			t.Fatalf("res %+v, err = %v", res, err)
		}
	})
}
