package ldap_test

import (
	"crypto/tls"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

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
