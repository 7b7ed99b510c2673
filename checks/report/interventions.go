package report

import (
	"regexp"
	"strings"
)

// interventionActions are the audit log's actions as the jury reads them.
var interventionActions = map[string]string{
	"up":       "mise en place du lab",
	"down":     "suppression du lab",
	"reset":    "remise à l'état initial",
	"revert":   "retour à un instantané",
	"snapshot": "instantané",
	"faults":   "incidents injectés",
	"login":    "connexion du candidat",
	"close":    "fin de session du candidat",
	"grade":    "correction",
	"access":   "accès remis",
	"shell":    "terminal ouvert",
	"forward":  "redirection de port",
	"jury":     "saisie du jury",
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
