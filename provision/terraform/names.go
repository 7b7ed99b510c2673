package terraform

import "github.com/tailab/tailab/provision/naming"

// Workspace names allow letters, digits, '-' and '_'; session names and
// candidate ids never hold '_', so "tl-SESSION_CANDIDATE" is unambiguous.

// WorkspaceName is the workspace of a candidate's lab.
func WorkspaceName(session, candidate string) string {
	return naming.Prefix + session + "_" + candidate
}

// MgmtWorkspaceName is the workspace of the session's management network.
func MgmtWorkspaceName(session string) string { return naming.Prefix + session + "_mgmt" }

// Tags are a workspace's tags: tailab, session:S, candidate:C (or role:mgmt), lab:L.
func Tags(session, candidate, lab string) []string {
	t := []string{"tailab", "session:" + session}
	if candidate == "" {
		t = append(t, "role:mgmt")
	} else {
		t = append(t, "candidate:"+candidate)
	}
	return append(t, "lab:"+lab)
}
