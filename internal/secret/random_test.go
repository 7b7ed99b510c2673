package secret

import (
	"strings"
	"testing"
)

func TestRandomLengthAndAlphabet(t *testing.T) {
	for _, tc := range []struct {
		n   int
		set string
	}{
		{0, Unambiguous}, {1, Unambiguous}, {8, Unambiguous}, {64, Unambiguous}, {5, "x"}, {32, "01"},
	} {
		got, err := Random(tc.n, tc.set)
		if err != nil {
			t.Fatalf("Random(%d, %q): %v", tc.n, tc.set, err)
		}
		if len(got) != tc.n {
			t.Errorf("Random(%d, %q) = %q: %d characters", tc.n, tc.set, got, len(got))
		}
		for _, c := range got {
			if !strings.ContainsRune(tc.set, c) {
				t.Errorf("Random(%d, %q) = %q: %q is not in the set", tc.n, tc.set, got, c)
			}
		}
	}
	for _, bad := range []struct {
		n   int
		set string
	}{{-1, Unambiguous}, {8, ""}} {
		if got, err := Random(bad.n, bad.set); err == nil {
			t.Errorf("Random(%d, %q) = %q, want an error", bad.n, bad.set, got)
		}
	}
}

// TestRandomUniform draws 57,000 characters of Unambiguous (1,000 expected
// each, σ ≈ 31): every one appears between 800 and 1,200 times — a bias of
// crypto/rand's sampling or an off-by-one that drops the last character
// would show; chance alone misses by 6σ (never, in practice).
func TestRandomUniform(t *testing.T) {
	s, err := Random(1000*len(Unambiguous), Unambiguous)
	if err != nil {
		t.Fatal(err)
	}
	count := map[rune]int{}
	for _, c := range s {
		count[c]++
	}
	for _, c := range Unambiguous {
		if n := count[c]; n < 800 || n > 1200 {
			t.Errorf("%q drawn %d times of %d, want ~1000", c, n, len(s))
		}
	}
}

// TestUnambiguousAlphabet: what a candidate copies from paper has no
// look-alikes and no character twice.
func TestUnambiguousAlphabet(t *testing.T) {
	if strings.ContainsAny(Unambiguous, "0O1lI") {
		t.Errorf("Unambiguous holds a look-alike: %q", Unambiguous)
	}
	seen := map[rune]bool{}
	for _, c := range Unambiguous {
		if seen[c] {
			t.Errorf("%q twice in Unambiguous", c)
		}
		seen[c] = true
	}
	if len(Unambiguous) != 57 {
		t.Errorf("Unambiguous has %d characters, want 57 (A-Z a-z 2-9 without O I l)", len(Unambiguous))
	}
}
