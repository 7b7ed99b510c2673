package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/tailab/tailab/checks"
)

// EvidenceFormat names the version of the evidence bundle definition; it is part
// of the bundle, so a future definition can never produce a colliding digest.
const EvidenceFormat = "tailab-evidence/1"

// evidenceBundle is what EvidenceDigest hashes: one candidate's results (with
// evidence, expectations, points, timings: every field of the report's JSON
// schema) and who and what they are about. docs/dashboard.md defines it.
type evidenceBundle struct {
	Format      string            `json:"format"`
	Session     string            `json:"session"`
	Lab         string            `json:"lab"`
	Referential string            `json:"referential"`
	Candidate   evidenceCandidate `json:"candidate"`
	Results     []checks.Result   `json:"results"`
}

type evidenceCandidate struct {
	ID        string `json:"id"`
	LastName  string `json:"last_name,omitempty"`
	FirstName string `json:"first_name,omitempty"`
}

// EvidenceBundle returns the canonical JSON bytes of a candidate's evidence
// bundle (see EvidenceDigest); false when the report has no such candidate.
func EvidenceBundle(rep *checks.Report, candidate string) ([]byte, bool, error) {
	r, err := sorted(rep)
	if err != nil {
		return nil, false, err
	}
	for _, c := range r.Candidates {
		if c.ID != candidate {
			continue
		}
		b := evidenceBundle{
			Format: EvidenceFormat, Session: r.Session, Lab: r.Lab, Referential: r.Referential,
			Candidate: evidenceCandidate{ID: c.ID, LastName: c.LastName, FirstName: c.FirstName},
			Results:   c.Results,
		}
		data, err := canonicalJSON(b)
		if err != nil {
			return nil, true, fmt.Errorf("evidence bundle of %q: %w", candidate, err)
		}
		return data, true, nil
	}
	return nil, false, nil
}

// EvidenceDigest is the SHA-256 (lower-case hex) of a candidate's evidence
// bundle: the JSON object
//
//	{"format": "tailab-evidence/1", "session", "lab", "referential",
//	 "candidate": {"id", "last_name", "first_name"}, "results": [...]}
//
// where results are the candidate's results exactly as in the JSON report (same
// fields, same omissions, sorted by competence then check id in natural order),
// serialised canonically (RFC 8785 JSON Canonicalization Scheme: object keys
// sorted, no whitespace, minimal string escapes, shortest numbers). The same
// stored report always gives the same digest; any change to a verdict, a point,
// a message, a piece of evidence or a timing changes it.
func EvidenceDigest(rep *checks.Report, candidate string) (string, error) {
	data, ok, err := EvidenceBundle(rep, candidate)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("evidence digest: no candidate %q in the report", candidate)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// canonicalJSON encodes v with encoding/json, then re-serialises the document
// per RFC 8785 (JCS).
func canonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeCanonical(&buf, doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeCanonical(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case string:
		writeCanonicalString(buf, x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return fmt.Errorf("number %s: %w", x, err)
		}
		s, err := canonicalNumber(f)
		if err != nil {
			return err
		}
		buf.WriteString(s)
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeCanonical(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		// JCS sorts by UTF-16 code units; schema keys are ASCII, where that is
		// byte order.
		sort.Strings(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeCanonicalString(buf, k)
			buf.WriteByte(':')
			if err := writeCanonical(buf, x[k]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		return fmt.Errorf("unexpected JSON value %T", v)
	}
	return nil
}

// writeCanonicalString escapes only what JSON requires: '"', '\\' and control
// characters below U+0020 (\b \t \n \f \r, others as \u00xx).
func writeCanonicalString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			buf.WriteString(`\"`)
		case r == '\\':
			buf.WriteString(`\\`)
		case r == '\b':
			buf.WriteString(`\b`)
		case r == '\t':
			buf.WriteString(`\t`)
		case r == '\n':
			buf.WriteString(`\n`)
		case r == '\f':
			buf.WriteString(`\f`)
		case r == '\r':
			buf.WriteString(`\r`)
		case r < 0x20:
			fmt.Fprintf(buf, `\u%04x`, r)
		default:
			buf.WriteRune(r) // invalid UTF-8 was already replaced by encoding/json
		}
	}
	buf.WriteByte('"')
}

// canonicalNumber formats a float as ECMAScript's Number.prototype.toString does
// (what RFC 8785 requires): integers without a fraction, no exponent between
// 1e-6 and 1e21, shortest round-trip digits.
func canonicalNumber(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("number %v has no JSON form", f)
	}
	if f == 0 {
		return "0", nil
	}
	if a := math.Abs(f); a >= 1e21 || a < 1e-6 {
		s := strconv.FormatFloat(f, 'e', -1, 64) // 1e+21, 1e-07
		mant, exp, _ := bytes.Cut([]byte(s), []byte("e"))
		sign := exp[0]
		digits := bytes.TrimLeft(exp[1:], "0")
		return string(mant) + "e" + string(sign) + string(digits), nil
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}
