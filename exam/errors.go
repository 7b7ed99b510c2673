package exam

import (
	"errors"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// Classify gives the errors of the packages below exam their class: an
// unknown session or grading is NotFound, an action the session's provider
// does not support a usage error; anything else keeps its class (see
// errclass.Of).
func Classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, provision.ErrNoSession), errors.Is(err, results.ErrNoGrading):
		return errclass.Wrap(errclass.NotFound, err)
	case errors.Is(err, provision.ErrUnsupported):
		return errclass.Wrap(errclass.Usage, err)
	}
	return err
}

// OpenSession opens a data dir's state and one of its sessions, and checks
// that the candidates given are the session's (NotFound otherwise).
func OpenSession(dataDir, name string, candidates ...string) (*provision.State, *provision.Session, error) {
	st, err := provision.OpenState(dataDir)
	if err != nil {
		return nil, nil, err
	}
	sess, err := st.Session(name)
	if err != nil {
		return nil, nil, Classify(err)
	}
	for _, c := range candidates {
		if _, ok := sess.Candidate(c); !ok {
			return nil, nil, errclass.NotFoundf("session %q has no candidate %q", name, c)
		}
	}
	return st, sess, nil
}
