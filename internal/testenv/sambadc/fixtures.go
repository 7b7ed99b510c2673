package sambadc

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Tool runs samba-tool against the DC over LDAP as Administrator and returns its
// output; a failure fails the test.
func (dc *DC) Tool(t testing.TB, args ...string) string {
	t.Helper()
	out, err := dc.TryTool(args...)
	if err != nil {
		t.Fatalf("samba-tool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TryTool is Tool returning the error instead of failing the test.
func (dc *DC) TryTool(args ...string) (string, error) {
	full := append(append([]string{}, args...),
		"-s", dc.ConfFile(), "-H", "ldap://"+dc.IP,
		"-U", NetBIOSDomain+`\Administrator%`+AdminPassword)
	out, err := exec.Command("samba-tool", full...).CombinedOutput()
	return string(out), err
}

// DN returns rel (e.g. "OU=Paris") followed by the domain DN.
func (dc *DC) DN(rel string) string {
	if rel == "" {
		return dc.BaseDN
	}
	return rel + "," + dc.BaseDN
}

// CreateOU creates an organizational unit; rel is its DN without the domain part
// ("OU=Compta,OU=Paris"). It returns the full DN.
func (dc *DC) CreateOU(t testing.TB, rel string) string {
	t.Helper()
	dc.Tool(t, "ou", "create", rel)
	return dc.DN(rel)
}

// User describes a user to create.
type User struct {
	Name     string // sAMAccountName (also the CN)
	Password string
	// OU is the container DN without the domain part ("OU=Paris"); "" means CN=Users.
	OU                 string
	GivenName, Surname string
	MustChangePassword bool
	Disabled           bool
	NeverExpires       bool
}

// CreateUser creates a user and returns its DN.
func (dc *DC) CreateUser(t testing.TB, u User) string {
	t.Helper()
	args := []string{"user", "create", u.Name, u.Password, "--use-username-as-cn"}
	if u.OU != "" {
		args = append(args, "--userou="+u.OU)
	}
	if u.GivenName != "" {
		args = append(args, "--given-name="+u.GivenName)
	}
	if u.Surname != "" {
		args = append(args, "--surname="+u.Surname)
	}
	if u.MustChangePassword {
		args = append(args, "--must-change-at-next-login")
	}
	dc.Tool(t, args...)
	if u.Disabled {
		dc.Tool(t, "user", "disable", u.Name)
	}
	if u.NeverExpires {
		dc.Tool(t, "user", "setexpiry", u.Name, "--noexpiry")
	}
	container := "CN=Users"
	if u.OU != "" {
		container = u.OU
	}
	return dc.DN("CN=" + u.Name + "," + container)
}

// CreateGroup creates a global security group in ou ("" means CN=Users) and
// returns its DN. scope is "Global", "DomainLocal" or "Universal" ("" = Global).
func (dc *DC) CreateGroup(t testing.TB, name, ou, scope string) string {
	t.Helper()
	args := []string{"group", "add", name}
	if ou != "" {
		args = append(args, "--groupou="+ou)
	}
	if scope == "DomainLocal" {
		scope = "Domain" // samba-tool's name for it
	}
	if scope != "" {
		args = append(args, "--group-scope="+scope)
	}
	dc.Tool(t, args...)
	container := "CN=Users"
	if ou != "" {
		container = ou
	}
	return dc.DN("CN=" + name + "," + container)
}

// AddMembers adds users or groups (by sAMAccountName) to a group.
func (dc *DC) AddMembers(t testing.TB, group string, members ...string) {
	t.Helper()
	dc.Tool(t, "group", "addmembers", group, strings.Join(members, ","))
}

var gpoGUID = regexp.MustCompile(`\{[0-9A-Fa-f-]{36}\}`)

// CreateGPO creates an empty GPO and returns its GUID ("{...}", upper case).
func (dc *DC) CreateGPO(t testing.TB, displayName string) string {
	t.Helper()
	out := dc.Tool(t, "gpo", "create", displayName)
	g := gpoGUID.FindString(out)
	if g == "" {
		t.Fatalf("gpo create %q: no GUID in output:\n%s", displayName, out)
	}
	return strings.ToUpper(g)
}

// LinkGPO links a GPO (by GUID) to a container given by its full DN.
func (dc *DC) LinkGPO(t testing.TB, containerDN, guid string) {
	t.Helper()
	dc.Tool(t, "gpo", "setlink", containerDN, guid)
}

// ResetPassword sets a user's password.
func (dc *DC) ResetPassword(t testing.TB, user, password string) {
	t.Helper()
	dc.Tool(t, "user", "setpassword", user, "--newpassword="+password)
}

// SmbClient runs smbclient against a share of the DC as user (domain account)
// with the given commands (-c) and returns its output and error.
func (dc *DC) SmbClient(share, user, password, commands string) (string, error) {
	out, err := exec.Command("smbclient", "//"+dc.IP+"/"+share,
		"-U", NetBIOSDomain+`\`+user+"%"+password, "-c", commands).CombinedOutput()
	return string(out), err
}
