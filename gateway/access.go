package gateway

import (
	"fmt"
	"slices"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/store"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/templates/access"
)

// Logins are candidates' gateway passwords with the session's gateway
// endpoint (known once `tailab gateway` ran), as `tailab access` shows them.
type Logins struct {
	passwords map[string]secret.Value
	endpoint  Endpoint
	known     bool
}

// LoadLogins reads the candidates' gateway passwords (generating those not
// made yet) and the session's endpoint.
func LoadLogins(st *store.Store, session string, candidates []string) (*Logins, error) {
	pw, err := Passwords(st, session, candidates)
	if err != nil {
		return nil, err
	}
	ep, known, err := LoadEndpoint(st, session)
	if err != nil {
		return nil, err
	}
	return &Logins{passwords: pw, endpoint: ep, known: known}, nil
}

// AccessJSON is a candidate's gateway login in `tailab access -o json`.
type AccessJSON struct {
	Login    string `json:"login"`
	Password string `json:"password,omitempty"` // with --show-passwords only
	SSH      string `json:"ssh,omitempty"`
	URL      string `json:"url,omitempty"`
	CertSHA  string `json:"cert_sha256,omitempty"`
	HostKey  string `json:"host_key,omitempty"`
}

// JSON is the candidate's login, with the password only when show.
func (l *Logins) JSON(candidate string, show bool) AccessJSON {
	r := AccessJSON{Login: candidate}
	if show {
		r.Password = l.passwords[candidate].Reveal()
	}
	if l.known {
		r.SSH = fmt.Sprintf("ssh -p %d %s@%s", l.endpoint.SSHPort, candidate, l.endpoint.Address)
		r.URL, r.CertSHA, r.HostKey = l.endpoint.URL(), l.endpoint.CertSHA256, l.endpoint.HostKey
	}
	return r
}

// Sheet is the candidate's login as the access sheet prints it.
func (l *Logins) Sheet(candidate string) *access.Gateway {
	s := &access.Gateway{Login: candidate, Password: l.passwords[candidate].Reveal()}
	if l.known {
		e := l.endpoint
		s.Address, s.SSHPort, s.URL, s.CertSHA256, s.HostKey = e.Address, e.SSHPort, e.URL(), e.CertSHA256, e.HostKey
	}
	return s
}

// LoginsFor loads the gateway logins of the candidates in an access list.
func LoginsFor(dataDir, session string, list []provision.MachineAccess) (*Logins, error) {
	gs, err := store.Open(dataDir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, a := range list {
		if !slices.Contains(ids, a.Candidate) {
			ids = append(ids, a.Candidate)
		}
	}
	return LoadLogins(gs, session, ids)
}

// AccessRow is one machine in `tailab access -o json`, with its candidate's
// gateway login.
type AccessRow struct {
	provision.MachineAccess
	Gateway AccessJSON `json:"gateway"`
}

// Rows joins an access list with the logins.
func (l *Logins) Rows(list []provision.MachineAccess, show bool) []AccessRow {
	rows := make([]AccessRow, len(list))
	for i, a := range list {
		rows[i] = AccessRow{a, l.JSON(a.Candidate, show)}
	}
	return rows
}
