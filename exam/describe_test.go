package exam

import (
	"strings"
	"testing"

	"github.com/tailab/tailab/labs"
)

func TestDescribeLab(t *testing.T) {
	lab, err := labs.LoadBuiltin("tpe-local")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := DescribeLab(&b, lab); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Lab tpe-local — ",
		"  domain           picked per candidate from [",
		"  server_ip        = 10.20.0.10",
		"  pc1   client  container  linux  1     64MiB   lan=10.20.0.21",
		"Topology (each candidate gets their own copy):",
		"    ├── pc1 (10.20.0.21)",
		"  [management] grader ── every machine (isolated ports)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in:\n%s", want, b.String())
		}
	}
}
