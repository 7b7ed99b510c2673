// Package e2e holds tailab's end-to-end tests: the dashboard (`tailab serve`)
// driven in headless Chromium, on a data dir populated the way `grade` does.
// Fixture builds that data: a session with three candidates and graded reports,
// stored through the same store code as the grader.
package e2e

import (
	"fmt"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
	"github.com/tailab/tailab/web"
)

// Session is the fixture's session name.
const Session = "2026-06-paris"

// T0 is when the fixture's first grading finished.
var T0 = time.Date(2026, 6, 12, 14, 3, 7, 0, time.UTC)

// EvidenceXSS is evidence holding markup: the dashboard must show it as text.
const EvidenceXSS = "Get-ADUser zmartin\n<script>document.title='pwned'</script> & <b>gras</b>\n\x1b[31mrouge\x1b[0m"

// Data is the fixture's data dir, opened: the session records and the
// stored gradings.
type Data struct {
	State   *provision.State
	Results *results.Store
}

// Config is the dashboard's configuration for the fixture session.
func (d *Data) Config() web.Config {
	return web.Config{State: d.State, Results: d.Results, Session: Session}
}

// Save stores a grading of the fixture session, as `grade` does.
func (d *Data) Save(rep *checks.Report) error {
	_, err := d.Results.Save(Session, rep)
	return err
}

// Populate creates the fixture session in dataDir and stores its first grading.
func Populate(dataDir string) (*Data, error) {
	st, err := provision.OpenState(dataDir)
	if err != nil {
		return nil, err
	}
	rs, err := results.Open(dataDir)
	if err != nil {
		return nil, err
	}
	d := &Data{State: st, Results: rs}
	sess := &provision.Session{
		Name: Session, Lab: "tpe-local", LabSource: "catalog:tpe-local", Provider: "libvirt",
		CreatedAt: T0.Add(-4 * time.Hour), StartedAt: T0.Add(-3 * time.Hour),
		Candidates: []labs.Candidate{
			{ID: "c01", LastName: "Dupont", FirstName: "Jean-Éric", Index: 1},
			{ID: "c02", LastName: "Lefèvre", FirstName: "Zoé", Index: 2},
			{ID: "c10", LastName: "Nguyễn", FirstName: "Thị Hương", Index: 3},
		},
	}
	if err := st.SaveSession(sess); err != nil {
		return nil, fmt.Errorf("save session: %w", err)
	}
	if err := d.Save(Grading(T0, false)); err != nil {
		return nil, err
	}
	return d, nil
}

// Grading is one grading of the fixture session finished at `at`. With fixed,
// c02 has repaired the DNS fault (fault.dns-client passes) and created the
// missing account (ad.users passes): a re-grade after the candidate's work.
func Grading(at time.Time, fixed bool) *checks.Report {
	ref := referential.MustLoad(referential.Default)
	start := at.Add(-3 * time.Minute)
	res := func(id, comp, title string, st checks.Status, pts, max float64, opts ...func(*checks.Result)) checks.Result {
		r := checks.Result{
			CheckID: id, Suite: "tpe", Title: title, Competence: comp, Status: st,
			MaxPoints: max, Machine: "dc1", Probe: "ldap", StartedAt: start, Duration: 150 * time.Millisecond, Attempts: 1,
		}
		if st == checks.StatusPass {
			r.Points = pts
		}
		for _, o := range opts {
			o(&r)
		}
		return r
	}
	on := func(m, p string) func(*checks.Result) { return func(r *checks.Result) { r.Machine, r.Probe = m, p } }
	msg := func(s string) func(*checks.Result) { return func(r *checks.Result) { r.Message = s } }
	ev := func(s string) func(*checks.Result) { return func(r *checks.Result) { r.Evidence = s } }
	crit := func(r *checks.Result) { r.Critical = true }
	exp := func(es ...checks.Expectation) func(*checks.Result) {
		return func(r *checks.Result) { r.Expectations = es }
	}
	jury := res("support.accueil", "C3.1", "Accueil et reformulation du besoin du client", checks.StatusJury, 0, 2, on("", ""))

	c02users := res("ad.users", "C2.2", "Les comptes des utilisateurs existent avec le bon UPN", checks.StatusFail, 4, 4, crit,
		msg("2 comptes sur 4 sont conformes"), ev(EvidenceXSS),
		exp(checks.Expectation{Field: "userPrincipalName[zmartin]", Actual: "", Expected: "zmartin@tpe.lan", Message: "compte absent"}))
	c02dns := res("fault.dns-client", "C3.4", "Panne « DNS erroné » réparée sur pc1", checks.StatusFail, 3, 3, on("pc1", "ssh"),
		msg("le poste interroge toujours 8.8.8.8"), ev("$ cat /etc/resolv.conf\nnameserver 8.8.8.8"),
		exp(checks.Expectation{Field: "nameserver", Actual: "8.8.8.8", Expected: "192.168.10.1"}))
	if fixed {
		c02users = res("ad.users", "C2.2", "Les comptes des utilisateurs existent avec le bon UPN", checks.StatusPass, 4, 4, crit,
			ev("Get-ADUser zmartin\nUserPrincipalName : zmartin@tpe.lan"),
			exp(checks.Expectation{Field: "userPrincipalName[zmartin]", OK: true, Actual: "zmartin@tpe.lan", Expected: "zmartin@tpe.lan"}))
		c02dns = res("fault.dns-client", "C3.4", "Panne « DNS erroné » réparée sur pc1", checks.StatusPass, 3, 3, on("pc1", "ssh"),
			ev("$ cat /etc/resolv.conf\nnameserver 192.168.10.1"),
			exp(checks.Expectation{Field: "nameserver", OK: true, Actual: "192.168.10.1", Expected: "192.168.10.1"}))
	}
	cands := []checks.CandidateReport{
		{ID: "c01", LastName: "Dupont", FirstName: "Jean-Éric", Results: []checks.Result{
			res("ad.ou-plan", "C2.2", "Les OU suivent le plan de nommage", checks.StatusPass, 3, 3, ev("OU=Comptabilité,DC=tpe,DC=lan")),
			res("ad.users", "C2.2", "Les comptes des utilisateurs existent avec le bon UPN", checks.StatusPass, 4, 4, crit),
			res("dhcp.scope", "C2.3", "L'étendue DHCP distribue 192.168.10.100-200", checks.StatusPass, 4, 4, on("srv1", "dhcp"),
				ev("DHCPOFFER 192.168.10.123 from 192.168.10.1")),
			res("fault.dns-client", "C3.4", "Panne « DNS erroné » réparée sur pc1", checks.StatusPass, 3, 3, on("pc1", "ssh")),
			jury,
		}},
		{ID: "c02", LastName: "Lefèvre", FirstName: "Zoé", Results: []checks.Result{
			res("ad.ou-plan", "C2.2", "Les OU suivent le plan de nommage", checks.StatusPass, 3, 3),
			c02users,
			res("dhcp.scope", "C2.3", "L'étendue DHCP distribue 192.168.10.100-200", checks.StatusFail, 4, 4, on("srv1", "dhcp"),
				msg("option 006 (DNS) incorrecte")),
			c02dns,
			jury,
		}},
		{ID: "c10", LastName: "Nguyễn", FirstName: "Thị Hương", Results: []checks.Result{
			res("ad.ou-plan", "C2.2", "Les OU suivent le plan de nommage", checks.StatusPass, 3, 3),
			res("ad.users", "C2.2", "Les comptes des utilisateurs existent avec le bon UPN", checks.StatusError, 4, 4, crit,
				msg("LDAP injoignable : délai dépassé (dc1:636)")),
			res("dhcp.scope", "C2.3", "L'étendue DHCP distribue 192.168.10.100-200", checks.StatusPass, 4, 4, on("srv1", "dhcp")),
			res("fault.dns-client", "C3.4", "Panne « DNS erroné » réparée sur pc1", checks.StatusFail, 3, 3, on("pc1", "ssh")),
			jury,
		}},
	}
	for i := range cands {
		checks.Score(ref, &cands[i])
	}
	return &checks.Report{
		SchemaVersion: checks.ReportSchemaVersion, Session: Session, Lab: "tpe-local",
		Referential: ref.Version, StartedAt: start, FinishedAt: at, Candidates: cands,
	}
}
