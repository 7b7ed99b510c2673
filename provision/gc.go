package provision

import (
	"context"
	"errors"
	"fmt"
)

// Orphans are one provider's resources whose session is gone.
type Orphans struct {
	Provider  Provider
	Resources []Resource
}

// FindOrphans asks every provider for the resources of sessions not in keep
// (`tailab gc` looks at every configured provider). A provider that fails is
// in the error; the others are still asked.
func FindOrphans(ctx context.Context, ps []Provider, keep map[string]bool) ([]Orphans, error) {
	var out []Orphans
	var errs []error
	for _, p := range ps {
		rs, err := p.Orphans(ctx, keep)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Name(), err))
		} else if len(rs) > 0 {
			out = append(out, Orphans{p, rs})
		}
	}
	return out, errors.Join(errs...)
}

// RemoveAllOrphans removes what FindOrphans found, provider by provider.
func RemoveAllOrphans(ctx context.Context, found []Orphans) error {
	var errs []error
	for _, o := range found {
		if err := o.Provider.RemoveOrphans(ctx, o.Resources); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.Provider.Name(), err))
		}
	}
	return errors.Join(errs...)
}
