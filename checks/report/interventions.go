package report

import (
	"regexp"
	"strings"
	"time"

	"github.com/tailab/tailab/checks"
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

var (
	planRe    = regexp.MustCompile(`^(\d+) to create, (\d+) to keep, (\d+) to replace, (\d+) to remove$`)
	failedRe  = regexp.MustCompile(`^failed after ([0-9.]+)s: `)
	closeRe   = regexp.MustCompile(`^exam closed: session warned, closed in (.*)$`)
	loginRe   = regexp.MustCompile(`^(ssh|web) from (\S+): (accepted|refused: (.*))$`)
	termRe    = regexp.MustCompile(`^(shell|exec|subsystem|opened)(?: (.*))? \((ssh|web) from (\S+)\)$`)
	endedRe   = regexp.MustCompile(`^ended \(status (-?\d+)\)$`)
	detailsFR = strings.NewReplacer("create ", "création de l'instantané ", "delete ", "suppression de l'instantané ")
)

// interventionDetail puts the details the tools write in English (a plan's
// summary, a failure, a snapshot's create/delete, a revert's target, a
// candidate list, the gateway's logins, closes and exam window, its times in
// loc) in French; other text is kept as written.
func interventionDetail(action, detail string, loc *time.Location) string {
	if m := planRe.FindStringSubmatch(detail); m != nil {
		return m[1] + " à créer, " + m[2] + " à garder, " + m[3] + " à remplacer, " + m[4] + " à supprimer"
	}
	if m := failedRe.FindStringSubmatch(detail); m != nil {
		return "échec après " + strings.Replace(m[1], ".", ",", 1) + " s : " + detail[len(m[0]):]
	}
	switch action {
	case "login":
		return loginFR(detail)
	case "close":
		return closeRe.ReplaceAllString(detail, "épreuve close : le candidat a été averti, session fermée après $1")
	case "session":
		if verb, at, ok := strings.Cut(detail, " at "); ok {
			fr := map[string]string{"open": "ouverture de l'épreuve", "close": "fermeture de l'épreuve"}[verb]
			if t, err := time.Parse(time.RFC3339, at); err == nil && fr != "" {
				return fr + " : " + frTime(t, loc)
			}
		}
	case "faults-kept":
		return faultsKeptFR(detail)
	case "terminal", "console":
		return terminalFR(detail)
	case "ssh", "exec":
		if cmd, ok := strings.CutPrefix(detail, "command: "); ok {
			return "commande : " + cmd
		}
		if code, ok := strings.CutPrefix(detail, "ended: exit status "); ok {
			return "terminée, code de sortie " + code
		}
		if detail == "interactive shell" {
			return "terminal interactif"
		}
	case "snapshot":
		return detailsFR.Replace(detail)
	case "revert":
		if name, ok := strings.CutPrefix(detail, "to "); ok {
			return "instantané " + name
		}
	case "down":
		if ids, ok := strings.CutPrefix(detail, "["); ok {
			ids = strings.TrimSuffix(ids, "]")
			if ids == "" {
				return "tous les candidats"
			}
			return "candidats " + strings.Join(strings.Fields(ids), ", ")
		}
	}
	return detail
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

// faultsKeptFR puts exam.Intervention.Detail in French: "reset: a: re-applied,
// present; b: repaired before, left" → "après remise à l'état initial : a
// réinjecté, vérifié présent ; b réparé par le candidat, laissé réparé".
func faultsKeptFR(detail string) string {
	action, rest, ok := strings.Cut(detail, ": ")
	if !ok {
		return detail
	}
	fr := map[string]string{"reset": "remise à l'état initial", "snapshot create": "instantané", "snapshot revert": "retour à un instantané", "down+up": "recréation des machines", "replace": "remplacement des machines (lab modifié)"}[action]
	if ms, ok := strings.CutPrefix(action, "replace "); ok && fr == "" {
		fr = "remplacement de " + strings.ReplaceAll(ms, ",", ", ") + " (lab modifié)"
	}
	if ms, ok := strings.CutPrefix(action, "restart "); ok && fr == "" {
		fr = "redémarrage de " + strings.ReplaceAll(ms, ",", ", ") + " (trouvée arrêtée)"
	}
	if fr == "" {
		fr = action
	}
	var parts []string
	for _, p := range strings.Split(rest, "; ") {
		name, state, _ := strings.Cut(p, ": ")
		parts = append(parts, name+" "+faultStateFR.Replace(state))
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

// terminalFR puts the gateway's terminal and console entries in French:
// "exec hostname (ssh from 10.0.0.5)" → "commande : hostname (SSH depuis
// 10.0.0.5)", "ended (status 0)" → "terminé, code de sortie 0".
func terminalFR(detail string) string {
	if m := endedRe.FindStringSubmatch(detail); m != nil {
		return "terminé, code de sortie " + m[1]
	}
	for en, fr := range map[string]string{"refused: ": "refusé : ", "failed: ": "échec : "} {
		if rest, ok := strings.CutPrefix(detail, en); ok {
			return fr + loginReasonFR.Replace(rest)
		}
	}
	m := termRe.FindStringSubmatch(detail)
	if m == nil {
		return detail
	}
	what := map[string]string{"shell": "terminal interactif", "exec": "commande : ", "subsystem": "sous-système ", "opened": "console ouverte"}[m[1]] + m[2]
	via := viaFR[m[3]]
	return what + " (" + via + " depuis " + m[4] + ")"
}

// viaFR names the gateway's doors as the jury reads them.
var viaFR = map[string]string{"ssh": "SSH", "web": "navigateur"}

// loginFR puts the gateway's login entry in French: "ssh from 10.0.0.5:
// refused: wrong login or password" → "ssh depuis 10.0.0.5 : refusée
// (identifiant ou mot de passe erroné)".
func loginFR(detail string) string {
	m := loginRe.FindStringSubmatch(detail)
	if m == nil {
		return detail
	}
	via := viaFR[m[1]]
	if m[3] == "accepted" {
		return via + " depuis " + m[2] + " : acceptée"
	}
	return via + " depuis " + m[2] + " : refusée (" + loginReasonFR.Replace(m[4]) + ")"
}

var loginReasonFR = strings.NewReplacer(
	"wrong login or password", "identifiant ou mot de passe erroné",
	"unknown login", "identifiant inconnu",
	"too many failed logins (src ", "trop d'échecs depuis cette adresse (",
	"too many failed logins (login ", "trop d'échecs pour cet identifiant (",
	"the exam is not open", "l'épreuve n'est pas ouverte",
	"the exam is closed", "l'épreuve est close",
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
			Machine: safeText(in.Machine), Detail: safeText(interventionDetail(in.Action, in.Detail, loc)),
		})
	}
	return out
}
