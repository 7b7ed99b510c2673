package report

import (
	"time"

	"github.com/tailab/tailab/checks"
)

// The fixture is a realistic graded session: three candidates (given out of order),
// every status (n/a: a repair check of an incident the candidate did not draw),
// the incidents drawn for two of them, a capped competence, a jury-only competence, a competence missing
// for one candidate, French text with accents, evidence with HTML, CSV and terminal
// special characters, and a password already masked by the grader.

var fixtureStart = time.Date(2026, 6, 12, 14, 0, 0, 0, time.UTC)

// competenceTitles are the TP-00476 (2018) titles used by the fixture.
var competenceTitles = map[string][2]string{
	"C1.1": {"CCP1", "Installer un système ou déployer un master dans un poste client"},
	"C1.4": {"CCP1", "Contribuer à la sécurité d'un équipement numérique et ses données"},
	"C2.2": {"CCP2", "Intervenir sur un annuaire réseau de type Active Directory"},
	"C2.3": {"CCP2", "Installer et configurer un service réseau pour une TPE ou un particulier"},
	"C3.1": {"CCP3", "Apporter un support technique dans un contexte commercial"},
	"C3.4": {"CCP3", "Diagnostiquer et résoudre un dysfonctionnement numérique"},
}

var ccpTitles = map[string]string{
	"CCP1": "Mettre en service des équipements numériques",
	"CCP2": "Intervenir sur les éléments de l'infrastructure",
	"CCP3": "Assister ou dépanner les clients ou les utilisateurs",
}

// evidenceXSS is evidence holding markup, quotes, separators and a terminal escape.
const evidenceXSS = "PS C:\\> Get-ADUser -Filter 'Name -like \"*\"'\n" +
	"Name : <script>alert(\"pwn\")</script> & Cie; \"Martin, Zoé\"\n" +
	"\x1b[31mrouge\x1b[0m\tfin"

// check builds one result; opts tweak it.
func check(id, comp, title string, st checks.Status, pts, max float64, opts ...func(*checks.Result)) checks.Result {
	r := checks.Result{
		CheckID: id, Title: title, Competence: comp, Status: st,
		Points: pts, MaxPoints: max, Machine: "dc1", Probe: "ldap",
		StartedAt: fixtureStart.Add(90 * time.Second), Duration: 120 * time.Millisecond, Attempts: 1,
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func on(machine, probe string) func(*checks.Result) {
	return func(r *checks.Result) { r.Machine, r.Probe = machine, probe }
}
func msg(m string) func(*checks.Result)         { return func(r *checks.Result) { r.Message = m } }
func evidence(e string) func(*checks.Result)    { return func(r *checks.Result) { r.Evidence = e } }
func critical() func(*checks.Result)            { return func(r *checks.Result) { r.Critical = true } }
func took(d time.Duration) func(*checks.Result) { return func(r *checks.Result) { r.Duration = d } }
func attempts(n int) func(*checks.Result)       { return func(r *checks.Result) { r.Attempts = n } }
func expect(es ...checks.Expectation) func(*checks.Result) {
	return func(r *checks.Result) { r.Expectations = es }
}

// candidate scores results the simple way (sums per competence and CCP; a failed
// critical check caps the competence at 40 %), as the grader would.
func candidate(id, last, first string, jury map[string][]string, results ...checks.Result) checks.CandidateReport {
	c := checks.CandidateReport{ID: id, LastName: last, FirstName: first, Results: results}
	comps := map[string]*checks.CompetenceScore{}
	var order []string
	for _, r := range results {
		s, ok := comps[r.Competence]
		if !ok {
			t := competenceTitles[r.Competence]
			s = &checks.CompetenceScore{ID: r.Competence, CCP: t[0], Title: t[1]}
			comps[r.Competence] = s
			order = append(order, r.Competence)
		}
		s.Counts.Add(r.Status)
		c.Counts.Add(r.Status)
		if r.Status == checks.StatusNA {
			continue
		}
		s.Points += r.Points
		s.MaxPoints += r.MaxPoints
		if r.Critical && r.Status == checks.StatusFail {
			s.Capped = true
		}
	}
	ccps := map[string]*checks.CCPScore{}
	var ccpOrder []string
	// Reverse order on purpose: formatters must sort.
	for i := len(order) - 1; i >= 0; i-- {
		s := comps[order[i]]
		if s.MaxPoints > 0 {
			s.Percent = 100 * s.Points / s.MaxPoints
		}
		if s.Capped && s.Percent > 40 {
			s.Percent = 40
		}
		s.JuryItems = jury[s.ID]
		c.Competences = append(c.Competences, *s)
		p, ok := ccps[s.CCP]
		if !ok {
			p = &checks.CCPScore{ID: s.CCP, Title: ccpTitles[s.CCP]}
			ccps[s.CCP] = p
			ccpOrder = append(ccpOrder, s.CCP)
		}
		p.Points += s.Points
		p.MaxPoints += s.MaxPoints
		c.Points += s.Points
		c.MaxPoints += s.MaxPoints
	}
	for _, id := range ccpOrder {
		p := ccps[id]
		if p.MaxPoints > 0 {
			p.Percent = 100 * p.Points / p.MaxPoints
		}
		c.CCPs = append(c.CCPs, *p)
	}
	return c
}

// drew sets the incidents drawn for a candidate.
func drew(c checks.CandidateReport, faults ...checks.Fault) checks.CandidateReport {
	c.Faults = faults
	return c
}

var (
	faultDNS     = checks.Fault{Name: "dns-client-errone", Title: "Le poste pc1 interroge un serveur DNS inexistant"}
	faultGateway = checks.Fault{Name: "passerelle-erronee", Title: "Le poste pc2 a une passerelle par défaut erronée"}
)

// fixture returns a fresh copy of the fixture report.
// The report holds the candidates out of order; their roster numbers (Index)
// give the order every listing follows: cand-1, cand-2, cand-10.
func fixture() *checks.Report {
	r := fixtureUnnumbered()
	for i := range r.Candidates {
		r.Candidates[i].Index = map[string]int{"cand-1": 1, "cand-2": 2, "cand-10": 3}[r.Candidates[i].ID]
	}
	return r
}

func fixtureUnnumbered() *checks.Report {
	juryC31 := map[string][]string{"C3.1": {"Accueil du client et reformulation du besoin", "Devis clair et chiffré"}}
	return &checks.Report{
		SchemaVersion: checks.ReportSchemaVersion,
		Session:       "2026-06-paris-tai",
		Lab:           "tai-ad-tpe",
		Referential:   "tai-2018",
		StartedAt:     fixtureStart,
		FinishedAt:    fixtureStart.Add(3*time.Minute + 7*time.Second),
		Candidates: []checks.CandidateReport{
			candidate("cand-10", "Nguyễn", "Thị Hương", nil,
				check("ad.ou-plan", "C2.2", "Les OU suivent le plan de nommage", checks.StatusPass, 3, 3,
					evidence("OU=Comptabilité,DC=tpe,DC=lan\nOU=Direction,DC=tpe,DC=lan")),
				check("win.bitlocker", "C1.4", "BitLocker est actif sur C: et la clé est sauvegardée dans l'AD", checks.StatusError, 0, 4,
					on("pc1", "winrm"), msg("WinRM injoignable : délai dépassé après 3 essais (pc1:5986)"),
					attempts(3), took(31*time.Second+400*time.Millisecond)),
				check("win.defender", "C1.4", "Defender : protection en temps réel active", checks.StatusPass, 2, 2,
					on("pc1", "winrm")),
			),
			drew(candidate("cand-2", "Lefèvre", "Zoé", juryC31,
				check("ad.ou-plan", "C2.2", "Les OU suivent le plan de nommage", checks.StatusPass, 3, 3),
				check("ad.users", "C2.2", "Les comptes des utilisateurs existent avec le bon UPN", checks.StatusFail, 1.5, 4,
					critical(), msg("2 comptes sur 4 sont conformes"),
					expect(
						checks.Expectation{Field: "userPrincipalName[mdurand]", OK: true, Actual: "mdurand@tpe.lan", Expected: "mdurand@tpe.lan"},
						checks.Expectation{Field: "userPrincipalName[zmartin]", Actual: "", Expected: "zmartin@tpe.lan", Message: "compte absent"},
						checks.Expectation{Field: "pwdLastSet[jdupont]", Actual: "133650720000000000", Expected: "0", Message: "doit changer son mot de passe à la prochaine connexion"},
					),
					evidence(evidenceXSS)),
				check("ad.gpo-wallpaper", "C2.2", "La GPO « Fond d'écran » est liée à l'OU Comptabilité", checks.StatusSkip, 0, 3,
					msg("dépend de ad.users (échec)")),
				check("dhcp.scope", "C2.3", "L'étendue DHCP distribue 192.168.10.100-200, passerelle et DNS", checks.StatusPass, 4, 4,
					on("srv1", "dhcp"),
					expect(checks.Expectation{Field: "option 003 (routeur)", OK: true, Actual: "192.168.10.254", Expected: "192.168.10.254"}),
					evidence("DHCPOFFER 192.168.10.123 from 192.168.10.1\noptions: 1=255.255.255.0 3=192.168.10.254 6=192.168.10.1 15=tpe.lan")),
				check("smb.share-rights", "C2.3", "Le partage \\\\srv1\\Compta est accessible en écriture au groupe GG_Compta", checks.StatusPass, 3, 3,
					on("srv1", "smb"), evidence("smbclient //srv1/Compta -U tpe\\mdurand%****\nputting file test.txt as \\test.txt (0,1 kb/s)")),
				check("support.accueil", "C3.1", "Accueil et reformulation du besoin du client", checks.StatusJury, 0, 0,
					on("", ""), msg("à évaluer par le jury")),
				check("fault.dns-client", "C3.4", "Panne « DNS erroné » réparée sur pc1", checks.StatusFail, 0, 3,
					on("pc1", "winrm"), msg("\x1b[2J le poste interroge toujours 8.8.8.8"),
					expect(checks.Expectation{Field: "DNS du poste", Actual: "8.8.8.8", Expected: "192.168.10.1"})),
				check("fault.gateway", "C3.4", "Panne « passerelle » réparée sur pc2", checks.StatusNA, 0, 2,
					on("pc2", "ssh"), took(0), attempts(0),
					msg("sans objet : l'incident « passerelle-erronee » n'a pas été tiré pour ce candidat")),
				check("fault.ticket-cause", "C3.4", "Le ticket GLPI indique la cause de la panne", checks.StatusPass, 1, 1,
					on("glpi", "http"), took(2*time.Minute+5*time.Second)),
			), faultDNS),
			drew(candidate("cand-1", "Dupont", "Jean-Éric", juryC31,
				check("ad.ou-plan", "C2.2", "Les OU suivent le plan de nommage", checks.StatusPass, 3, 3),
				check("ad.users", "C2.2", "Les comptes des utilisateurs existent avec le bon UPN", checks.StatusPass, 4, 4, critical()),
				check("ad.gpo-wallpaper", "C2.2", "La GPO « Fond d'écran » est liée à l'OU Comptabilité", checks.StatusPass, 3, 3),
				check("dhcp.scope", "C2.3", "L'étendue DHCP distribue 192.168.10.100-200, passerelle et DNS", checks.StatusFail, 2, 4,
					on("srv1", "dhcp"), msg("option 006 (DNS) incorrecte"),
					expect(
						checks.Expectation{Field: "option 003 (routeur)", OK: true, Actual: "192.168.10.254", Expected: "192.168.10.254"},
						checks.Expectation{Field: "option 006 (DNS)", Actual: "8.8.8.8, 1.1.1.1", Expected: "192.168.10.1"},
					)),
				check("smb.share-rights", "C2.3", "Le partage \\\\srv1\\Compta est accessible en écriture au groupe GG_Compta", checks.StatusPass, 3, 3,
					on("srv1", "smb")),
				check("support.accueil", "C3.1", "Accueil et reformulation du besoin du client", checks.StatusJury, 0, 0, on("", "")),
				check("fault.dns-client", "C3.4", "Panne « DNS erroné » réparée sur pc1", checks.StatusPass, 3, 3, on("pc1", "winrm")),
				check("fault.gateway", "C3.4", "Panne « passerelle » réparée sur pc2", checks.StatusPass, 2, 2, on("pc2", "ssh")),
				check("fault.ticket-cause", "C3.4", "Le ticket GLPI indique la cause de la panne", checks.StatusPass, 1, 1, on("glpi", "http")),
				check("os.build", "C1.1", "Windows 11 Pro 24H2 (build 26100) est installé", checks.StatusPass, 2, 2, on("pc1", "winrm")),
				check("os.sysprep", "C1.1", "Le clone a un SID machine différent du master (sysprep)", checks.StatusPass, 2, 2, on("pc1", "winrm")),
			), faultDNS, faultGateway),
		},
	}
}

// fixtureSecrets are the clear-text credentials of the fixture's lab: the grader
// masked them, no formatter may bring them back.
var fixtureSecrets = []string{"Azerty-2026!", "P@ssw0rd-TPE", "tpe-admin-token-9f1c"}
