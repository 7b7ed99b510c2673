package winrm

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// entry is one check's result in the document the program prints.
type entry struct {
	OK        bool            `json:"ok"`
	Value     json.RawMessage `json:"value"`
	Error     string          `json:"error"`
	ErrorType string          `json:"error_type"`
	Timeout   bool            `json:"timeout"`
	Internal  bool            `json:"internal"`
}

// extractDocument finds the result document between the run's markers and
// decodes it, keyed by check id. Whatever else stdout holds is returned as noise.
func extractDocument(stdout []byte, nonce string) (map[string]json.RawMessage, string, error) {
	begin, end := Markers(nonce)
	i := bytes.Index(stdout, []byte(begin))
	if i < 0 {
		return nil, string(stdout), errors.New("the program printed no result document")
	}
	rest := stdout[i+len(begin):]
	j := bytes.LastIndex(rest, []byte(end))
	if j < 0 {
		return nil, string(stdout), errors.New("the result document is truncated (no end marker)")
	}
	noise := strings.TrimSpace(string(stdout[:i]) + string(rest[j+len(end):]))
	doc := bytes.TrimSpace(rest[:j])
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, noise, fmt.Errorf("the result document is not JSON: %w", err)
	}
	return m, noise, nil
}

// decodeValue turns a check's JSON value into Go values for matchers: objects
// become map[string]any, arrays []any, integers int64, other numbers float64,
// and Windows PowerShell's "/Date(ms)/" strings RFC 3339 UTC times.
func decodeValue(raw json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return normalize(v), nil
}

var msDate = regexp.MustCompile(`^/Date\((-?\d+)([+-]\d{4})?\)/$`)

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case string:
		if m := msDate.FindStringSubmatch(x); m != nil {
			ms, _ := strconv.ParseInt(m[1], 10, 64)
			return time.UnixMilli(ms).UTC().Format(time.RFC3339)
		}
		return x
	}
	return v
}

// reserved are the value names the probe sets itself; an object's keys of the
// same name stay reachable under value.
var reserved = map[string]bool{"ok": true, "error": true, "value": true, "error_type": true}

// values builds an observation's Values from a successful check's value.
func values(v any) map[string]any {
	out := map[string]any{"ok": true, "value": v}
	if obj, ok := v.(map[string]any); ok {
		for k, e := range obj {
			if !reserved[k] {
				out[k] = e
			}
		}
	}
	return out
}

// DecodeCLIXML turns what powershell.exe writes to a redirected stderr
// ("#< CLIXML" followed by serialized records) into readable text: the error
// and warning strings, with _xHHHH_ escapes decoded and CR LF turned into LF;
// progress records are dropped. Text that is not CLIXML is returned unchanged.
func DecodeCLIXML(s string) string {
	if !strings.Contains(s, "#< CLIXML") {
		return s
	}
	var out strings.Builder
	for _, part := range strings.Split(s, "#< CLIXML") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.HasPrefix(part, "<Objs") {
			out.WriteString(part)
			continue
		}
		dec := xml.NewDecoder(strings.NewReader(part))
		var stream string
		var text strings.Builder
		depth := 0
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			switch t := tok.(type) {
			case xml.StartElement:
				depth++
				if t.Name.Local == "S" && depth == 2 {
					stream = ""
					for _, a := range t.Attr {
						if a.Name.Local == "S" {
							stream = a.Value
						}
					}
					text.Reset()
				}
			case xml.CharData:
				if depth == 2 && stream != "" {
					text.Write(t)
				}
			case xml.EndElement:
				if t.Name.Local == "S" && depth == 2 && stream != "" {
					line := unescapeCLIXML(text.String())
					switch strings.ToLower(stream) {
					case "error":
						out.WriteString(line)
					case "warning":
						out.WriteString("WARNING: " + line)
					case "verbose", "debug", "information":
						out.WriteString(strings.ToUpper(stream) + ": " + line)
					}
					stream = ""
				}
				depth--
			}
		}
	}
	return strings.TrimSpace(strings.ReplaceAll(out.String(), "\r\n", "\n"))
}

var clixmlEscape = regexp.MustCompile(`_x([0-9A-Fa-f]{4})_`)

func unescapeCLIXML(s string) string {
	return clixmlEscape.ReplaceAllStringFunc(s, func(m string) string {
		n, err := strconv.ParseUint(m[2:6], 16, 16)
		if err != nil {
			return m
		}
		return string(rune(n))
	})
}

// jsonUnmarshal decodes a result entry.
var jsonUnmarshal = json.Unmarshal
