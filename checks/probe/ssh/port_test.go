package ssh_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ssh"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sshd"
)

// TestPerCheckPort: one machine whose checks name their own port (an sshd on
// 2222 beside one on the machine's port): each port gets its own connection,
// the server port seen by each command is the check's, and a closed port is
// an error of its checks alone.
func TestPerCheckPort(t *testing.T) {
	main := sshd.Start(t, sshd.Options{Host: "127.0.0.2", Password: password})
	alt := sshd.Start(t, sshd.Options{Host: "127.0.0.2", Password: password, Port: 2222})
	closed := testenv.FreePort(t, "127.0.0.2")
	creds := probe.Credentials{User: "root", Password: secret.New(password)}
	serverPort := `set -- $SSH_CONNECTION; echo $4`
	portReq := func(id string, port int) probe.Request {
		return probe.Request{ID: id, Params: &ssh.Params{Command: serverPort, Port: port}}
	}
	tests := []struct {
		name  string
		reqs  []probe.Request
		want  []obsCheck
		fails bool // Run's own error: nothing observed
	}{
		{"the machine's port", []probe.Request{portReq("a", 0)},
			[]obsCheck{{id: "a", stdout: strconv.Itoa(main.Port)}}, false},
		{"a check's port", []probe.Request{portReq("b", 2222)},
			[]obsCheck{{id: "b", stdout: "2222"}}, false},
		{"both, in request order", []probe.Request{portReq("b", 2222), portReq("a", 0), portReq("c", 2222)},
			[]obsCheck{{id: "b", stdout: "2222"}, {id: "a", stdout: strconv.Itoa(main.Port)}, {id: "c", stdout: "2222"}}, false},
		{"a closed port errs alone", []probe.Request{portReq("a", 0), portReq("x", closed)},
			[]obsCheck{{id: "a", stdout: strconv.Itoa(main.Port)}, {id: "x", errSub: "connection refused"}}, false},
		{"only a closed port", []probe.Request{portReq("x", closed)},
			[]obsCheck{{id: "x", errSub: "127.0.0.2:" + strconv.Itoa(closed)}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := target(main, creds)
			obs, err := ssh.New().Run(context.Background(), tg, tc.reqs)
			if (err != nil) != tc.fails {
				t.Fatalf("Run error = %v, want error %v", err, tc.fails)
			}
			checkObs(t, obs, tc.want)
		})
	}
	_ = alt
}
