package exam

import (
	"errors"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// Classify gives the errors of the packages below exam their class: an
// unknown session, candidate or grading is NotFound; anything else keeps its
// class (see errclass.Of).
func Classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, provision.ErrNoSession), errors.Is(err, results.ErrNoGrading):
		return errclass.Wrap(errclass.NotFound, err)
	}
	return err
}
