package report

import (
	"regexp"
	"strings"

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
	detailsFR = strings.NewReplacer("create ", "création de l'instantané ", "delete ", "suppression de l'instantané ")
)

// interventionDetail puts the details the tools write in English (a plan's
// summary, a failure, a snapshot's create/delete, a revert's target, a
// candidate list) in French; other text is kept as written.
func interventionDetail(action, detail string) string {
	if m := planRe.FindStringSubmatch(detail); m != nil {
		return m[1] + " à créer, " + m[2] + " à garder, " + m[3] + " à remplacer, " + m[4] + " à supprimer"
	}
	if m := failedRe.FindStringSubmatch(detail); m != nil {
		return "échec après " + strings.Replace(m[1], ".", ",", 1) + " s : " + detail[len(m[0]):]
	}
	switch action {
	case "faults-kept":
		return faultsKeptFR(detail)
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
// the exam opened, the grid marks the candidate (rebuildsAfterStart).
var labActions = map[string]bool{"up": true, "down": true, "reset": true, "revert": true, "snapshot": true, "faults-kept": true}

// rebuildsAfterStart are the interventions on candidate id's machines since
// the exam opened (the report's StartedAt).
func rebuildsAfterStart(r *checks.Report, id string) []checks.Intervention {
	var out []checks.Intervention
	for _, in := range r.Interventions {
		if in.Candidate == id && labActions[in.Action] && !in.Time.Before(r.StartedAt) {
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
	fr := map[string]string{"reset": "remise à l'état initial", "snapshot create": "instantané", "snapshot revert": "retour à un instantané", "down+up": "recréation des machines"}[action]
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
	"present", "présent",
	"absent", "absent (à vérifier)",
	"unknown", "présence non vérifiée",
)
