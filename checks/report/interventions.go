package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/audit"
)

// interventionActions are the audit log's actions as the jury reads them.
var interventionActions = map[string]string{
	"up":          "mise en place du lab",
	"down":        "suppression du lab",
	"reset":       "remise à l'état initial",
	"revert":      "retour à un instantané",
	"snapshot":    "instantané",
	"faults":      "incidents injectés",
	"faults-kept": "incidents contrôlés après une intervention",
	"login":       "connexion du candidat",
	"close":       "fin de session du candidat",
	"grade":       "correction",
	"access":      "accès remis",
	"shell":       "terminal ouvert",
	"forward":     "redirection de port",
	"jury":        "saisie du jury",
	"session":     "fenêtre de l'épreuve",
	"terminal":    "terminal du candidat",
	"console":     "console graphique du candidat",
	"ssh":         "terminal de l'administrateur",
	"exec":        "commande de l'administrateur",
}

// interventionAction is the French name of an audit action (the action
// itself when unknown: never hidden).
func interventionAction(action string) string {
	if fr, ok := interventionActions[action]; ok {
		return fr
	}
	return action
}

// interventionDetail is an intervention's detail as the jury reads it: from
// its typed facts (audit.Facts; read back from the English line for entries
// recorded before them), times in loc; a free text (a fault list, a jury
// entry) is kept as written.
func interventionDetail(in checks.Intervention, loc *time.Location) string {
	f := in.Facts
	if f == nil {
		f = audit.Legacy(in.Action, in.Detail)
	}
	if f == nil {
		return in.Detail
	}
	if fr := factsFR(in.Action, f, loc); fr != "" {
		return fr
	}
	return in.Detail
}

// factsFR puts an action's facts in French ("" when they say nothing the
// jury reads).
func factsFR(action string, f *audit.Facts, loc *time.Location) string {
	via := func() string {
		if f.From == "" {
			return ""
		}
		return " (" + viaFR[f.Door] + " depuis " + f.From + ")"
	}
	status := func() string {
		if f.Status == nil {
			return "?"
		}
		return strconv.Itoa(*f.Status)
	}
	if action == "forward" {
		switch f.Outcome {
		case audit.Refused:
			return "vers " + f.To + " : refusée (" + reasonFR.Replace(f.Reason) + ")"
		case audit.Failed:
			return "vers " + f.To + " : la machine ne répond pas (" + reasonFR.Replace(f.Reason) + ")"
		}
		return "vers " + f.To
	}
	if f.Outcome == audit.Failed {
		if f.Elapsed > 0 {
			return "échec après " + strings.Replace(strconv.FormatFloat(f.Elapsed.Seconds(), 'f', 1, 64), ".", ",", 1) + " s : " + reasonFR.Replace(f.Reason)
		}
		return "échec : " + reasonFR.Replace(f.Reason)
	}
	switch action {
	case "up":
		if p := f.Plan; p != nil {
			return fmt.Sprintf("%d à créer, %d à garder, %d à remplacer, %d à supprimer", p.Create, p.Keep, p.Replace, p.Remove)
		}
	case "down":
		if len(f.Candidates) == 0 {
			return "tous les candidats"
		}
		return "candidats " + strings.Join(f.Candidates, ", ")
	case "snapshot":
		return map[string]string{"create": "création de l'instantané ", "delete": "suppression de l'instantané "}[f.Op] + f.Snapshot
	case "revert":
		return "instantané " + f.Snapshot
	case "session":
		if fr := map[string]string{audit.Opened: "ouverture de l'épreuve", audit.Closed: "fermeture de l'épreuve"}[f.Outcome]; fr != "" {
			return fr + " : " + frTime(f.At, loc)
		}
	case "close":
		return "épreuve close : le candidat a été averti, session fermée après " + f.Grace
	case "login":
		if f.Outcome == audit.Accepted {
			return viaFR[f.Door] + " depuis " + f.From + " : acceptée"
		}
		return viaFR[f.Door] + " depuis " + f.From + " : refusée (" + reasonFR.Replace(f.Reason) + ")"
	case "faults-kept":
		return faultsKeptFR(f)
	case "terminal", "console":
		switch f.Outcome {
		case audit.Refused:
			return "refusé : " + reasonFR.Replace(f.Reason) + via()
		case audit.Ended:
			return "terminé, code de sortie " + status()
		case audit.Closed:
			return "console fermée"
		case audit.Opened:
			return map[string]string{audit.Shell: "terminal interactif", audit.Exec: "commande : ", audit.Subsystem: "sous-système ", audit.Console: "console ouverte"}[f.Kind] + f.Command + via()
		}
	case "ssh", "exec":
		switch {
		case f.Outcome == audit.Ended:
			return "terminée, code de sortie " + status()
		case f.Kind == audit.Shell:
			return "terminal interactif"
		case f.Kind == audit.Exec:
			return "commande : " + f.Command
		}
	}
	return ""
}

// labActions are the audit actions that change a candidate's machines: after
// the exam opened, the grid marks the candidate (rebuildsAfterStart). An
// admin's shell or command (ssh, exec) runs as root on the machine: it may
// have changed it, so it marks the candidate too.
var labActions = map[string]bool{"up": true, "down": true, "reset": true, "revert": true, "snapshot": true, "faults-kept": true, "ssh": true, "exec": true}

// rebuildsAfterStart are the interventions on candidate id's machines since
// the exam opened (ExamOpened).
func rebuildsAfterStart(r *checks.Report, id string) []checks.Intervention {
	var out []checks.Intervention
	opened := ExamOpened(r)
	for _, in := range r.Interventions {
		if in.Candidate == id && labActions[in.Action] && in.Time.After(opened) {
			out = append(out, in)
		}
	}
	return out
}

// followingFR names the admin actions faults-kept follows as the jury reads them.
var followingFR = map[string]string{"reset": "remise à l'état initial", "snapshot create": "instantané", "snapshot revert": "retour à un instantané", "down+up": "recréation des machines", "replace": "remplacement des machines (lab modifié)", "restart": "redémarrage des machines (trouvées arrêtées)"}

// faultsKeptFR puts what an admin action did to the drawn faults in French:
// "après remise à l'état initial : a réinjecté, vérifié présent ; b réparé
// par le candidat, laissé réparé".
func faultsKeptFR(f *audit.Facts) string {
	fr, ok := followingFR[f.Following]
	switch {
	case f.Following == "replace" && len(f.Machines) > 0:
		fr = "remplacement de " + strings.Join(f.Machines, ", ") + " (lab modifié)"
	case f.Following == "restart" && len(f.Machines) > 0:
		fr = "redémarrage de " + strings.Join(f.Machines, ", ") + " (trouvée arrêtée)"
	case !ok:
		fr = f.Following
	}
	parts := make([]string, len(f.Faults))
	for i, x := range f.Faults {
		parts[i] = x.Name + " " + faultStateFR.Replace(x.Fate())
	}
	return "après " + fr + " : " + strings.Join(parts, " ; ")
}

var faultStateFR = strings.NewReplacer(
	"re-applied, present", "réinjecté, vérifié présent",
	"re-applied, absent", "réinjecté mais absent (à vérifier)",
	"re-applied, unknown", "réinjecté, présence non vérifiée",
	"repaired before, left", "réparé par le candidat, laissé réparé",
	"repaired before, present after (the state restored)", "réparé par le candidat, présent dans l'état restauré",
	"present", "présent",
	"absent", "absent (à vérifier)",
	"unknown", "présence non vérifiée",
)

// viaFR names the gateway's doors as the jury reads them.
var viaFR = map[string]string{"ssh": "SSH", "web": "navigateur"}

var reasonFR = strings.NewReplacer(
	"wrong login or password", "identifiant ou mot de passe erroné",
	"unknown login", "identifiant inconnu",
	"too many failed logins (src ", "trop d'échecs depuis cette adresse (",
	"too many failed logins (login ", "trop d'échecs pour cet identifiant (",
	"the exam is not open", "l'épreuve n'est pas ouverte",
	"the exam is closed", "l'épreuve est close",
	"not a declared port of the candidate's machines", "pas un port déclaré des machines du candidat",
	// The gateway's refusals of a terminal or a console (gateway/ssh.go,
	// session.go, console.go, machines.go, pool.go): what the record shows
	// for each, never the English.
	"a command or subsystem without a machine", "une commande sans machine dans l'identifiant",
	"no machine ", "aucune machine ",
	" for candidate ", " pour le candidat ",
	" has no terminal access (access: via ", " : pas d'accès par terminal (accès : via ",
	" has no management address (state ", " : pas d'adresse de gestion (état ",
	" has no console", " : pas de console",
	" of candidate ", " du candidat ",
	" not found by the provider", " introuvable",
	" is a container: no graphics console", " est un conteneur : pas de console graphique",
	"no VNC port (is the VM running?)", "pas de port VNC (la VM est-elle démarrée ?)",
	"console of ", "console de ",
	"the connection keeps failing", "la connexion échoue à chaque essai",
	"pty refused by the machine", "terminal refusé par la machine",
	" refused by the machine", " refusé par la machine",
	"the container is not contained (its root is root on the host)", "le conteneur n'est pas confiné (son root est root sur l'hôte)",
	": the gateway opens no shell in it; bring the session up with --rootfs built (TAILAB_ROOTFS=built, scripts/build-rootfs.sh)", " : la passerelle n'y ouvre aucun terminal",
	"the gateway has no way to find consoles", "la passerelle ne sait pas trouver les consoles",
)

// InterventionLine is an intervention on a candidate's machines as the jury
// reads it: action and detail in French, free text made safe; the time is left
// to the caller to format (the dashboard and the printed formats differ).
type InterventionLine struct {
	Time                          time.Time
	User, Action, Machine, Detail string
}

// LabInterventions are the interventions on candidate id's machines since the
// exam opened (those that mark the candidate with InterventionMark), in
// French, details' times in loc: the dashboard shows them as the grid does.
func LabInterventions(r *checks.Report, id string, loc *time.Location) []InterventionLine {
	var out []InterventionLine
	for _, in := range rebuildsAfterStart(r, id) {
		out = append(out, InterventionLine{
			Time: in.Time, User: safeText(in.User), Action: interventionAction(in.Action),
			Machine: safeText(in.Machine), Detail: safeText(interventionDetail(in, loc)),
		})
	}
	return out
}
