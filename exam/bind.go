package exam

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/userfile"
	"github.com/tailab/tailab/internal/yamlx"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// BuiltinChecks returns lab, or, for a built-in lab whose session copy names no
// suites (a session created before the catalog had them), a copy with the current
// catalog's `checks` list.
func BuiltinChecks(lab *labs.Lab) *labs.Lab {
	name, ok := strings.CutPrefix(lab.Source, "catalog:")
	if !ok || len(lab.Checks) > 0 {
		return lab
	}
	cur, err := labs.LoadBuiltin(name)
	if err != nil || len(cur.Checks) == 0 {
		return lab
	}
	cp := *lab
	cp.Checks = cur.Checks
	return &cp
}

// LoadSuites loads the lab's check suites (see LabSuites) for grading: a lab
// without suites is a usage error, any problem of a suite is yamlx.Diagnostics
// (bad input), a `when` naming a fault the lab does not declare included.
func LoadSuites(lab *labs.Lab, reg *probe.Registry) ([]*checks.Suite, error) {
	if len(lab.Checks) == 0 {
		return nil, errclass.Usagef("lab %q has no check suites (checks: in the lab file)", lab.Name)
	}
	suites, diags := LabSuites(lab, reg, nil)
	faults := make([]string, 0, len(lab.Faults))
	for _, f := range lab.Faults {
		faults = append(faults, f.Name)
	}
	for _, s := range suites {
		if err := s.CheckFaults(faults); err != nil {
			diags = append(diags, diagnosticsOf(s.File, err)...)
		}
	}
	if err := diags.Err(); err != nil {
		return nil, err
	}
	return suites, nil
}

// DrawnFaults returns the incidents recorded for a candidate when `up` applied
// their faults (faults/<session> in the state), with the lab's titles; known is
// false when the lab has no faults or none were recorded for the candidate (a
// session brought up before faults were recorded): then every check applies.
func DrawnFaults(st *provision.State, session string, lab *labs.Lab, candidate string) (faults []checks.Fault, known bool, err error) {
	if len(lab.Faults) == 0 {
		return nil, false, nil
	}
	rec, ok, err := st.Faults(session, candidate)
	if err != nil || !ok {
		return nil, false, err
	}
	titles := map[string]string{}
	for _, f := range lab.Faults {
		titles[f.Name] = f.Title
	}
	for _, name := range rec.Faults {
		faults = append(faults, checks.Fault{Name: name, Title: titles[name]})
	}
	return faults, true, nil
}

// FilterCompetences keeps the checks and jury items of the given competences, plus
// the checks they depend on (transitively); no competences keeps everything.
func FilterCompetences(suites []*checks.Suite, competences []string) ([]*checks.Suite, error) {
	if len(competences) == 0 {
		return suites, nil
	}
	want := map[string]bool{}
	for _, c := range competences {
		want[c] = true
	}
	found := map[string]bool{}
	var out []*checks.Suite
	for _, s := range suites {
		byID := map[string]*checks.Check{}
		for _, c := range s.Checks {
			byID[c.ID] = c
		}
		keep := map[string]bool{}
		var add func(id string)
		add = func(id string) {
			if keep[id] {
				return
			}
			keep[id] = true
			if c, ok := byID[id]; ok {
				for _, d := range c.DependsOn {
					add(d)
				}
			}
		}
		for _, c := range s.Checks {
			if want[c.Competence] {
				found[c.Competence] = true
				add(c.ID)
			}
		}
		cp := *s
		cp.Checks, cp.Jury = nil, nil
		for _, c := range s.Checks {
			if keep[c.ID] {
				cp.Checks = append(cp.Checks, c)
			}
		}
		for _, j := range s.Jury {
			if want[j.Competence] {
				found[j.Competence] = true
				cp.Jury = append(cp.Jury, j)
			}
		}
		if len(cp.Checks)+len(cp.Jury) > 0 {
			out = append(out, &cp)
		}
	}
	var missing []string
	for c := range want {
		if !found[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, errclass.Usagef("no check or jury item for competence %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// Bind builds the grader's view of each candidate of a session (or only those
// given): parameters, each machine's management address and credentials, and
// the faults drawn for them (see DrawnFaults).
//
// labNets gives each candidate's machines' lab-network addresses (static ones from
// the lab, else those the provider observed), for probes that observe from a
// lab machine (see checks.Vantages).
func Bind(st *provision.State, sess *provision.Session, lab *labs.Lab, only []string) (cands []checks.Candidate, labNets map[string]map[string][]checks.NetAddress, err error) {
	insts, err := sess.Instances(only...)
	if err != nil {
		return nil, nil, errclass.Wrap(errclass.NotFound, err)
	}
	states, err := st.Machines(sess.Name)
	if err != nil {
		return nil, nil, fmt.Errorf("read machines: %w", err)
	}
	addr := map[string]string{}
	pins := map[string]string{}
	hostKeys := map[string]string{}
	ports := map[string]map[string]int{}
	observed := map[string]map[string]string{}
	for _, m := range states {
		addr[m.Candidate+"/"+m.Machine] = m.MgmtAddress
		pins[m.Candidate+"/"+m.Machine] = m.TLSPin
		hostKeys[m.Candidate+"/"+m.Machine] = m.SSHHostKey
		ports[m.Candidate+"/"+m.Machine] = m.Ports
		observed[m.Candidate+"/"+m.Machine] = m.Addresses
	}
	labNets = map[string]map[string][]checks.NetAddress{}
	var out []checks.Candidate
	for _, in := range insts {
		id := in.Candidate.ID
		secrets, err := st.Secrets(sess.Name, lab, id)
		if err != nil {
			return nil, nil, fmt.Errorf("candidate %q: %w", id, err)
		}
		labNets[id] = map[string][]checks.NetAddress{}
		for _, m := range in.Machines {
			for _, nic := range m.NICs {
				a := nic.Address
				if a == "" || a == "dhcp" {
					a = observed[id+"/"+m.Name][nic.Network]
				}
				if a != "" {
					labNets[id][m.Name] = append(labNets[id][m.Name], checks.NetAddress{Network: nic.Network, Address: a})
				}
			}
		}
		masker := &secret.Masker{}
		for _, v := range secrets {
			if !v.IsZero() {
				masker.Add(v.Reveal())
			}
		}
		c := checks.Candidate{
			ID: id, LastName: in.Candidate.LastName, FirstName: in.Candidate.FirstName,
			Params: in.Params, Machines: map[string]probe.Target{},
		}
		if c.Faults, c.FaultsKnown, err = DrawnFaults(st, sess.Name, lab, id); err != nil {
			return nil, nil, fmt.Errorf("candidate %q: read faults: %w", id, err)
		}
		for _, m := range in.Machines {
			t := probe.Target{
				Session: sess.Name, Candidate: id, Machine: m.Name,
				Address:     addr[id+"/"+m.Name],
				Ports:       ports[id+"/"+m.Name], // an existing machine's (the static inventory)
				Credentials: map[string]probe.Credentials{},
				Masker:      masker,
				TLSPin:      pins[id+"/"+m.Name],     // the WinRM certificate `up` found (trust on first use)
				SSHHostKey:  hostKeys[id+"/"+m.Name], // the SSH host key `up` generated
			}
			for transport, cr := range m.Credentials {
				t.Credentials[transport] = credentialsOf(cr, secrets)
				for _, id := range cr.Identities {
					if t.Identities == nil {
						t.Identities = map[string]map[string]probe.Credentials{}
					}
					if t.Identities[transport] == nil {
						t.Identities[transport] = map[string]probe.Credentials{}
					}
					t.Identities[transport][id.Name] = credentialsOf(id.Credential, secrets)
				}
			}
			c.Machines[m.Name] = t
		}
		out = append(out, c)
	}
	return out, labNets, nil
}

// credentialsOf is what the grader presents for a lab credential, its secrets
// looked up by name.
func credentialsOf(cr labs.Credential, secrets map[string]secret.Value) probe.Credentials {
	pc := probe.Credentials{User: cr.User, Domain: cr.Domain}
	if cr.Password != "" {
		pc.Password = secrets[cr.Password]
	}
	if cr.Key != "" {
		pc.PrivateKey = secrets[cr.Key]
	}
	return pc
}

// Identities gives, by machine and transport, the names of the lab machines'
// named credentials (see checks.Suite.CheckIdentities).
func Identities(lab *labs.Lab) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for _, m := range lab.Machines {
		out[m.Name] = map[string][]string{}
		for transport, cr := range m.Credentials {
			for _, id := range cr.Identities {
				out[m.Name][transport] = append(out[m.Name][transport], id.Name)
			}
		}
	}
	return out
}

// LabSuites loads the lab's check suites: for a built-in lab from the embedded
// catalog, otherwise relative to the lab file; their machines must be the lab's and
// their names distinct. ref nil lets each suite name its referential. Every
// problem of every suite is returned.
func LabSuites(lab *labs.Lab, reg *probe.Registry, ref *referential.Referential) ([]*checks.Suite, yamlx.Diagnostics) {
	machines := make([]string, 0, len(lab.Machines))
	for _, m := range lab.Machines {
		machines = append(machines, m.Name)
	}
	var (
		suites []*checks.Suite
		diags  yamlx.Diagnostics
		names  = map[string]string{}
	)
	builtin := strings.HasPrefix(lab.Source, "catalog:")
	for i, p := range lab.Checks {
		var (
			file string
			data []byte
			err  error
		)
		if builtin {
			file = "catalog:" + p
			data, err = labs.BuiltinSuite(p)
		} else {
			file = p
			if !filepath.IsAbs(p) {
				file = filepath.Join(filepath.Dir(lab.Source), p)
			}
			data, err = userfile.Read(file)
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("suite %s: no such file", file)
			}
			diags.Add(lab.At.Of("checks", lab.Pos), fmt.Sprintf("checks[%d]", i), "%v", err)
			if diags[len(diags)-1].Pos.File == "" {
				diags[len(diags)-1].Pos.File = lab.Source
			}
			continue
		}
		s, err := checks.LoadSuite(file, data, reg, ref)
		if err == nil {
			faults := make([]string, 0, len(lab.Faults))
			for _, f := range lab.Faults {
				faults = append(faults, f.Name)
			}
			err = errors.Join(s.CheckMachines(machines), s.CheckProbeVantages(machines), s.CheckFaults(faults), s.CheckIdentities(Identities(lab)))
		}
		if err != nil {
			diags = append(diags, diagnosticsOf(file, err)...)
			continue
		}
		if prev, dup := names[s.Name]; dup {
			diags.Add(yamlx.Pos{File: file}, "name", "suite name %q already used by %s", s.Name, prev)
			continue
		}
		names[s.Name] = file
		suites = append(suites, s)
	}
	if len(diags) == 0 {
		diags = mutationDiagnostics(lab, suites) // the checks a mutation names exist
		diags = append(diags, decisionDiagnostics(lab, suites)...)
	}
	return suites, diags
}

// diagnosticsOf flattens err (yamlx.Diagnostics, possibly joined) into
// diagnostics; another error becomes one diagnostic naming file.
func diagnosticsOf(file string, err error) yamlx.Diagnostics {
	var ds yamlx.Diagnostics
	if errors.As(err, &ds) && ds.Error() == err.Error() {
		return ds
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out yamlx.Diagnostics
		for _, e := range j.Unwrap() {
			out = append(out, diagnosticsOf(file, e)...)
		}
		return out
	}
	return yamlx.Diagnostics{{Pos: yamlx.Pos{File: file}, Message: err.Error()}}
}
