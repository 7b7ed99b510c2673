package bench

import (
	"fmt"
	"strings"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/referential"
)

// The workload: per candidate, 50 checks on each of four machines.
//
//	dc   Samba AD DC   20 ldap (LDAPS, one bind) + 15 dns + 15 tcp
//	srv  OpenSSH       35 ssh + 15 tcp
//	pc   WinRM         50 winrm (one shell, one command)
//	net  dnsmasq       30 dns + 20 tcp
//
// Every check passes on the lab startLab builds; several use the candidate's
// parameters through templates, as real suites do.
const checksPerMachine = 50

// benchCheck is one check of the generated suite, as YAML flow mappings.
type benchCheck struct {
	id, machine, competence string
	probe, expect           string
}

func (c benchCheck) yaml() string {
	return fmt.Sprintf("  - id: %s\n    title: \"Contrôle %s\"\n    competence: %s\n    machine: %s\n    probe: %s\n    expect: %s\n",
		c.id, c.id, c.competence, c.machine, c.probe, c.expect)
}

// cycle returns n checks taking their probe and expectation from items in turn,
// with ids prefix-01, prefix-02, ...
func cycle(n int, prefix, machine, competence string, items [][2]string) []benchCheck {
	out := make([]benchCheck, n)
	for i := range out {
		it := items[i%len(items)]
		out[i] = benchCheck{id: fmt.Sprintf("%s-%02d", prefix, i+1), machine: machine, competence: competence,
			probe: it[0], expect: it[1]}
	}
	return out
}

const ldapConn = `type: ldap, insecure_skip_verify: true`

var ldapItems = [][2]string{
	{`{` + ldapConn + `, base: "", scope: base}`, `{base_exists: true}`},
	{`{` + ldapConn + `, base: "CN=Users", scope: base}`, `{base_exists: true}`},
	{`{` + ldapConn + `, filter: "(sAMAccountName=Administrator)", attributes: [sAMAccountName]}`, `{count: 1}`},
	{`{` + ldapConn + `, filter: "(sAMAccountName=Administrator)", account_flags: true}`, `{enabled: true}`},
	{`{` + ldapConn + `, filter: "(sAMAccountName=Guest)", account_flags: true}`, `{disabled: true}`},
	{`{` + ldapConn + `, filter: "(sAMAccountName=krbtgt)", account_flags: true}`, `{disabled: true}`},
	{`{` + ldapConn + `, base: "OU=Domain Controllers", scope: one, filter: "(objectClass=computer)"}`, `{count: 1}`},
	{`{` + ldapConn + `, filter: "(&(objectClass=computer)(cn=DC1))", attributes: [dNSHostName]}`, `{count: 1, "entries[0].dn": {has_prefix: "CN=DC1,"}}`},
	{`{` + ldapConn + `, filter: "(objectClass=user)", member_of_nested: "CN=Domain Admins,CN=Users"}`, `{count: {gte: 1}}`},
	{`{` + ldapConn + `, base: "CN=Builtin", scope: one, filter: "(objectClass=group)"}`, `{count: {gte: 10}}`},
	{`{` + ldapConn + `, base: "OU={{ .Params.agence }}", scope: base}`, `{base_exists: true}`},
	{`{` + ldapConn + `, base: "OU=Comptabilite,OU={{ .Params.agence }}", scope: base}`, `{base_exists: true}`},
	{`{` + ldapConn + `, base: "OU={{ .Params.agence }}", filter: "(&(objectClass=group)(cn=GG_Compta_{{ .Candidate.ID }}))", attributes: [sAMAccountName]}`, `{count: 1, dns: {each: {has_suffix: "OU={{ .Params.agence }},DC=lab,DC=local"}}}`},
	{`{` + ldapConn + `, base: "OU={{ .Params.agence }}", scope: one, filter: "(objectClass=organizationalUnit)"}`, `{count: 1}`},
	{`{` + ldapConn + `, base: "OU=Inexistante", scope: base}`, `{base_exists: false}`},
	{`{` + ldapConn + `, filter: "(cn=Schema Admins)"}`, `{count: 1}`},
	{`{` + ldapConn + `, base: "CN=Users", filter: "(objectClass=user)"}`, `{count: {gte: 2}}`},
	{`{` + ldapConn + `, base: "OU={{ .Params.agence }}", scope: base, created_after: "{{ .Session.StartedAt }}"}`, `{all_created_after: true}`},
	{`{` + ldapConn + `, base: "CN=Computers", scope: base}`, `{base_exists: true}`},
	{`{` + ldapConn + `, filter: "(sAMAccountName=Administrator)", member_of_nested: "CN=Enterprise Admins,CN=Users"}`, `{count: 1}`},
}

var dnsItems = [][2]string{
	{`{dns: {name: dc1.lab.local, type: A}}`, `{rcode: NOERROR, answers: ["{{ .Machines.dc.Address }}"]}`},
	{`{dns: {name: _ldap._tcp.lab.local, type: SRV}}`, `{answers: {contains: "0 100 389 dc1.lab.local"}}`},
	{`{dns: {name: _kerberos._tcp.lab.local, type: SRV}}`, `{count: 1}`},
	{`{dns: {name: lab.local, type: MX}}`, `{answers: ["10 mail.lab.local"]}`},
	{`{dns: {name: lab.local, type: TXT}}`, `{answers: {contains: "v=spf1 mx -all"}}`},
	{`{dns: {name: intranet.lab.local, type: CNAME}}`, `{answers: ["web.lab.local"]}`},
	{`{dns: {name: "intranet-{{ .Candidate.ID }}.lab.local", type: A}}`, `{rcode: NOERROR, answers: {contains: "{{ .Params.intranet_ip }}"}}`},
	{`{dns: {name: absent.lab.local, type: A}}`, `{rcode: NXDOMAIN}`},
	{`{dns: {name: 10.10.0.10, type: PTR}}`, `{answers: ["dc1.lab.local"]}`},
	{`{dns: {name: mail.lab.local, type: A, proto: tcp}}`, `{answers: ["10.10.0.25"]}`},
}

// dnsHosts are queries of the pcNN records, so the 15 and 30 checks differ.
func dnsHosts(n int) [][2]string {
	out := append([][2]string{}, dnsItems...)
	for i := 1; len(out) < n; i++ {
		out = append(out, [2]string{fmt.Sprintf(`{dns: {name: pc%02d.lab.local, type: A}}`, i),
			fmt.Sprintf(`{rcode: NOERROR, count: 1, answers: ["10.10.1.%d"]}`, i)})
	}
	return out
}

func tcpOpen(port string) [2]string {
	return [2]string{`{type: tcp, port: ` + port + `}`, `{open: true, state: open}`}
}

func tcpClosed(port int) [2]string {
	return [2]string{fmt.Sprintf(`{type: tcp, port: %d}`, port), `{open: false, state: closed}`}
}

// tcpItems mixes open ports and ports that must be closed (refused).
func tcpItems(n int, open ...string) [][2]string {
	var out [][2]string
	for _, p := range open {
		out = append(out, tcpOpen(p))
	}
	for _, p := range []int{21, 23, 25, 80, 110, 143, 161, 443, 1433, 3306, 3389, 5432, 5900, 8080, 8443, 9100, 20, 69, 119, 873} {
		if len(out) >= n {
			break
		}
		out = append(out, tcpClosed(p))
	}
	return out
}

var sshItems = [][2]string{
	{`{type: ssh, command: "echo ok"}`, `{stdout: ok, exit_code: 0}`},
	{`{type: ssh, command: "uname -s"}`, `{stdout: Linux}`},
	{`{type: ssh, command: "test -f /etc/passwd"}`, `{exit_code: 0}`},
	{`{type: ssh, command: "test -e /nonexistent/tailab"}`, `{exit_code: 1}`},
	{`{type: ssh, command: "id -u"}`, `{stdout: "0"}`},
	{`{type: ssh, command: "printf 'a\\nb\\nc\\n'"}`, `{lines: {len: 3}}`},
	{`{type: ssh, command: "exit 3"}`, `{exit_code: 3}`},
	{`{type: ssh, command: "echo {{ shquote .Params.agence }}"}`, `{stdout: "{{ .Params.agence }}"}`},
	{`{type: ssh, command: "grep -c '^root:' /etc/passwd"}`, `{stdout: {gte: 1}}`},
	{`{type: ssh, command: "ls /etc"}`, `{lines: {contains: passwd}}`},
	{`{type: ssh, command: "echo erreur >&2"}`, `{stderr: erreur, stdout: ""}`},
	{`{type: ssh, command: "cat", stdin: "bonjour"}`, `{stdout: bonjour}`},
	{`{type: ssh, command: "test -d /tmp && echo oui"}`, `{stdout: oui}`},
	{`{type: ssh, command: "echo $((6*7))"}`, `{stdout: "42"}`},
}

// winrmItem is a check of the pc machine and the recorded Windows PowerShell 5.1
// output (ConvertTo-Json -Compress) the fake machine answers it with.
type winrmItem struct{ script, expect, value string }

var winrmItems = []winrmItem{
	{"Get-CimInstance Win32_OperatingSystem | Select-Object Caption,Version,BuildNumber,OSLanguage,InstallDate",
		`{Caption: {matches: "^Microsoft Windows 11 (Pro|Professionnel|Entreprise)"}, BuildNumber: {version_gte: "22631"}}`,
		`{"Caption":"Microsoft Windows 11 Professionnel","Version":"10.0.22631","BuildNumber":"22631","OSLanguage":1036,"InstallDate":"\/Date(1714638600000)\/"}`},
	{"Get-LocalGroupMember -SID S-1-5-32-544 | ForEach-Object { $_.Name }",
		`{value: {not: {contains: "LAB\\{{ .Candidate.ID }}"}}}`,
		`["PC-CANDIDAT01\\Administrateur","LAB\\Admins du domaine"]`},
	{"(Get-MpComputerStatus).RealTimeProtectionEnabled", `{value: true}`, `true`},
	{"Get-NetFirewallProfile | Select-Object Name,Enabled",
		`{value: {len: 3}, "value[0].Enabled": 1, "value[-1].Enabled": 1}`,
		`[{"Name":"Domain","Enabled":1},{"Name":"Private","Enabled":1},{"Name":"Public","Enabled":1}]`},
	{"Get-Service -Name wuauserv | Select-Object Name,Status,StartType",
		`{Status: 4, StartType: {one_of: [2, 3]}}`, `{"Name":"wuauserv","Status":4,"StartType":3}`},
	{"(Get-CimInstance Win32_ComputerSystem).PartOfDomain", `{value: true}`, `true`},
	{"(Get-CimInstance Win32_ComputerSystem).Domain", `{value: {equals: lab.local}}`, `"lab.local"`},
	{"Get-LocalUser -Name Invite | Select-Object Name,Enabled", `{Enabled: false}`, `{"Name":"Invite","Enabled":false}`},
	{"Get-DnsClientServerAddress -AddressFamily IPv4 -InterfaceAlias Ethernet | ForEach-Object { $_.ServerAddresses }",
		`{value: {contains: "{{ .Machines.dc.Address }}"}}`, ``},
	{"Get-HotFix | Measure-Object | Select-Object -ExpandProperty Count", `{value: {gte: 3}}`, `7`},
	{"Test-Path 'C:\\Partages\\Compta'", `{value: true, ok: true}`, `true`},
	{"Get-SmbShare -Name Compta | Select-Object Name,Path", `{Path: "C:\\Partages\\Compta"}`, `{"Name":"Compta","Path":"C:\\Partages\\Compta"}`},
	{"Get-Printer | Select-Object -ExpandProperty Name", `{value: {contains: "Imprimante-Accueil"}}`, `["Microsoft Print to PDF","Imprimante-Accueil"]`},
}

// winrmChecks are the pc machine's checks with the answer the fake machine
// gives each check id.
func winrmChecks(dcIP string) ([]benchCheck, map[string]string) {
	out := make([]benchCheck, checksPerMachine)
	answers := map[string]string{}
	for i := range out {
		it := winrmItems[i%len(winrmItems)]
		id := fmt.Sprintf("pc-%02d", i+1)
		out[i] = benchCheck{id: id, machine: "pc", competence: "C1.3",
			probe: fmt.Sprintf(`{type: winrm, script: %q}`, it.script), expect: it.expect}
		value := it.value
		if value == "" {
			value = `["` + dcIP + `","1.1.1.1"]`
		}
		answers[id] = `{"ok":true,"value":` + value + `}`
	}
	return out, answers
}

// probeOf is the check's probe type (its id's middle word; winrm for pc).
func (c benchCheck) probeOf() string {
	if strings.HasPrefix(c.id, "pc-") {
		return "winrm"
	}
	return strings.Split(c.id, "-")[1]
}

// workload returns one candidate's 200 checks, in suite order.
func workload(dcIP string) []benchCheck {
	var all []benchCheck
	all = append(all, cycle(20, "dc-ldap", "dc", "C2.2", ldapItems)...)
	all = append(all, cycle(15, "dc-dns", "dc", "C2.3", dnsHosts(15))...)
	all = append(all, cycle(15, "dc-tcp", "dc", "C2.1", tcpItems(15, "389", "636", "445", "88", `"{{ .Params.dns_port }}"`))...)
	all = append(all, cycle(35, "srv-ssh", "srv", "C2.3", sshItems)...)
	sshBanner := [2]string{`{type: tcp, port: "{{ .Params.ssh_port }}", banner: true}`, `{open: true, banner: {has_prefix: "SSH-2.0-OpenSSH"}}`}
	all = append(all, cycle(15, "srv-tcp", "srv", "C2.1", append([][2]string{sshBanner}, tcpItems(14, `"{{ .Params.ssh_port }}"`)...))...)
	pc, _ := winrmChecks(dcIP)
	all = append(all, pc...)
	all = append(all, cycle(30, "net-dns", "net", "C2.3", dnsHosts(30))...)
	all = append(all, cycle(20, "net-tcp", "net", "C2.1", tcpItems(20, `"{{ .Params.dns_port }}"`, `"{{ .Params.ssh_port }}"`, `"{{ .Params.winrm_port }}"`))...)
	return all
}

const suiteHeader = "name: %s\nreferential: tai-2018\ndescription: Banc de mesure du correcteur.\nchecks:\n"

// loadWorkload loads the whole workload as one suite and, when single is set,
// each check as a suite of its own (the baseline: one Probe.Run, so one
// connection, per check).
func loadWorkload(dcIP string, reg *probe.Registry, ref *referential.Referential, single bool) (*checks.Suite, []*checks.Suite, error) {
	cs := workload(dcIP)
	all, err := loadChecks("bench", cs, reg, ref)
	if err != nil {
		return nil, nil, err
	}
	if !single {
		return all, nil, nil
	}
	singles := make([]*checks.Suite, len(cs))
	for i, c := range cs {
		s, err := loadChecks("bench-"+c.id, []benchCheck{c}, reg, ref)
		if err != nil {
			return nil, nil, err
		}
		singles[i] = s
	}
	return all, singles, nil
}

// loadChecks loads checks as a suite named name.
func loadChecks(name string, cs []benchCheck, reg *probe.Registry, ref *referential.Referential) (*checks.Suite, error) {
	var b strings.Builder
	fmt.Fprintf(&b, suiteHeader, name)
	for _, c := range cs {
		b.WriteString(c.yaml())
	}
	s, err := checks.LoadSuite("testdata/"+name+".yaml", []byte(b.String()), reg, ref)
	if err != nil {
		return nil, fmt.Errorf("load suite %s: %w", name, err)
	}
	return s, nil
}

// loadProbeSuites loads, for each probe type of the workload, a suite of its
// checks alone (for the per-probe breakdown), plus "ssh-connect": one `true`
// per machine, which costs an SSH connection and an almost empty script.
func loadProbeSuites(dcIP string, reg *probe.Registry, ref *referential.Referential) (map[string]*checks.Suite, error) {
	by := map[string][]benchCheck{}
	for _, c := range workload(dcIP) {
		by[c.probeOf()] = append(by[c.probeOf()], c)
	}
	by["ssh-connect"] = []benchCheck{{id: "srv-connect", machine: "srv", competence: "C2.3",
		probe: `{type: ssh, command: "true"}`, expect: `{exit_code: 0}`}}
	out := map[string]*checks.Suite{}
	for p, cs := range by {
		s, err := loadChecks("bench-"+p, cs, reg, ref)
		if err != nil {
			return nil, err
		}
		out[p] = s
	}
	return out, nil
}
