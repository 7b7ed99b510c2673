package report

import (
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/audit"
)

// TestInterventionDetailFrench: what the gateway and the jury write in the
// audit log reads as French in the record, times in the centre's zone.
func TestInterventionDetailFrench(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ action, detail, want string }{
		{"login", "ssh from 10.0.0.5: accepted", "SSH depuis 10.0.0.5 : acceptée"},
		{"login", "web from 10.0.0.5: refused: wrong login or password", "navigateur depuis 10.0.0.5 : refusée (identifiant ou mot de passe erroné)"},
		{"login", "ssh from 127.0.0.1: refused: too many failed logins (login c03)", "SSH depuis 127.0.0.1 : refusée (trop d'échecs pour cet identifiant (c03))"},
		{"login", "ssh from 127.0.0.1: refused: the exam is closed", "SSH depuis 127.0.0.1 : refusée (l'épreuve est close)"},
		{"session", "open at 2026-12-07T19:31:20Z", "ouverture de l'épreuve : 07/12/2026 20:31:20 CET"},
		{"session", "close at 2026-06-12T16:00:00Z", "fermeture de l'épreuve : 12/06/2026 18:00:00 CEST"},
		{"close", "exam closed: session warned, closed in 5m0s", "épreuve close : le candidat a été averti, session fermée après 5m0s"},
		{"exec", "command: systemctl restart dnsmasq", "commande : systemctl restart dnsmasq"},
		{"exec", "ended: exit status 3", "terminée, code de sortie 3"},
		{"ssh", "interactive shell", "terminal interactif"},
		{"ssh", "failed after 0.2s: ssh 10.250.1.10:22: handshake", "échec après 0,2 s : ssh 10.250.1.10:22: handshake"},
		{"terminal", "shell (ssh from 10.0.0.5)", "terminal interactif (SSH depuis 10.0.0.5)"},
		{"terminal", "exec sysctl -w net.ipv4.ip_forward=1 (ssh from 127.0.0.1)", "commande : sysctl -w net.ipv4.ip_forward=1 (SSH depuis 127.0.0.1)"},
		{"terminal", "subsystem sftp (ssh from 10.0.0.5)", "sous-système sftp (SSH depuis 10.0.0.5)"},
		{"terminal", "shell (web from 10.0.0.7)", "terminal interactif (navigateur depuis 10.0.0.7)"},
		{"terminal", "ended (status 0)", "terminé, code de sortie 0"},
		{"terminal", "refused: the exam is closed", "refusé : l'épreuve est close"},
		{"console", "opened (web from 10.0.0.7)", "console ouverte (navigateur depuis 10.0.0.7)"},
		{"console", "ended (status 0)", "terminé, code de sortie 0"},
		{"console", "closed", "console fermée"},
		{"console", "refused: the exam is not open (web from 10.0.0.7)", "refusé : l'épreuve n'est pas ouverte (navigateur depuis 10.0.0.7)"},
		{"terminal", "failed: pty refused by the machine (EOF)", "échec : terminal refusé par la machine (EOF)"},
		{"terminal", "failed: exec refused by the machine (EOF)", "échec : exec refusé par la machine (EOF)"},
		{"terminal", "refused: a command or subsystem without a machine", "refusé : une commande sans machine dans l'identifiant"},
		{"terminal", `refused: no machine "x" for candidate c01`, `refusé : aucune machine "x" pour le candidat c01`},
		{"terminal", "refused: machine pc has no terminal access (access: via console)", "refusé : machine pc : pas d'accès par terminal (accès : via console)"},
		{"terminal", "refused: machine srv has no management address (state error)", "refusé : machine srv : pas d'adresse de gestion (état error)"},
		{"terminal", "refused: machine srv: the connection keeps failing", "refusé : machine srv: la connexion échoue à chaque essai"},
		{"terminal", "refused: the container is not contained (its root is root on the host): the gateway opens no shell in it; bring the session up with --rootfs built (TAILAB_ROOTFS=built, scripts/build-rootfs.sh)", "refusé : le conteneur n'est pas confiné (son root est root sur l'hôte) : la passerelle n'y ouvre aucun terminal"},
		{"console", "refused: machine srv is a container: no graphics console", "refusé : machine srv est un conteneur : pas de console graphique"},
		{"console", "refused: console of win: no VNC port (is the VM running?)", "refusé : console de win: pas de port VNC (la VM est-elle démarrée ?)"},
		{"console", "refused: machine win of candidate c01 not found by the provider", "refusé : machine win du candidat c01 introuvable"},
		{"up", "2 to create, 1 to keep, 0 to replace, 0 to remove", "2 à créer, 1 à garder, 0 à remplacer, 0 à supprimer"},
		{"down", "[c01 c02]", "candidats c01, c02"},
		{"down", "[]", "tous les candidats"},
		{"snapshot", "create avant-panne", "création de l'instantané avant-panne"},
		{"revert", "to avant-panne", "instantané avant-panne"},
		{"faults", "dns-arrete, ssh-ferme", "dns-arrete, ssh-ferme"},
		{"forward", "to 10.0.0.10:80", "vers 10.0.0.10:80"},
		{"forward", "to 8.8.8.8:53 refused: not a declared port of the candidate's machines", "vers 8.8.8.8:53 : refusée (pas un port déclaré des machines du candidat)"},
		{"forward", "to 10.0.0.10:80: dial tcp 10.250.1.10:80: connect: connection refused", "vers 10.0.0.10:80 : la machine ne répond pas (dial tcp 10.250.1.10:80: connect: connection refused)"},
		{"login", "something new", "something new"}, // unknown text kept, never hidden
	} {
		// An entry recorded before the typed facts: its English line alone.
		old := checks.Intervention{Action: tc.action, Detail: tc.detail}
		if got := interventionDetail(old, paris); got != tc.want {
			t.Errorf("old record %s %q:\n got %q\nwant %q", tc.action, tc.detail, got, tc.want)
		}
		// The same entry as the producers write it now: the facts typed
		// (their English line is the old one: internal/audit's test).
		if f := audit.Legacy(tc.action, tc.detail); f != nil {
			if got := interventionDetail(checks.Intervention{Action: tc.action, Facts: f}, paris); got != tc.want {
				t.Errorf("typed %s %+v:\n got %q\nwant %q", tc.action, f, got, tc.want)
			}
		}
	}
}

// TestJuryNoteWithoutAuthor: a jury entry stored without an author (before
// SetJury filled it in) prints its time alone, never "(, date)".
func TestJuryNoteWithoutAuthor(t *testing.T) {
	at := time.Date(2026, 12, 7, 22, 6, 14, 0, time.UTC)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ author, want string }{
		{"", "Noté par le jury (07/12/2026 23:06:14 CET) : 1,5/2 — clair"},
		{"dupont", "Noté par le jury (dupont, 07/12/2026 23:06:14 CET) : 1,5/2 — clair"},
	} {
		res := checks.Result{MaxPoints: 2, JuryMark: &checks.JuryMark{Author: tc.author, At: at, Points: 1.5, Note: "clair"}}
		if got := juryNote(res, paris); got != tc.want {
			t.Errorf("author %q:\n got %q\nwant %q", tc.author, got, tc.want)
		}
		if got := JuryDecisionText(&checks.JuryDecision{Decision: "acquis", Author: tc.author, At: at}, paris); strings.Contains(got, "(,") {
			t.Errorf("decision by %q: %q", tc.author, got)
		}
	}
}
