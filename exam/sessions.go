package exam

import (
	"fmt"
	"io"
	"time"

	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// SessionRow is a session as `session list` shows it.
type SessionRow struct {
	Name       string    `json:"name"`
	Lab        string    `json:"lab"`
	Provider   string    `json:"provider"`
	Candidates int       `json:"candidates"`
	CreatedAt  time.Time `json:"created_at"`
	MgmtCIDR   string    `json:"mgmt_cidr"`
	// Down: the session was taken down (`down`), its gradings, jury marks
	// and records are kept (`report` renders them); Lab and Candidates are
	// its latest grading's.
	Down     bool `json:"down,omitempty"`
	Gradings int  `json:"gradings"`
}

// ListSessions is `session list`: the sessions of the data dir, and with all
// those that are down but still have stored gradings (an empty list, never
// nil).
func ListSessions(dataDir string, all bool) ([]SessionRow, error) {
	st, err := provision.OpenState(dataDir)
	if err != nil {
		return nil, err
	}
	rs, err := results.Open(dataDir)
	if err != nil {
		return nil, err
	}
	sessions, err := st.Sessions()
	if err != nil {
		return nil, err
	}
	rows := []SessionRow{}
	up := map[string]bool{}
	for _, s := range sessions {
		keys, err := rs.Keys(s.Name)
		if err != nil {
			return nil, err
		}
		up[s.Name] = true
		rows = append(rows, SessionRow{s.Name, s.Lab, s.Provider, len(s.Candidates), s.CreatedAt, s.MgmtCIDR, false, len(keys)})
	}
	if !all {
		return rows, nil
	}
	graded, err := rs.Sessions()
	if err != nil {
		return nil, err
	}
	for _, name := range graded {
		if up[name] {
			continue
		}
		keys, err := rs.Keys(name)
		if err != nil || len(keys) == 0 {
			continue // a bucket emptied by hand: nothing to show
		}
		g, err := rs.Latest(name)
		if err != nil {
			return nil, err
		}
		rows = append(rows, SessionRow{Name: name, Lab: g.Report.Lab, Candidates: len(g.Report.Candidates), Down: true, Gradings: len(keys)})
	}
	return rows, nil
}

// PrintSessions writes sessions as a table, their dates in loc; with all, a
// STATE column tells the sessions that are down (their records kept).
func PrintSessions(w io.Writer, rows []SessionRow, loc *time.Location, all bool) error {
	head := []string{"SESSION", "LAB", "CANDIDATES", "PROVIDER", "CREATED", "MGMT", "GRADINGS"}
	if all {
		head = append(head, "STATE")
	}
	t := newTable(w, head...)
	for _, s := range rows {
		cells := []string{s.Name, s.Lab, fmt.Sprint(s.Candidates), s.Provider, s.CreatedAt.In(loc).Format("2006-01-02 15:04 MST"), s.MgmtCIDR, fmt.Sprint(s.Gradings)}
		if s.Down {
			cells[3], cells[4], cells[5] = "-", "-", "-"
		}
		if all {
			cells = append(cells, map[bool]string{false: "up", true: "down (records kept)"}[s.Down])
		}
		t.row(cells...)
	}
	return t.flush()
}
