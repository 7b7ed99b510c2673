package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/tailab/tailab/checks"
)

// JSON renders the report in the stable schema documented in docs/report-schema.md:
// checks.Report with schema_version set to checks.ReportSchemaVersion, candidates,
// competences and results sorted, empty lists as [] (never null), two-space
// indentation, characters such as < > & written as is (not \u003c), and a final
// newline. Decode reads it back.
type JSON struct{}

var _ Formatter = (*JSON)(nil)

// Name returns "json".
func (*JSON) Name() string { return "json" }

// Format writes the JSON document to w.
func (*JSON) Format(w io.Writer, rep *checks.Report) error {
	r, err := sorted(rep)
	if err != nil {
		return err
	}
	r.SchemaVersion = checks.ReportSchemaVersion
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("report json: %w", err)
	}
	return nil
}

// Decode reads a report written by the JSON formatter. It refuses a schema_version
// other than checks.ReportSchemaVersion (a report from an incompatible tailab is not
// silently misread) and ignores unknown fields (additions keep the version).
func Decode(rd io.Reader) (*checks.Report, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	var probe struct {
		SchemaVersion *int `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	switch {
	case probe.SchemaVersion == nil:
		return nil, fmt.Errorf("decode report: no schema_version: not a tailab report")
	case *probe.SchemaVersion != checks.ReportSchemaVersion:
		return nil, fmt.Errorf("decode report: schema_version %d not supported (this tailab reads %d)",
			*probe.SchemaVersion, checks.ReportSchemaVersion)
	}
	var r checks.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	return &r, nil
}
