package labs_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tailab/tailab/labs"
)

// TestCCP3Helpdesk runs the service desk of ccp3-support-local (the
// `helpdesk` script of srv's files, the ticket its start.sh opens at first
// start) with the host's sh, under a temporary directory instead of /srv: the
// seeded ticket, every subcommand, and the French refusals of invalid values.
// `tailab verify ccp3-support-local` proves the same script in the containers
// with the suites' checks.
func TestCCP3Helpdesk(t *testing.T) {
	lab, err := labs.LoadBuiltin("ccp3-support-local")
	if err != nil {
		t.Fatal(err)
	}
	in, err := lab.Resolve(labs.ResolveInput{Session: "s1", Candidate: labs.Candidate{ID: "c03", Index: 3}})
	if err != nil {
		t.Fatal(err)
	}
	srv, ok := in.Machine("srv")
	if !ok {
		t.Fatal("no machine srv")
	}
	dir := t.TempDir()
	inDir := func(s string) string { return strings.ReplaceAll(s, "/srv/", dir+"/") }
	for _, f := range []string{"/srv/helpdesk/helpdesk", "/srv/www/cgi-bin/tickets"} {
		if _, ok := srv.Files[f]; !ok {
			t.Fatalf("srv has no file %s", f)
		}
		p := inDir(f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(inDir(srv.Files[f])), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The first-start block of start.sh: installation marker and ticket.
	seed := regexp.MustCompile(`(?s)\nif \[ ! -s /srv/\.tai-installation \]; then\n.*?\nfi\n`).FindString(srv.Files["/srv/start.sh"])
	if seed == "" {
		t.Fatal("start.sh: no first-start block")
	}
	for i := 0; i < 2; i++ { // a second start keeps the ticket
		if out, err := exec.Command("sh", "-c", inDir(seed)).CombinedOutput(); err != nil {
			t.Fatalf("seed: %v\n%s", err, out)
		}
	}
	id := in.Params["ticket"].(string)
	ticket := filepath.Join(dir, "helpdesk", "tickets", id)
	read := func() string {
		b, err := os.ReadFile(ticket)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	marker, err := os.ReadFile(filepath.Join(dir, ".tai-installation"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"id: " + id + "\n", "statut: nouveau\n", "ouvert: " + string(marker),
		"demandeur: " + in.Params["requester"].(string) + "\n", "ordinateur: " + in.Params["computer"].(string) + "\n",
		"\ntechnicien:\n", "\nsolution:\n"} {
		if !strings.Contains(read(), want) {
			t.Errorf("seeded ticket lacks %q:\n%s", want, read())
		}
	}

	for _, tc := range []struct {
		args []string
		exit int
		out  string // in stdout (exit 0) or stderr
	}{
		{[]string{"list"}, 0, id + "   nouveau"},
		{[]string{"show", id}, 0, "Demandeur    : " + in.Params["requester"].(string)},
		{nil, 2, "Usage :"},
		{[]string{"aide"}, 0, "resoudre ID --solution"},
		{[]string{"ouvrir", id}, 2, "commande inconnue : « ouvrir »"},
		{[]string{"show"}, 2, "indiquez le numéro du ticket"},
		{[]string{"show", "INC-1"}, 1, "le ticket INC-1 n'existe pas"},
		{[]string{"show", "../x"}, 1, "numéro de ticket invalide : « ../x »"},
		{[]string{"prendre", id}, 2, "indiquez le technicien"},
		{[]string{"qualifier", id}, 2, "qualifier attend au moins une option"},
		{[]string{"qualifier", id, "--type", "panne"}, 1, "type invalide : « panne » (valeurs possibles : incident, demande)"},
		{[]string{"qualifier", id, "--categorie", "imprimante"}, 1, "catégorie invalide : « imprimante »"},
		{[]string{"qualifier", id, "--urgence", "6"}, 1, "urgence invalide : « 6 »"},
		{[]string{"qualifier", id, "--impact", "0"}, 1, "impact invalide : « 0 »"},
		{[]string{"qualifier", id, "--impact"}, 2, "l'option --impact attend une valeur"},
		{[]string{"qualifier", id, "--priorite", "3"}, 2, "option inconnue : « --priorite »"},
		{[]string{"suivi", id, " "}, 2, "le suivi est vide"},
		{[]string{"cloturer", id}, 1, "seul un ticket résolu peut être clos"},
		{[]string{"resoudre", id, "--solution", "Service redémarré et vérifié", "--temps", "30"}, 1, "attribué à aucun technicien"},
		{[]string{"prendre", id, "zoe.durand"}, 0, "attribué à zoe.durand (statut : en-cours)"},
		{[]string{"resoudre", id, "--solution", "Service redémarré et vérifié", "--temps", "30"}, 1, "n'est pas qualifié (type manquant)"},
		{[]string{"qualifier", id, "--type", "incident", "--categorie=réseau", "--urgence", "4", "--impact", "3"}, 0,
			"type incident, catégorie reseau, urgence 4, impact 3"},
		{[]string{"suivi", id, "DNS arrêté sur srv :", "redémarré"}, 0, "Suivi ajouté"},
		{[]string{"resoudre", id, "--solution", "Service redémarré et vérifié"}, 2, "indiquez le temps passé en minutes"},
		{[]string{"resoudre", id, "--temps", "30"}, 2, "indiquez la solution"},
		{[]string{"resoudre", id, "--solution", "fait", "--temps", "30"}, 1, "solution trop courte"},
		{[]string{"resoudre", id, "--solution", "Service redémarré et vérifié", "--temps", "0"}, 1, "temps passé invalide : « 0 »"},
		{[]string{"resoudre", id, "--solution", "Service redémarré et vérifié", "--temps", "1h"}, 1, "temps passé invalide : « 1h »"},
		{[]string{"resoudre", id, "--solution", "Service redémarré et vérifié", "--temps", "045"}, 0, "résolu (45 min)"},
		{[]string{"show", id}, 0, "Urgence      : 4 (haute)\n  Impact       : 3 (moyen)"},
		{[]string{"cloturer", id}, 0, "Ticket " + id + " clos."},
		{[]string{"suivi", id, "encore"}, 1, "le ticket " + id + " est clos : il ne peut plus être modifié"},
		{[]string{"cloturer", id}, 1, "déjà clos"},
	} {
		cmd := exec.Command("sh", append([]string{filepath.Join(dir, "helpdesk", "helpdesk")}, tc.args...)...)
		cmd.Env = append(os.Environ(), "HELPDESK_DIR="+filepath.Join(dir, "helpdesk", "tickets"))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		out := stdout.String()
		if tc.exit != 0 {
			out = stderr.String()
		}
		if code != tc.exit || !strings.Contains(out, tc.out) {
			t.Errorf("helpdesk %q: exit %d, want %d with %q\nstdout: %s\nstderr: %s", tc.args, code, tc.exit, tc.out, stdout.String(), stderr.String())
		}
	}
	got := read()
	for _, re := range []string{`(?m)^statut: clos$`, `(?m)^ouvert: ` + regexp.QuoteMeta(strings.TrimSpace(string(marker))) + `$`,
		`(?m)^technicien: zoe\.durand$`, `(?m)^type: incident$`, `(?m)^categorie: reseau$`, `(?m)^urgence: 4$`, `(?m)^impact: 3$`,
		`(?m)^suivi: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \| DNS arrêté sur srv : redémarré$`,
		`(?m)^solution: Service redémarré et vérifié$`, `(?m)^temps: 45$`, `(?m)^resolu: \d{4}-.*Z$`, `(?m)^clos: \d{4}-.*Z$`} {
		if !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("ticket lacks %s:\n%s", re, got)
		}
	}

	// The web view (CGI of busybox httpd): the tickets, HTML-escaped.
	cgi := exec.Command("sh", filepath.Join(dir, "www", "cgi-bin", "tickets"))
	cgi.Env = append(os.Environ(), "HELPDESK_DIR="+filepath.Join(dir, "helpdesk", "tickets"))
	page, err := cgi.Output()
	if err != nil {
		t.Fatalf("cgi: %v", err)
	}
	if !bytes.HasPrefix(page, []byte("Content-Type: text/html; charset=utf-8\r\n\r\n")) ||
		!bytes.Contains(page, []byte("Ticket "+id+" : ")) || !bytes.Contains(page, []byte("Statut       : clos")) {
		t.Errorf("web view:\n%s", page)
	}
}
