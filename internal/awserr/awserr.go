// Package awserr is lambada's catalogue of AWS Lambda errors: each error code
// with its HTTP status, the casing of its message member and whether it is
// the caller's or the service's fault. It knows nothing of net/http; the api
// package renders an *Error into the AWS wire shape.
package awserr

import (
	"errors"
	"fmt"
)

// Kind says who is at fault, written as the body's "Type" member.
type Kind string

const (
	User    Kind = "User"
	Service Kind = "Service"
)

// Spec is one catalogue row.
type Spec struct {
	Code   string
	Status int
	// MessageKey is the JSON member holding the message: "message" or "Message".
	MessageKey string
	// Unmodeled codes are not in the Lambda service model: AWS sends only
	// {"message": ...} for them, without "Type".
	Unmodeled bool
}

// Error is an AWS-shaped error ready to be rendered.
type Error struct {
	Spec
	Message string
	// Reason is TooManyRequestsException's extra member.
	Reason string
	// RetryAfterSeconds, when > 0, becomes the Retry-After header.
	RetryAfterSeconds int
	// Extra holds further body members some exceptions carry (EC2ErrorCode …).
	Extra map[string]string
	// cause is an internal error kept for logs; it is never sent to the client.
	cause error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.cause }

// Kind reports "User" for 4xx and "Service" for 5xx.
func (e *Error) Kind() Kind {
	if e.Status >= 500 {
		return Service
	}
	return User
}

// Body returns the JSON members of the error body.
func (e *Error) Body() map[string]any {
	b := map[string]any{}
	if e.Code == AccessDenied {
		return b // AWS sends no message for AccessDeniedException
	}
	if !e.Unmodeled {
		b["Type"] = string(e.Kind())
	}
	b[e.MessageKey] = e.Message
	if e.Reason != "" {
		b["Reason"] = e.Reason
	}
	for k, v := range e.Extra {
		b[k] = v
	}
	return b
}

// New returns an error with the catalogue's status and message casing for
// code. An unknown code is a programming error and becomes a ServiceException
// so that the client still gets a well-formed answer.
func New(code, msg string) *Error {
	s, ok := catalogue[code]
	if !ok {
		return &Error{Spec: catalogue[ServiceException], Message: "unknown error code " + code + ": " + msg}
	}
	return &Error{Spec: s, Message: msg}
}

// Newf is New with a format.
func Newf(code, format string, args ...any) *Error {
	return New(code, fmt.Sprintf(format, args...))
}

// Internal wraps an unexpected failure of lambada itself as a 500
// ServiceException; the cause stays in logs only.
func Internal(cause error) *Error {
	e := New(ServiceException, "An internal error occurred. Check the lambada server log for details.")
	e.cause = cause
	return e
}

// As returns err as an *Error: itself when it already is one (anywhere in
// its chain), else an internal ServiceException wrapping it.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// Is reports whether err is an AWS error with the given code.
func Is(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// CloudWatch Logs codes (docs/behaviour/logs.md §4.6) besides the shared
// ResourceNotFound, Validation and UnknownOperation.
const (
	LogsInvalidParameter      = "InvalidParameterException"
	LogsResourceAlreadyExists = "ResourceAlreadyExistsException"
	LogsSerialization         = "SerializationException"
)

// Logs returns a CloudWatch Logs client error: the JSON 1.1 protocol
// answers every one of them with 400 and {"__type", "message"}.
func Logs(code, msg string) *Error {
	return &Error{Spec: Spec{Code: code, Status: 400, MessageKey: "message", Unmodeled: true}, Message: msg}
}
