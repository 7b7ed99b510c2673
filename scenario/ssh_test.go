package scenario

import (
	"context"
	"strings"
	"testing"

	xssh "golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sshd"
	"github.com/tailab/tailab/labs"
)

func TestSSHStep(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	_, keyPEM, pub := sshd.NewClientKey(t)
	srv := sshd.Start(t, sshd.Options{Host: "127.0.0.12", AuthorizedKeys: []xssh.PublicKey{pub}})
	m := &secret.Masker{}
	m.Add("Jury-S3cret")
	r := &Runner{Machines: map[string]probe.Target{"srv": {Machine: "srv", Address: srv.Host, Ports: map[string]int{"ssh": srv.Port}, Masker: m,
		Credentials: map[string]probe.Credentials{"ssh": {User: srv.User, PrivateKey: secret.New(keyPEM)}}}}}

	res, err := r.ApplyStep(context.Background(), labs.Step{Action: labs.Action{Name: "dns", Machine: "srv", Run: "set -e\nmot=Jury-S3cret\necho \"somme $((1+1)) $mot\"\necho 'avertissement' >&2\n"}})
	if err != nil || res.ExitCode != 0 || res.Output != "somme 2 "+secret.Mask+"\navertissement" {
		t.Fatalf("res %+v, err %v", res, err)
	}
	res, err = r.ApplyStep(context.Background(), labs.Step{Action: labs.Action{Name: "panne", Machine: "srv", Transport: "ssh", Run: "echo 'service arrêté'\nexit 3\n"}})
	if err == nil || res.ExitCode != 3 || !strings.Contains(err.Error(), "step panne on srv: exit status 3: service arrêté") {
		t.Fatalf("res %+v, err %v", res, err)
	}
}

// TestSSHStepRefusesAnotherHostKey: a step on a machine presenting another host
// key than the one pinned at up does not run; the error names both.
func TestSSHStepRefusesAnotherHostKey(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	_, keyPEM, pub := sshd.NewClientKey(t)
	srv := sshd.Start(t, sshd.Options{Host: "127.0.0.13", AuthorizedKeys: []xssh.PublicKey{pub}})
	const pinned = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	target := func(pin string) *Runner {
		return &Runner{Machines: map[string]probe.Target{"srv": {Machine: "srv", Address: srv.Host, Ports: map[string]int{"ssh": srv.Port},
			Masker: &secret.Masker{}, SSHHostKey: pin,
			Credentials: map[string]probe.Credentials{"ssh": {User: srv.User, PrivateKey: secret.New(keyPEM)}}}}}
	}
	step := labs.Step{Action: labs.Action{Name: "panne", Machine: "srv", Run: "true"}}
	_, err := target(pinned).ApplyStep(context.Background(), step)
	if err == nil || !strings.Contains(err.Error(), "expected "+pinned) || !strings.Contains(err.Error(), "presented "+srv.Fingerprint) {
		t.Fatalf("step on a machine with another host key: %v", err)
	}
	if res, err := target(srv.Fingerprint).ApplyStep(context.Background(), labs.Step{Action: labs.Action{Name: "ok", Machine: "srv", Run: "echo ok"}}); err != nil || res.Output != "ok" {
		t.Fatalf("step on the pinned machine: %+v %v", res, err)
	}
}
