package scenario

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tailab/tailab/labs"
)

// Present runs the fault's presence script (labs.Fault.Present) on its
// machine: true while the script exits 0 (the fault is there), false when it
// exits non-zero (repaired). An error says the machine could not be asked: the
// presence is then unknown, never taken for a repair. A fault without a
// presence script is an error too: nothing can tell.
func (r *Runner) Present(ctx context.Context, f labs.Fault) (bool, error) {
	if strings.TrimSpace(f.Present) == "" {
		return false, fmt.Errorf("fault %s: no presence script (present:)", f.Name)
	}
	a := f.Action
	a.Name = f.Name + "-present"
	a.Run = f.Present
	_, err := r.ApplyStep(ctx, labs.Step{Action: a})
	var exit *ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit):
		return false, nil
	}
	return false, fmt.Errorf("fault %s: read presence: %w", f.Name, err)
}
