// Package secret keeps passwords, keys and tokens out of logs, reports and evidence.
//
// A Value prints as "****" through every fmt verb, JSON, YAML and slog; only
// Reveal gives the clear text, at the one place that hands it to a protocol. A Masker scrubs known secret
// values out of free text (command output, protocol transcripts) before it is stored
// as evidence.
package secret

import (
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
)

// Mask is what a secret looks like wherever it is shown.
const Mask = "****"

// Value is a secret string. Its zero value is the empty secret.
//
// The text sits behind a pointer: where fmt prints a value without calling
// its methods (a verb that does not fit, such as %p, or %d on a struct that
// holds a Value), it shows an address, never the text.
type Value struct{ p *string }

// New wraps clear text as a secret.
func New(s string) Value {
	if s == "" {
		return Value{}
	}
	return Value{p: &s}
}

// Reveal returns the clear text. Call it only to hand the secret to a protocol.
func (v Value) Reveal() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

// IsZero reports whether the secret is empty.
func (v Value) IsZero() bool { return v.p == nil }

// String masks the secret.
func (v Value) String() string {
	if v.p == nil {
		return ""
	}
	return Mask
}

// GoString masks the secret under %#v.
func (v Value) GoString() string { return `secret.Value("` + v.String() + `")` }

// Format masks the secret under every verb: fmt calls String only for the
// string verbs (%v %s %q %x %X), and %d or %t would otherwise print the
// value's fields.
func (v Value) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, v.GoString())
		return
	}
	switch verb {
	case 'v', 's', 'q', 'x', 'X':
	default:
		verb = 's'
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), v.String())
}

// MarshalText masks the secret in JSON, YAML and any text encoding.
func (v Value) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// LogValue masks the secret in slog records, whatever the handler.
func (v Value) LogValue() slog.Value { return slog.StringValue(v.String()) }

// Masker replaces registered secret values in text. It is safe for concurrent use.
type Masker struct {
	mu     sync.RWMutex
	values []string
}

// Add registers secret values to be masked; empty and very short values (under 3
// characters, which would mask ordinary text) are ignored.
func (m *Masker) Add(values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range values {
		if len(v) >= 3 {
			m.values = append(m.values, v)
		}
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(m.values, func(i, j int) bool { return len(m.values[i]) > len(m.values[j]) })
}

// Mask returns text with every registered secret replaced by Mask.
func (m *Masker) Mask(text string) string {
	if m == nil {
		return text
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, v := range m.values {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Mask)
		}
	}
	return text
}
