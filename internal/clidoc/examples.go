// Package clidoc holds the examples of tailab's help, by command path: kept
// out of cmd/tailab (which stays a thin shell of flags) and in one place, so
// a test can walk every command and find its examples (cmd/tailab
// TestEveryVerbHasExamples).
package clidoc

import "strings"

// examples are each command's Examples section, by command path without the
// leading "tailab " ("" for the root).
var examples = map[string]string{
	"": `tailab up tpe-local -s juin --candidates roster.csv   # the labs of a session
tailab grade -s juin                                  # grade every candidate
tailab serve -s juin                                  # the grid and the jury's form in a browser
tailab report -s juin -c c02 -o pdf --out c02.pdf     # a candidate's jury record`,
	"access": `tailab access -s juin                                  # how each candidate reaches their machines
tailab access -s juin -c c01 -c c02 --sheet --out sheets/
tailab access -s juin -c c03 --rotate                  # a new gateway password for c03`,
	"audit": `tailab audit -s juin
tailab audit -s juin -o json | jq '.[] | select(.action == "reset")'`,
	"completion": `source <(tailab completion bash)
tailab completion zsh > "${fpath[1]}/_tailab"`,
	"completion bash":       `source <(tailab completion bash)`,
	"completion zsh":        `tailab completion zsh > "${fpath[1]}/_tailab"`,
	"completion fish":       `tailab completion fish > ~/.config/fish/completions/tailab.fish`,
	"completion powershell": `tailab completion powershell | Out-String | Invoke-Expression`,
	"demo": `tailab demo                                           # up, grade, records, down of a built-in lab
tailab demo --lab ccp3-support-local --serve`,
	"doctor": `tailab doctor --provider terraform
tailab doctor --provider terraform --terraform /opt/terraform/1.9.8/terraform`,
	"down": `tailab down -s juin                                   # every candidate's machines
tailab down -s juin -c c04 --yes                       # one candidate, no question`,
	"exec": `tailab exec -s juin -m pc1 -- ipconfig /all
tailab exec -s juin -c c01 -c c02 -m srv1 -o json -- systemctl is-active smbd`,
	"gateway": `tailab gateway -s juin --address 192.168.1.10
tailab gateway -s juin --ssh-listen :2222 --web-listen "" --record-input`,
	"gc": `tailab gc                                             # list what no session owns
tailab gc --provider libvirt --yes                     # and remove it`,
	"grade": `tailab grade -s juin                                  # one line per candidate
tailab grade -s juin --details=c02,c05                 # c02's and c05's competences and checks to review
tailab grade -s juin -o table -o csv=notes.csv -o xlsx=notes.xlsx
tailab grade -s juin --competence C2.3 --watch 30s`,
	"help":      `tailab help grade`,
	"inventory": `tailab inventory init --lab tpe-local --count 12 -o salle-b.yaml`,
	"inventory init": `tailab inventory init --lab tpe-local --count 12 -o salle-b.yaml
tailab inventory init --lab mon-lab.yaml --candidates roster.csv`,
	"jury": `tailab jury set -s juin -c c02 support.accueil 1,5 --note "reformulation claire"
tailab jury override -s juin -c c02 ad.users --status pass --note "OU voisine, accepté"
tailab jury decide -s juin -c c02 CCP3 acquis`,
	"lab":      `tailab lab list` + "\n" + `tailab lab show tpe-local`,
	"lab list": `tailab lab list` + "\n" + `tailab lab list -o json`,
	"lab show": `tailab lab show tpe-local
tailab lab show mon-lab.yaml --source`,
	"report": `tailab report -s juin -o csv --out notes.csv          # the stored latest grading, nothing probed
tailab report -s juin -o html=session.html -o xlsx=notes.xlsx
tailab report -s juin -c c02 -o pdf --out c02.pdf      # a jury record
tailab report -s juin -c c02 --at 2026-06-12T14:03:07Z -o digest`,
	"reset": `tailab reset -s juin -c c03                           # every machine of c03, as created
tailab reset -s juin -c c03 -m pc1 --yes --force       # one machine, during the exam
tailab reset -s juin -c c03 -c c07 -m pc1 --yes --force # the same machine of two candidates`,
	"schema": `tailab schema lab > lab.schema.json
tailab schema inventory`,
	"serve": `tailab serve -s juin
TAILAB_SERVE_TOKEN=$(cat token) tailab serve -s juin --listen 0.0.0.0:8080`,
	"session": `tailab session list --all` + "\n" + `tailab session open -s juin --at 2026-06-12T09:00:00+02:00`,
	"session close": `tailab session close -s juin
tailab session close -s juin --at 2026-06-12T12:00:00+02:00`,
	"session list": `tailab session list
tailab session list --all -o json                      # with sessions that are down but keep records`,
	"session open": `tailab session open -s juin
tailab session open -s juin --at 2026-06-12T09:00:00+02:00`,
	"sheets": `tailab sheets -s juin -o html --out sujets/
tailab sheets -s juin -c c01 -c c02`,
	"snapshot": `tailab snapshot create -s juin -c c03 avant-panne
tailab snapshot revert -s juin -c c03 avant-panne`,
	"snapshot create": `tailab snapshot create -s juin -c c03 avant-panne
tailab snapshot create -s juin -c c03 -m srv1 avant-gpo
tailab snapshot create -s juin -c c01,c02,c03 debut          # several candidates, one after another`,
	"snapshot delete": `tailab snapshot delete -s juin -c c03 avant-panne`,
	"snapshot list":   `tailab snapshot list -s juin -c c03` + "\n" + `tailab snapshot list -s juin -c c03 -o json`,
	"snapshot revert": `tailab snapshot revert -s juin -c c03 avant-panne
tailab snapshot revert -s juin -c c03 -m pc1 avant-panne --no-wait`,
	"ssh": `tailab ssh -s juin -c c02 -m srv1
tailab ssh -s juin -c c02 -m pc1 -- cat /etc/resolv.conf`,
	"status": `tailab status` + "\n" + `tailab status -s juin -o json`,
	"up": `tailab up tpe-local -s juin --candidates roster.csv
tailab up tpe-local -s juin --count 12 --dry-run
tailab up -s juin -c c04                               # re-create one candidate's machines
tailab up mon-lab.yaml -s juin --count 12 --decision-threshold 60`,
	"validate": `tailab validate mon-lab.yaml
tailab validate suites/*.yaml roster.csv`,
	"verify": `tailab verify tpe-local
tailab verify mon-lab.yaml --mutations --keep`,
	"version": `tailab version`,
}

// Example is the Examples section of the command at path ("tailab jury
// set"), indented as cobra prints it; "" when there is none.
func Example(path string) string {
	ex, ok := examples[strings.TrimSpace(strings.TrimPrefix(path+" ", "tailab "))]
	if !ok || ex == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(ex, "\n", "\n  ")
}
