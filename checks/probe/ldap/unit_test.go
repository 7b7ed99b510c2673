package ldap

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/yamlx"
)

func TestParseGPLink(t *testing.T) {
	got := parseGPLink("[LDAP://cn={31B2F340-016D-11D2-945F-00C04FB984F9},cn=policies,cn=system,DC=lab,DC=local;0]" +
		"[LDAP://CN={6ac1786c-016f-11d2-945f-00c04fb984f9},CN=Policies,CN=System,DC=lab,DC=local;3]")
	want := []GPOLink{
		{DN: "cn={31B2F340-016D-11D2-945F-00C04FB984F9},cn=policies,cn=system,DC=lab,DC=local", GUID: "{31B2F340-016D-11D2-945F-00C04FB984F9}"},
		{DN: "CN={6ac1786c-016f-11d2-945f-00c04fb984f9},CN=Policies,CN=System,DC=lab,DC=local", GUID: "{6AC1786C-016F-11D2-945F-00C04FB984F9}", Disabled: true, Enforced: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
	if parseGPLink("") != nil || parseGPLink(" ") != nil {
		t.Error("empty gPLink gave links")
	}
}

func TestBinaryAttributes(t *testing.T) {
	sid := []byte{1, 4, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0xf4, 1, 0, 0}
	if got := attrValue("objectSid", sid); got != "S-1-5-21-1-2-500" {
		t.Errorf("sid %s", got)
	}
	guid := []byte{0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	if got := attrValue("objectGUID", guid); got != "00112233-4455-6677-8899-aabbccddeeff" {
		t.Errorf("guid %s", got)
	}
	if got := attrValue("thumbnailPhoto", []byte{0xff, 0xfe}); got != "base64://4=" {
		t.Errorf("binary %s", got)
	}
}

func TestAccountFlags(t *testing.T) {
	attrs := map[string]string{"userAccountControl": "66050", "pwdLastSet": "0", "lockoutTime": "133000000000000000"}
	f := accountFlags(func(a string) string { return attrs[a] })
	if f["disabled"] != true || f["password_never_expires"] != true || f["must_change_password"] != true || f["locked"] != true {
		t.Errorf("flags %v", f)
	}
	if !reflect.DeepEqual(f["uac_flags"], []any{"ACCOUNTDISABLE", "NORMAL_ACCOUNT", "DONT_EXPIRE_PASSWORD"}) {
		t.Errorf("uac_flags %v", f["uac_flags"])
	}
}

func TestBindReason(t *testing.T) {
	err := errors.New(`LDAP Result Code 49 "Invalid Credentials": 80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1`)
	if got := bindReason(err); got != " (account locked out)" {
		t.Errorf("got %q", got)
	}
}

func TestValidate(t *testing.T) {
	src := `tls: ldapz
scope: subb
filter: "(&(cn=x)"
created_after: yesterday
size_limit: -1
insecure_skip_verify: true
ca_file: /x
`
	node, diags := yamlx.Parse("suite.yaml", []byte(src))
	if diags != nil {
		t.Fatal(diags)
	}
	d := yamlx.NewDecoder("suite.yaml")
	var p Params
	d.Decode(node, &p, "probe")
	p.Validate(d, d.PosOf(node), "probe")
	got := d.Diags.Err().Error()
	for _, want := range []string{
		`suite.yaml:1:6: probe.tls: unknown TLS mode "ldapz" (did you mean "ldaps"?)`,
		`suite.yaml:2:8: probe.scope: unknown scope "subb"`,
		`suite.yaml:3:9: probe.filter: invalid LDAP filter`,
		`suite.yaml:4:16: probe.created_after: expected a time`,
		`suite.yaml:5:13: probe.size_limit`,
		`suite.yaml:7:10: probe.ca_file: ca_file and insecure_skip_verify exclude each other`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	ok := Params{Base: "OU=Paris", Filter: "objectClass=user", CreatedAfter: "{{ .Session.Start }}"}
	d2 := yamlx.NewDecoder("x")
	ok.Validate(d2, yamlx.Pos{}, "probe")
	if len(d2.Diags) != 0 {
		t.Errorf("valid params rejected: %v", d2.Diags)
	}
}
