package checks

import (
	"os"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/dns"
	"github.com/tailab/tailab/checks/probe/ldap"
	"github.com/tailab/tailab/checks/probe/tcp"
	"github.com/tailab/tailab/checks/probe/winrm"
)

// TestDocsExample loads the example of docs/suites.md with the real probes, so the
// documentation cannot drift from the format.
func TestDocsExample(t *testing.T) {
	data, err := os.ReadFile("../docs/suites.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	_, rest, ok := strings.Cut(doc, "<!-- example-suite")
	if !ok {
		t.Fatal("no example-suite marker in docs/suites.md")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("example not closed")
	}
	reg := probe.NewRegistry(tcp.New(), ldap.New(), winrm.New(), dns.New())
	s, err := LoadSuite("docs/suites.md", []byte(example), reg, nil)
	if err != nil {
		t.Fatalf("example suite:\n%v", err)
	}
	if len(s.Checks) != 7 || len(s.Jury) != 2 {
		t.Fatalf("example: %d checks, %d jury items", len(s.Checks), len(s.Jury))
	}
	if c := s.Checks[5]; c.Probe != "dns" || c.Vantage() != "dc" || !c.Templated() {
		t.Errorf("dns check = %+v", c)
	}
	if c := s.Checks[6]; c.Probe != "winrm" || c.Vantage() != "pc1" || c.Machine != "dc" {
		t.Errorf("dns-from-client check = %+v", c)
	}
	// The nested form's parameters are reported under probe.<type>.
	bad := strings.Replace(example, "type: A\n", "type: A\n        nme: x\n", 1)
	_, err = LoadSuite("docs/suites.md", []byte(bad), reg, nil)
	if err == nil || !strings.Contains(err.Error(), `checks[5].probe.dns.nme: unknown field (did you mean "name"?)`) {
		t.Errorf("nested form diagnostics: %v", err)
	}
}
