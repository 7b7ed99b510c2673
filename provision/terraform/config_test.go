package terraform

import (
	"strings"
	"testing"
	"time"
)

// TestConfigSet: every setting parses from its text; bad values say what is
// wanted; the token never prints with the config.
func TestConfigSet(t *testing.T) {
	tests := []struct{ key, value, err string }{
		{"address", "https://tfe.example.fr", ""},
		{"token", "s3cr3t-token", ""},
		{"auto-apply", "1", ""},
		{"auto-apply", "yes", `"yes": want 1 or 0`},
		{"parallel", "4", ""},
		{"parallel", "0", `"0": want a positive number`},
		{"stuck-after", "20m", ""},
		{"retry-for", "soon", `"soon": want a duration`},
		{"colour", "blue", `unknown setting "colour"`},
	}
	var c Config
	for _, tt := range tests {
		err := c.Set(tt.key, tt.value)
		if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Set(%s, %s) = %v, want %q", tt.key, tt.value, err, tt.err)
		}
	}
	if c.Address != "https://tfe.example.fr" || !c.AutoApply || c.Parallel != 4 || c.StuckAfter != 20*time.Minute || c.Token.Reveal() != "s3cr3t-token" {
		t.Errorf("config %+v", c)
	}
	for _, st := range Settings {
		if err := (&Config{}).Set(st.Key, "1"); err != nil && strings.Contains(err.Error(), "unknown setting") {
			t.Errorf("%s: %v", st.Env, err)
		}
	}
}
