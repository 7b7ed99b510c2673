package ldap_test

import (
	"context"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/match"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ldap"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sambadc"
	"github.com/tailab/tailab/internal/yamlx"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

const alicePassword = "Alice-Passw0rd!"

// lab is a DC with the fixtures of a typical C2.2 exam.
type lab struct {
	dc       *sambadc.DC
	start    time.Time // the "exam start": before the fixtures were made
	gpoGUID  string
	target   probe.Target
	password string
}

func setup(t *testing.T) *lab {
	t.Helper()
	dc := sambadc.Start(t, sambadc.Options{PlainLDAP: true})
	l := &lab{dc: dc, start: time.Now().UTC().Truncate(time.Second), password: dc.AdminPassword}
	begin := time.Now()
	dc.CreateOU(t, "OU=Paris")
	dc.CreateOU(t, "OU=Groupes")
	dc.CreateUser(t, sambadc.User{Name: "alice", Password: alicePassword, OU: "OU=Paris", GivenName: "Alice", Surname: "Martin", MustChangePassword: true})
	dc.CreateUser(t, sambadc.User{Name: "bob", Password: "Bob-Passw0rd!", OU: "OU=Paris", Disabled: true})
	dc.CreateUser(t, sambadc.User{Name: "carol", Password: "Carol-Passw0rd!", OU: "OU=Paris", NeverExpires: true})
	dc.CreateGroup(t, "GG_Compta", "OU=Groupes", "Global")
	dc.CreateGroup(t, "DL_Compta_RW", "OU=Groupes", "DomainLocal")
	dc.AddMembers(t, "GG_Compta", "alice")
	dc.AddMembers(t, "DL_Compta_RW", "GG_Compta")
	l.gpoGUID = dc.CreateGPO(t, "Fond d'écran Paris")
	dc.LinkGPO(t, dc.DN("OU=Paris"), l.gpoGUID)
	t.Logf("fixtures made in %s", time.Since(begin).Round(10*time.Millisecond))
	m := &secret.Masker{}
	m.Add(dc.AdminPassword, alicePassword)
	l.target = probe.Target{
		Session: "s1", Candidate: "c1", Machine: "dc1", Address: dc.IP, Masker: m,
		Credentials: map[string]probe.Credentials{
			"ldap":  {User: "Administrator", Domain: dc.Realm, Password: secret.New(dc.AdminPassword)},
			"alice": {User: "alice@" + dc.Realm, Password: secret.New(alicePassword)},
			"carol": {User: "carol", Domain: dc.Realm, Password: secret.New("Carol-Passw0rd!")},
		},
	}
	return l
}

func run(t *testing.T, p *ldap.LDAP, tg probe.Target, params ...*ldap.Params) ([]probe.Observation, error) {
	t.Helper()
	reqs := make([]probe.Request, len(params))
	for i, pp := range params {
		reqs[i] = probe.Request{ID: "c" + string(rune('a'+i)), Params: pp, Timeout: 10 * time.Second}
	}
	obs, err := p.Run(context.Background(), tg, reqs)
	if len(obs) != len(reqs) {
		t.Fatalf("%d observations for %d requests", len(obs), len(reqs))
	}
	for _, o := range obs {
		for _, pw := range []string{tg.Creds("ldap").Password.Reveal(), alicePassword} {
			if pw != "" && strings.Contains(o.Evidence, pw) {
				t.Fatalf("evidence of %s shows a password:\n%s", o.ID, o.Evidence)
			}
		}
		if o.Err != nil && strings.Contains(o.Err.Error(), tg.Creds("ldap").Password.Reveal()) {
			t.Fatalf("error shows the password: %v", o.Err)
		}
	}
	return obs, err
}

func TestLDAPAgainstSambaDC(t *testing.T) {
	l := setup(t)
	p := ldap.New()
	insecure := func(pp ldap.Params) *ldap.Params { pp.InsecureSkipVerify = true; return &pp }

	t.Run("pass", func(t *testing.T) {
		obs, err := run(t, p, l.target,
			insecure(ldap.Params{Base: "OU=Paris", Scope: "one", Filter: "(objectClass=user)", Attributes: []string{"sAMAccountName", "objectGUID", "objectSid"}}),
			insecure(ldap.Params{Filter: "(&(objectClass=user)(sAMAccountName=alice))", MemberOfNested: "CN=DL_Compta_RW,OU=Groupes", Attributes: []string{"userPrincipalName"}}),
			insecure(ldap.Params{Base: "OU=Paris", Scope: "base", GPOLinks: true}),
			insecure(ldap.Params{Filter: "(sAMAccountName=alice)", AccountFlags: true}),
			insecure(ldap.Params{Filter: "(sAMAccountName=bob)", AccountFlags: true}),
			insecure(ldap.Params{Filter: "(sAMAccountName=carol)", AccountFlags: true}),
			insecure(ldap.Params{Filter: "(objectClass=user)", CreatedAfter: l.start.Format(time.RFC3339)}),
		)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range obs {
			if o.Err != nil {
				t.Fatalf("%s: %v\n%s", o.ID, o.Err, o.Evidence)
			}
		}
		v := obs[0].Values
		if v["count"] != 3 || v["base"] != "OU=Paris,"+l.dc.BaseDN {
			t.Errorf("OU=Paris users: %v\n%s", v, obs[0].Evidence)
		}
		e0 := v["entries"].([]any)[0].(map[string]any)
		if sid := e0["objectSid"].([]any)[0].(string); !strings.HasPrefix(sid, "S-1-5-21-") {
			t.Errorf("objectSid %q", sid)
		}
		if g := e0["objectGUID"].([]any)[0].(string); len(g) != 36 {
			t.Errorf("objectGUID %q", g)
		}
		if v := obs[1].Values; v["count"] != 1 || !reflect.DeepEqual(v["dns"], []any{"CN=alice,OU=Paris," + l.dc.BaseDN}) {
			t.Errorf("nested membership: %v", v)
		}
		if v := obs[2].Values; !reflect.DeepEqual(v["linked_gpos"], []any{"Fond d'écran Paris"}) || !reflect.DeepEqual(v["linked_gpo_guids"], []any{l.gpoGUID}) {
			t.Errorf("gpo links: %v\n%s", v, obs[2].Evidence)
		}
		want := []map[string]any{
			{"disabled": false, "must_change_password": true, "password_never_expires": false, "locked": false},
			{"disabled": true, "must_change_password": false, "password_never_expires": false, "locked": false},
			{"disabled": false, "must_change_password": false, "password_never_expires": true, "locked": false},
		}
		for i, w := range want {
			for k, x := range w {
				if got := obs[3+i].Values[k]; got != x {
					t.Errorf("%s %s = %v, want %v\n%s", obs[3+i].ID, k, got, x, obs[3+i].Evidence)
				}
			}
		}
		v = obs[6].Values
		before := v["created_before"].([]any)
		if v["created_after_count"] != 3 || v["all_created_after"] != false || !containsDN(before, "CN=Administrator,CN=Users,"+l.dc.BaseDN) {
			t.Errorf("created_after: count %v, before %v", v["created_after_count"], before)
		}
		t.Logf("evidence:\n%s", obs[2].Evidence)
	})

	t.Run("fail", func(t *testing.T) {
		// What an untouched lab shows: the values a matcher turns into a fail.
		obs, err := run(t, p, l.target,
			insecure(ldap.Params{Base: "OU=Lyon", Filter: "(objectClass=user)"}),
			insecure(ldap.Params{Filter: "(sAMAccountName=carol)", MemberOfNested: "CN=DL_Compta_RW,OU=Groupes"}),
			insecure(ldap.Params{Base: "OU=Groupes", Scope: "base", GPOLinks: true}),
		)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range obs {
			if o.Err != nil {
				t.Fatalf("%s: %v", o.ID, o.Err)
			}
		}
		if v := obs[0].Values; v["base_exists"] != false || v["count"] != 0 {
			t.Errorf("missing OU: %v", v)
		}
		if v := obs[1].Values; v["count"] != 0 {
			t.Errorf("carol is no member: %v", v)
		}
		if v := obs[2].Values; len(v["linked_gpos"].([]any)) != 0 {
			t.Errorf("no GPO on OU=Groupes: %v", v)
		}
	})

	t.Run("disabled link", func(t *testing.T) {
		// A GPO linked but disabled (gPLink ;1) applies to no one: the check of
		// ccp2-ad (linked_gpos: {contains: NAME}) must fail; enabled, it passes.
		l.dc.CreateOU(t, "OU=Lyon")
		ou := l.dc.DN("OU=Lyon")
		guid := l.dc.CreateGPO(t, "Proxy Lyon")
		check := compile(t, `{contains: "Proxy Lyon"}`)
		byFields := compile(t, `{count: {where: {all: [{field: name, equals: "Proxy Lyon"}, {field: enabled, equals: true}]}}}`)
		observe := func() map[string]any {
			t.Helper()
			obs, err := run(t, p, l.target, insecure(ldap.Params{Base: "OU=Lyon", Scope: "base", GPOLinks: true}))
			if err != nil || obs[0].Err != nil {
				t.Fatalf("%v %v", err, obs[0].Err)
			}
			return obs[0].Values
		}

		l.dc.Tool(t, "gpo", "setlink", ou, guid, "--disable")
		v := observe()
		if r := check.Match(v["linked_gpos"]); r.OK {
			t.Errorf("disabled link credited: linked_gpos %v", v["linked_gpos"])
		}
		if r := byFields.Match(v["gpo_links"]); r.OK {
			t.Errorf("disabled link selected by its fields: %v", v["gpo_links"])
		}
		if !reflect.DeepEqual(v["linked_gpos_disabled"], []any{"Proxy Lyon"}) || len(v["linked_gpo_guids"].([]any)) != 0 {
			t.Errorf("disabled link: %v", v)
		}

		l.dc.Tool(t, "gpo", "dellink", ou, guid) // setlink refuses an existing link
		l.dc.Tool(t, "gpo", "setlink", ou, guid, "--enforce")
		v = observe()
		if r := check.Match(v["linked_gpos"]); !r.OK {
			t.Errorf("enabled link not credited: %+v (values %v)", r, v)
		}
		if r := byFields.Match(v["gpo_links"]); !r.OK {
			t.Errorf("enabled link not selected by its fields: %+v", r)
		}
		if !reflect.DeepEqual(v["linked_gpos_enforced"], []any{"Proxy Lyon"}) || len(v["linked_gpos_disabled"].([]any)) != 0 {
			t.Errorf("enforced link: %v", v)
		}
	})

	t.Run("settings disabled", func(t *testing.T) {
		// A GPO linked and enabled whose settings are all disabled (flags=3,
		// "All settings disabled") applies nothing: not linked either. With
		// only the user (1) or computer (2) part off it still applies.
		l.dc.CreateOU(t, "OU=Nantes")
		ou := l.dc.DN("OU=Nantes")
		guid := l.dc.CreateGPO(t, "Proxy Nantes")
		l.dc.LinkGPO(t, ou, guid)
		check := compile(t, `{contains: "Proxy Nantes"}`)
		applies := compile(t, `{count: {where: {all: [{field: name, equals: "Proxy Nantes"}, {field: applies, equals: true}]}}}`)
		for _, tc := range []struct {
			flags    string
			credited bool
		}{{"3", false}, {"1", true}, {"2", true}, {"0", true}} {
			modify(t, l.dc, "CN="+guid+",CN=Policies,CN=System,"+l.dc.BaseDN, "flags", tc.flags)
			obs, err := run(t, p, l.target, insecure(ldap.Params{Base: "OU=Nantes", Scope: "base", GPOLinks: true}))
			if err != nil || obs[0].Err != nil {
				t.Fatalf("%v %v", err, obs[0].Err)
			}
			v := obs[0].Values
			if r := check.Match(v["linked_gpos"]); r.OK != tc.credited {
				t.Errorf("flags=%s: linked_gpos %v credited %v, want %v", tc.flags, v["linked_gpos"], r.OK, tc.credited)
			}
			if r := applies.Match(v["gpo_links"]); r.OK != tc.credited {
				t.Errorf("flags=%s: gpo_links %v: applies selected %v, want %v", tc.flags, v["gpo_links"], r.OK, tc.credited)
			}
			if off := reflect.DeepEqual(v["linked_gpos_settings_disabled"], []any{"Proxy Nantes"}); off == tc.credited {
				t.Errorf("flags=%s: linked_gpos_settings_disabled %v", tc.flags, v["linked_gpos_settings_disabled"])
			}
		}
	})

	t.Run("tls modes", func(t *testing.T) {
		for _, pp := range []*ldap.Params{
			{TLS: "starttls", CAFile: l.dc.CAFile(), ServerName: "DC1.lab.local", Scope: "base", Base: "OU=Paris"},
			{TLS: "ldaps", CAFile: l.dc.CAFile(), ServerName: "DC1.lab.local", Scope: "base", Base: "OU=Paris"},
			{TLS: "none", Scope: "base", Base: "OU=Paris"},
			{TLS: "ldaps", Credentials: "carol", InsecureSkipVerify: true, Scope: "base", Base: "OU=Paris"},
		} {
			obs, err := run(t, p, l.target, pp)
			if err != nil || obs[0].Values["count"] != 1 {
				t.Errorf("%s (%s): %v %v\n%s", pp.TLS, pp.Credentials, err, obs[0].Err, obs[0].Evidence)
			}
		}
		// alice must change her password: AD refuses her bind (data 773), an error.
		obs, err := run(t, p, l.target, &ldap.Params{Credentials: "alice", InsecureSkipVerify: true})
		if err == nil || !strings.Contains(obs[0].Err.Error(), "must change") {
			t.Errorf("alice bind: %v", err)
		}
		// Verification on, with no CA: the self-signed certificate is refused.
		obs, err = run(t, p, l.target, &ldap.Params{Scope: "base"})
		if err == nil || obs[0].Err == nil || !strings.Contains(obs[0].Err.Error(), "certificate") {
			t.Errorf("unverified certificate accepted: %v", err)
		}
	})

	t.Run("one connection per run", func(t *testing.T) {
		proxy, count := testenv.CountingProxy(t, l.dc.LDAPSAddr())
		host, port, _ := net.SplitHostPort(proxy)
		tg := l.target
		tg.Address = host
		tg.Ports = map[string]int{"ldaps": atoi(port)}
		var params []*ldap.Params
		for i := 0; i < 6; i++ {
			params = append(params, &ldap.Params{InsecureSkipVerify: true, ServerName: "dc1", Filter: "(objectClass=organizationalUnit)", GPOLinks: i%2 == 0, AccountFlags: i == 3})
		}
		obs, err := run(t, p, tg, params...)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range obs {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
		}
		if n := count.Load(); n != 1 {
			t.Errorf("%d connections for one Run, want 1", n)
		}
	})

	t.Run("error", func(t *testing.T) {
		wrong := l.target
		wrong.Credentials = map[string]probe.Credentials{"ldap": {User: "Administrator@" + l.dc.Realm, Password: secret.New("Not-The-Passw0rd")}}
		wrong.Masker = &secret.Masker{}
		wrong.Masker.Add("Not-The-Passw0rd")
		blackhole := testenv.SilentListener(t)
		bhHost, bhPort, _ := net.SplitHostPort(blackhole)
		cases := []struct {
			name   string
			target probe.Target
			params *ldap.Params
			want   string
		}{
			{"wrong password", wrong, &ldap.Params{InsecureSkipVerify: true}, "Invalid Credentials"},
			{"service down", l.target, &ldap.Params{InsecureSkipVerify: true, Port: 1}, "connection refused"},
			{"timeout", probe.Target{Address: bhHost, Masker: l.target.Masker}, &ldap.Params{InsecureSkipVerify: true, Port: atoi(bhPort)}, "deadline"},
			{"unknown credentials", l.target, &ldap.Params{InsecureSkipVerify: true, Credentials: "nobody"}, "no credentials named"},
			{"bad filter", l.target, &ldap.Params{InsecureSkipVerify: true, Filter: "(&(cn=x)"}, "search"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				reqs := []probe.Request{{ID: "a", Params: c.params, Timeout: time.Second}, {ID: "b", Params: c.params, Timeout: time.Second}}
				began := time.Now()
				obs, err := p.Run(context.Background(), c.target, reqs)
				if time.Since(began) > 5*time.Second {
					t.Errorf("took %s", time.Since(began))
				}
				for _, o := range obs {
					if o.Err == nil || !strings.Contains(o.Err.Error(), c.want) {
						t.Errorf("%s: err %v, want %q", o.ID, o.Err, c.want)
					}
					if strings.Contains(o.Evidence, "Not-The-Passw0rd") || (o.Err != nil && strings.Contains(o.Err.Error(), "Not-The-Passw0rd")) {
						t.Errorf("password leaked: %s", o.Evidence)
					}
				}
				if c.name != "bad filter" && err == nil {
					t.Errorf("Run returned no error for a batch that observed nothing")
				}
			})
		}
	})
}

func TestLDAPLockedAccount(t *testing.T) {
	l := setup(t)
	p := ldap.New()
	l.dc.Tool(t, "domain", "passwordsettings", "set", "--account-lockout-threshold=2")
	l.dc.CreateUser(t, sambadc.User{Name: "dave", Password: "Dave-Passw0rd!", OU: "OU=Paris"})
	bad := l.target
	bad.Credentials = map[string]probe.Credentials{"ldap": {User: "dave", Domain: l.dc.Realm, Password: secret.New("wrong-one")}}
	for i := 0; i < 3; i++ {
		if _, err := run(t, p, bad, &ldap.Params{InsecureSkipVerify: true}); err == nil {
			t.Fatal("bind with a wrong password succeeded")
		}
	}
	_, err := run(t, p, bad, &ldap.Params{InsecureSkipVerify: true})
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Logf("fourth bind: %v", err)
	}
	obs, err := run(t, p, l.target, &ldap.Params{InsecureSkipVerify: true, Filter: "(sAMAccountName=dave)", AccountFlags: true})
	if err != nil || obs[0].Values["locked"] != true {
		t.Fatalf("dave not locked: %v %v\n%s", err, obs[0].Values, obs[0].Evidence)
	}
	t.Logf("%s", obs[0].Evidence)
}

func containsDN(list []any, dn string) bool {
	for _, x := range list {
		if strings.EqualFold(x.(string), dn) {
			return true
		}
	}
	return false
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// compile compiles one expectation as a suite would.
func compile(t *testing.T, src string) match.Matcher {
	t.Helper()
	n, diags := yamlx.Parse("t.yaml", []byte(src))
	if diags != nil {
		t.Fatal(diags)
	}
	d := yamlx.NewDecoder("t.yaml")
	m := match.Compile(d, n, "expect")
	if d.Diags != nil {
		t.Fatal(d.Diags)
	}
	return m
}
