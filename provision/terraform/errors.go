package terraform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

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

// call runs one go-tfe request (f) that changes something and turns its
// failure into an APIError with a clear message for 401, 403, 404, 409, 422,
// 429 and 5xx. A refused connection (a server restarting) is retried: the
// request never reached the server. Anything else is not: the server may
// have acted on it (a second POST /runs would be a second run).
func (p *Provider) call(ctx context.Context, what string, f func(ctx context.Context) error) error {
	return p.retry(ctx, what, f, func(status int, err error) bool { return status == 0 && refused(err) })
}

// read is call for a request that changes nothing: server errors (5xx) and
// every connection error are retried too.
func (p *Provider) read(ctx context.Context, what string, f func(ctx context.Context) error) error {
	return p.retry(ctx, what, f, func(status int, err error) bool {
		return status >= 500 || status == 0 && errors.As(err, new(*url.Error))
	})
}

// retry runs f until it succeeds, fails in a way again says is not worth
// retrying, or RetryFor has passed since the first failure; the wait between
// tries doubles from 100ms up to 5s. go-tfe retries 429s by itself.
func (p *Provider) retry(ctx context.Context, what string, f func(ctx context.Context) error, again func(status int, err error) bool) error {
	var first time.Time
	wait := 100 * time.Millisecond
	for {
		status := 0
		err := f(tfe.ContextWithResponseHeaderHook(ctx, func(s int, _ http.Header) { status = s }))
		if err == nil {
			return nil
		}
		if first.IsZero() {
			first = time.Now()
		}
		retryable := again(status, err)
		if ctx.Err() != nil || !retryable || time.Since(first)+wait > p.cfg.RetryFor {
			if retryable && ctx.Err() == nil {
				what += fmt.Sprintf(" (still failing after %s of retries)", time.Since(first).Round(time.Millisecond))
			}
			return p.explain(what, status, err)
		}
		p.unreachable.Add(1)
		if err := sleep(ctx, wait); err != nil {
			return p.explain(what, 0, err)
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// lostAnswer reports whether a request failed for want of an answer (the
// connection broke, or was refused): whether the server acted on it is
// unknown, and only reading back tells.
func lostAnswer(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == 0 && errors.As(err, new(*url.Error))
}

// refused reports whether err is a connection the server refused (or reset
// before it could answer a dial), so the request was never received.
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
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
		e.Hint = "conflict: the workspace is locked or busy, or its run moved on meanwhile; wait for its run to finish, then run tailab again"
	case status == http.StatusUnprocessableEntity:
		e.Hint = "TFE rejected the request as invalid"
	case status == http.StatusTooManyRequests:
		e.Hint = "rate limited by TFE even after go-tfe's retries: lower --parallel (or TAILAB_TF_PARALLEL) and run tailab again"
	case status >= 500:
		e.Hint = "TFE server error: try again later; `tailab up` resumes where it stopped"
	case status == 0 && refused(err):
		e.Hint = fmt.Sprintf("%s refused the connection: the server is down or restarting (check TFE_ADDRESS); `tailab up` resumes where it stopped", p.cfg.Address)
	case status == 0 && errors.As(err, new(*url.Error)):
		e.Hint = fmt.Sprintf("no answer from %s: check TFE_ADDRESS and the network", p.cfg.Address)
	}
	return e
}
