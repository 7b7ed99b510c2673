package grade_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/tailab/tailab/grade"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sshd"
)

// The example grades a real OpenSSH server it starts (exampleServer), in the
// test's private network namespace: that needs root. Elsewhere than in CI
// without root, the example is left out (as testenv.Unavailable skips); in
// CI it must run.
func TestMain(m *testing.M) {
	if os.Geteuid() != 0 && !testenv.InCI() {
		fmt.Fprintln(os.Stderr, "grade: Example needs root (a real sshd in a network namespace): left out")
		_ = flag.Set("test.run", "^Test")
	}
	testenv.RunInNetns(m)
}

const examplePassword = "Exemple-Passw0rd!"

// exampleServer starts an sshd on 127.0.0.2:2222 that accepts root with
// examplePassword: in real use, a machine of the exam room.
func exampleServer() (*sshd.Server, func()) {
	dir, err := os.MkdirTemp("", "grade-example-")
	if err != nil {
		panic(err)
	}
	srv, err := sshd.Launch(dir, sshd.Options{Host: "127.0.0.2", Port: 2222, Password: examplePassword})
	if err != nil {
		os.RemoveAll(dir)
		panic(err)
	}
	return srv, func() { srv.Stop(); os.RemoveAll(dir) }
}

// A program outside the tailab module grades one candidate's Linux server:
// it loads a suite, describes the machine (address, port, credentials, the
// host key it expects), runs the grader and writes the report.
func Example() {
	srv, stop := exampleServer()
	defer stop()

	suite, err := grade.ParseSuite("salle.yaml", []byte(`
name: salle
referential: tai-2018
checks:
  - id: ssh-2222
    title: Le serveur répond en SSH sur le port 2222
    competence: C2.3
    machine: srv
    probe: {type: ssh, command: "set -- $SSH_CONNECTION; echo $4"}
    expect: {stdout: "2222"}
  - id: motd
    title: Le fichier /etc/tailab-exemple existe
    competence: C2.3
    machine: srv
    probe: {type: ssh, command: "test -f /etc/tailab-exemple"}
    expect: {exit_code: 0}
  - id: port-ferme
    title: Un service sur un port fermé
    competence: C2.3
    machine: srv
    probe: {type: ssh, command: "true", port: 1}
    expect: {exit_code: 0}
`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := grade.Run(context.Background(), []*grade.Suite{suite}, []grade.Candidate{{
		ID: "c01", LastName: "Durand", FirstName: "Paul",
		Machines: map[string]grade.Machine{"srv": {
			Address: srv.Host,
			Ports:   map[string]int{"ssh": srv.Port},
			Credentials: map[string]grade.Credentials{
				"ssh": {User: "root", Password: grade.NewSecret(examplePassword)},
			},
			SSHHostKey: srv.Fingerprint,
		}},
	}}, grade.Options{Session: "exemple", Lab: "salle"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rep.Candidates[0].Results {
		fmt.Println(r.CheckID, r.Status)
	}
	for _, format := range []string{"json", "csv", "junit", "html", "xlsx"} {
		if err := grade.WriteReport(io.Discard, rep, format, nil); err != nil {
			fmt.Println(format, err)
		}
	}
	fmt.Println(grade.NewSecret(examplePassword))
	// Output:
	// ssh-2222 pass
	// motd fail
	// port-ferme error
	// ****
}
