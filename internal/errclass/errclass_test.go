package errclass_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/yamlx"
)

func TestOf(t *testing.T) {
	diags := yamlx.Diagnostics{{Pos: yamlx.Pos{File: "lab.yaml", Line: 3, Column: 5}, Message: "unknown field"}}
	tests := []struct {
		name string
		err  error
		want errclass.Class
	}{
		{"plain error: infrastructure", errors.New("libvirt: connection refused"), errclass.Infra},
		{"usage", errclass.Usagef("--session is required"), errclass.Usage},
		{"not found, wrapped further", fmt.Errorf("report: %w", errclass.NotFoundf("no candidate %q", "c09")), errclass.NotFound},
		{"bad input", errclass.BadInputf("roster.csv:2: no id"), errclass.BadInput},
		{"file diagnostics are bad input", fmt.Errorf("load: %w", diags), errclass.BadInput},
		{"the first class given stays", errclass.Wrap(errclass.Usage, errclass.NotFoundf("x")), errclass.NotFound},
		{"silent verdict", errclass.Silent(errclass.Failed), errclass.Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errclass.Of(tt.err); got != tt.want {
				t.Errorf("Of(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if errclass.Wrap(errclass.Usage, nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
	if !errclass.IsSilent(errclass.Silent(errclass.Infra)) || errclass.IsSilent(errclass.Usagef("x")) {
		t.Error("IsSilent")
	}
	if err := errclass.Wrap(errclass.Usage, diags); !errors.As(err, new(yamlx.Diagnostics)) || err.Error() != diags.Error() {
		t.Errorf("Wrap hides the wrapped error: %v", err)
	}
}
