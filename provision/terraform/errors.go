package terraform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	tfe "github.com/hashicorp/go-tfe"
)

// APIError is a TFE request that failed, with the HTTP status when there was
// one and a message that says what to do about it.
type APIError struct {
	What   string // what tailab was doing, e.g. `create workspace "tl-s1_c01"`
	Status int    // HTTP status, 0 when no response came back
	Hint   string
	Err    error
}

func (e *APIError) Error() string {
	msg := e.What + ": "
	if e.Status != 0 {
		msg += fmt.Sprintf("HTTP %d: ", e.Status)
	}
	msg += strings.Join(strings.Fields(strings.ReplaceAll(e.Err.Error(), "\n\n", ": ")), " ")
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

func (e *APIError) Unwrap() error { return e.Err }

// call runs one go-tfe request (f) and turns its failure into an APIError
// with a clear message for 401, 403, 404, 409, 422, 429 and 5xx.
func (p *Provider) call(ctx context.Context, what string, f func(ctx context.Context) error) error {
	status := 0
	ctx = tfe.ContextWithResponseHeaderHook(ctx, func(s int, _ http.Header) { status = s })
	err := f(ctx)
	if err == nil {
		return nil
	}
	return p.explain(what, status, err)
}

func (p *Provider) explain(what string, status int, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: interrupted: %w (run `tailab up` again to resume, or `tailab down` to remove)", what, err)
	}
	e := &APIError{What: what, Status: status, Err: scrub(err, p.cfg.Token)}
	switch {
	case status == http.StatusUnauthorized || errors.Is(err, tfe.ErrUnauthorized):
		e.Status = http.StatusUnauthorized
		e.Hint = fmt.Sprintf("the API token was refused by %s: check TFE_TOKEN (a user or team token of organization %q, not expired)", p.cfg.Address, p.cfg.Organization)
	case status == http.StatusForbidden:
		e.Hint = "the token is valid but lacks the permission: it needs to manage workspaces and queue runs in the project"
	case status == http.StatusNotFound || errors.Is(err, tfe.ErrResourceNotFound):
		e.Status = http.StatusNotFound
		e.Hint = fmt.Sprintf("not found: check TFE_ORGANIZATION=%q and TFE_PROJECT=%q; TFE also answers 404 for what the token may not see", p.cfg.Organization, p.cfg.Project)
	case status == http.StatusConflict:
		e.Hint = "conflict: the workspace is locked or busy; wait for its run to finish, then run tailab again"
	case status == http.StatusUnprocessableEntity:
		e.Hint = "TFE rejected the request as invalid"
	case status == http.StatusTooManyRequests:
		e.Hint = "rate limited by TFE even after go-tfe's retries: lower --parallel (or TAILAB_TF_PARALLEL) and run tailab again"
	case status >= 500:
		e.Hint = "TFE server error: try again later; `tailab up` resumes where it stopped"
	case status == 0 && errors.As(err, new(*url.Error)):
		e.Hint = fmt.Sprintf("no answer from %s: check TFE_ADDRESS and the network", p.cfg.Address)
	}
	return e
}
