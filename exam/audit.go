package exam

import (
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
)

// AuditLog is session's audit log, oldest first: never nil, so an empty log
// prints as [] in JSON. A session the store never knew is NotFound; one that is
// down but left its log keeps it readable.
func AuditLog(dataDir, session string) ([]provision.AuditEntry, error) {
	if session == "" {
		return nil, errclass.Usagef("--session is required")
	}
	st, err := provision.OpenState(dataDir)
	if err != nil {
		return nil, err
	}
	log, err := st.AuditLog(session)
	if err != nil {
		return nil, err
	}
	if len(log) == 0 {
		if _, err := st.Session(session); err != nil {
			return nil, errclass.Wrap(errclass.NotFound, err)
		}
	}
	return append([]provision.AuditEntry{}, log...), nil
}
