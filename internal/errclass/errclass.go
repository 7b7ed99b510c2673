// Package errclass classifies errors where they arise — bad input, a usage
// mistake, something that does not exist, the infrastructure, checks that
// failed — so that the command maps each class to its exit code once
// (cmd/tailab's main) instead of every call site picking a number.
//
// A library wraps an error with its class (Usage, BadInput, NotFound,
// Failed); anything unclassified is infrastructure. yamlx.Diagnostics (a
// lab, suite or roster file with mistakes) is bad input wherever it comes
// from.
package errclass

import (
	"errors"
	"fmt"

	"github.com/tailab/tailab/internal/yamlx"
)

// Class is what went wrong, as the operator acts on it.
type Class int

// The classes, from the most to the least specific exit status.
const (
	// Infra: the infrastructure failed (libvirt, the store, a machine that
	// could not be observed); the default.
	Infra Class = iota
	// Failed: the work was done and some checks failed (a verdict, not an error).
	Failed
	// Usage: the command was called wrongly (flags, arguments).
	Usage
	// NotFound: no such session, candidate, machine or grading.
	NotFound
	// BadInput: an invalid lab, suite or roster file, or a value in it.
	BadInput
)

// Error is an error with its class.
type Error struct {
	Class Class
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Wrap gives err a class (nil stays nil). An error already classified keeps
// the class it was given where it arose.
func Wrap(c Class, err error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	return &Error{Class: c, Err: err}
}

// Usagef is a usage error.
func Usagef(format string, args ...any) error {
	return &Error{Class: Usage, Err: fmt.Errorf(format, args...)}
}

// BadInputf is a bad-input error.
func BadInputf(format string, args ...any) error {
	return &Error{Class: BadInput, Err: fmt.Errorf(format, args...)}
}

// NotFoundf is a not-found error.
func NotFoundf(format string, args ...any) error {
	return &Error{Class: NotFound, Err: fmt.Errorf(format, args...)}
}

// Silent is an error with a class and no message: the verdict was already
// printed (a report with failed checks).
func Silent(c Class) error { return &Error{Class: c, Err: errSilent} }

var errSilent = errors.New("")

// IsSilent reports whether err carries no message to print.
func IsSilent(err error) bool { return errors.Is(err, errSilent) }

// ExitStatus is a remote command's exit status that tailab passes on as its
// own (`tailab ssh`): the command already printed what it had to.
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Of is the class of err: the one it was given, BadInput for file
// diagnostics, else Infra.
func Of(err error) Class {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Class
	}
	var diags yamlx.Diagnostics
	if errors.As(err, &diags) {
		return BadInput
	}
	return Infra
}
