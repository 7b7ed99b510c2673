package tlspin

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"0a1B":                 "0a1b",
		"sha256:0A:1B":         "0a1b",
		" SHA256:0a 1b ":       "0a1b",
		"":                     "",
		"0a:1b:2c:3d:4e:5f:60": "0a1b2c3d4e5f60",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShort(t *testing.T) {
	for in, want := range map[string]string{
		"AB:CD":                 "sha256:abcd",
		strings.Repeat("f", 64): "sha256:ffffffffffffffff…",
	} {
		if got := Short(in); got != want {
			t.Errorf("Short(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	// sha256("") — the empty input's well-known digest.
	const want = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got := Fingerprint(nil); got != want {
		t.Errorf("Fingerprint(nil) = %s, want %s", got, want)
	}
}
