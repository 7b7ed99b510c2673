package labs

import (
	"strings"
	"testing"
)

const namedCredsLab = `name: l
secrets:
  admin-pw: {env: ADMIN_PW}
  pd-pw: {generate: true}
networks: [{name: lan, cidr: 10.0.0.0/24}]
defaults:
  kind: container
  os: linux
  credentials:
    smb:
      admin: {user: Administrator, password: admin-pw, domain: LAB}
machines:
  - name: dc
    role: dc
    nics: [{network: lan}]
    credentials:
      ssh: {user: root, password: admin-pw}
      smb:
        pdurand: {user: pdurand, password: %s}
`

func TestNamedCredentials(t *testing.T) {
	l, err := Load("t.yaml", []byte(strings.Replace(namedCredsLab, "%s", "pd-pw", 1)))
	if err != nil {
		t.Fatal(err)
	}
	m := l.Machines[0]
	if ssh := m.Credentials["ssh"]; ssh.User != "root" || len(ssh.Identities) != 0 {
		t.Errorf("ssh = %+v, want one credential", ssh)
	}
	smb := m.Credentials["smb"]
	var names []string
	for _, id := range smb.Identities {
		names = append(names, id.Name+"="+id.User+"/"+id.Password+"/"+id.Domain)
	}
	// defaults and the machine merge; the first identity is the default.
	if got := strings.Join(names, " "); got != "admin=Administrator/admin-pw/LAB pdurand=pdurand/pd-pw/" {
		t.Errorf("identities = %s", got)
	}
	if smb.User != "Administrator" || smb.Password != "admin-pw" {
		t.Errorf("default smb = %+v, want the first identity", smb)
	}

	_, err = Load("t.yaml", []byte(strings.Replace(namedCredsLab, "%s", "pd-pwd", 1)))
	if err == nil || !strings.Contains(err.Error(), `t.yaml:19:44: machines[0].credentials.smb.pdurand.password: no secret named "pd-pwd" in`) {
		t.Errorf("err = %v", err)
	}
	bad := strings.Replace(strings.Replace(namedCredsLab, "%s", "pd-pw", 1), "pdurand: {", "p durand: {", 1)
	_, err = Load("t.yaml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), `t.yaml:19:9: machines[0].credentials.smb."p durand": "p durand" is not a valid identity name`) {
		t.Errorf("err = %v", err)
	}
}
