// Package runtimeapi is the Lambda Runtime API (2018-06-01) over HTTP, as pure
// protocol: it turns a runtime's requests into calls on a Bridge and the
// Bridge's answers and errors into the exact status codes, headers and bodies
// runtimes expect (docs/behaviour/runtime-api.md, docs/behaviour/streaming.md §7).
//
// It keeps no invocation state of its own beyond the response size limit of
// the invocation it handed out last. Which invocation is current, whether a
// result is still allowed, what a late answer after a timeout means: all of
// that is the Bridge's (the environment's) decision, reported through the
// sentinel errors below.
//
// A /response body is never buffered here: the Bridge reads it as an
// io.Reader while it arrives, so it can be relayed live to a streaming caller.
package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// Size limits of a runtime's result, in bytes.
const (
	// MaxBufferedResponse caps a result the caller receives as one payload
	// (Invoke), and every /error and /init/error document.
	MaxBufferedResponse = 6_291_556
	// MaxStreamedResponse caps a result relayed to an InvokeWithResponseStream
	// caller (docs/behaviour/streaming.md §5: 200 MiB, Decision).
	MaxStreamedResponse = 200 << 20
)

// Error types lambada reports on behalf of a runtime that broke the protocol
// (the Type of a FunctionError built here, not posted by the runtime).
const (
	// ErrorTypeInvalidResponseMode: the runtime sent a
	// Lambda-Runtime-Function-Response-Mode other than "streaming".
	ErrorTypeInvalidResponseMode = "Runtime.InvalidResponseModeHeader"
	// ErrorTypeResponseTooLarge: an /error or /init/error document exceeded
	// MaxBufferedResponse.
	ErrorTypeResponseTooLarge = "Function.ResponseSizeTooLarge"
	// ErrorTypeUnknown is the type of a posted error that named none.
	ErrorTypeUnknown = "Runtime.Unknown"
)

// Errors a Bridge returns (possibly wrapped) to have the server answer the
// runtime with the status the spec gives. Any other error is a lambada
// failure: 500 InternalServerError, after which the runtime is expected to
// exit.
var (
	// ErrInvalidRequestID: the request id is not the environment's current
	// invocation (unknown, finished, timed out: a late answer).
	// → 400 InvalidRequestID "Invalid request ID".
	ErrInvalidRequestID = errors.New("invalid request id")
	// ErrInvalidStateTransition: the request is not allowed now (a second
	// result, /error after the response began, /init/error after init, /next
	// while the current invocation has no result). → 403 InvalidStateTransition.
	ErrInvalidStateTransition = errors.New("invalid state transition")
)

// Errors Response.Body's Read returns. The Bridge sees them while reading and
// usually returns them from Respond; the server answers the runtime from what
// happened to the body whatever Respond returns.
var (
	// ErrResponseTooLarge: the body went past the invocation's
	// ResponseLimit. Read delivers exactly ResponseLimit bytes before it.
	// → 413 RequestEntityTooLarge.
	ErrResponseTooLarge = errors.New("response exceeds the size limit")
	// ErrTruncated: the body ended before its declared end (connection lost,
	// short Content-Length, no final chunk). It wraps the transport's error.
	// → 400 TruncatedHTTPRequest.
	ErrTruncated = errors.New("request body cut off before its end")
)

// Invocation is what GET /next hands to the runtime.
type Invocation struct {
	// RequestID becomes Lambda-Runtime-Aws-Request-Id. Required.
	RequestID string
	// Deadline becomes Lambda-Runtime-Deadline-Ms (Unix epoch milliseconds).
	Deadline time.Time
	// InvokedFunctionARN is the ARN as the caller addressed the function.
	InvokedFunctionARN string
	// TraceID becomes Lambda-Runtime-Trace-Id.
	TraceID string
	// ClientContext is the decoded ClientContext JSON, "" when none.
	ClientContext string
	// CognitoIdentity is the Cognito identity JSON, "" when none.
	CognitoIdentity string
	// Payload is the event; empty is sent as "{}".
	Payload []byte
	// ResponseLimit caps this invocation's /response body:
	// MaxBufferedResponse for a buffered caller, MaxStreamedResponse for a
	// streaming one. Zero means MaxBufferedResponse.
	ResponseLimit int64
}

// Response is a runtime's POST /invocation/{id}/response as it arrives.
type Response struct {
	// ContentType is the posted Content-Type, "" when the runtime sent none
	// (the caller then gets application/octet-stream).
	ContentType string
	// Streaming is true when the runtime declared
	// Lambda-Runtime-Function-Response-Mode: streaming. Chunked encoding or a
	// Trailer header never implies it: aws-lambda-go sends both for every
	// result (docs/behaviour/streaming.md §7). How the caller is answered depends on how it
	// invoked, not on this flag.
	Streaming bool
	// Body streams the posted bytes as they arrive. Read returns io.EOF at the
	// body's end, or ErrResponseTooLarge / ErrTruncated (sticky). It must not
	// be used after Respond returned.
	Body io.Reader
	// Size is the body's declared length (Content-Length), -1 when the
	// runtime sent it chunked (aws-lambda-go does). A hint for buffers:
	// Body still ends where the bytes end, within the limit.
	Size int64

	body *body
}

// TrailerError returns the mid-stream failure the runtime reported in the
// Lambda-Runtime-Function-Error-Type / -Error-Body trailers, or nil when it
// reported none (trailers absent, or declared but empty: success). Trailers
// arrive after the last body byte, so the answer is only meaningful once Body
// returned io.EOF; before that it is nil. A trailer block too long for
// net/http to read (an error document over about 3 KB) is reported as a
// Runtime.Unknown error saying so.
func (r *Response) TrailerError() *FunctionError {
	if r.body == nil {
		return nil
	}
	return r.body.trailerError()
}

// FunctionError is a failure reported by the runtime (an /error or
// /init/error post, or error trailers), ready for the caller.
type FunctionError struct {
	// Type is the error type: the Lambda-Runtime-Function-Error-Type header
	// or trailer when sent, else the document's errorType, else
	// Runtime.Unknown. It is InvokeComplete's ErrorCode on a stream.
	Type string
	// Document is the JSON error document for the caller: the runtime's body
	// verbatim when it is JSON, else one built as
	// {"errorMessage":"<body text>","errorType":"<Type>"}.
	Document []byte
}

// NewFunctionError builds the error document {"errorMessage","errorType"}.
func NewFunctionError(errorType, message string) *FunctionError {
	return &FunctionError{Type: errorType, Document: errorDocument(message, errorType)}
}

// Bridge is what an environment provides to its Runtime API endpoint. The
// server calls it from the HTTP handler goroutine of each runtime request,
// with that request's context (cancelled when the runtime disconnects or the
// server shuts down); calls may be concurrent when a runtime misbehaves, so
// the environment serialises its own state. The Bridge decides every
// question of state; the server only maps the sentinel errors to statuses.
type Bridge interface {
	// Next serves GET /invocation/next. The first call ends init. It blocks
	// until the environment dispatches an invocation to this runtime, and
	// returns it, or returns ctx.Err() when ctx is done (it must then not have
	// dispatched anything), or ErrInvalidStateTransition when the current
	// invocation has no result yet. A returned invocation counts as
	// dispatched: if the runtime vanished meanwhile, the environment learns
	// it from the process exit or the deadline.
	Next(ctx context.Context) (*Invocation, error)

	// Respond serves POST /invocation/{id}/response. It must first check id
	// and state (ErrInvalidRequestID, ErrInvalidStateTransition) without
	// touching resp.Body, then read resp.Body to io.EOF (relaying or
	// buffering it), then look at resp.TrailerError(), and return nil only
	// when the whole result was taken. The runtime gets 202 only after
	// Respond returned nil and the body reached EOF. A Read error
	// (ErrResponseTooLarge, ErrTruncated) means the result failed; return
	// it. The server drains what a successful Respond left unread.
	Respond(ctx context.Context, requestID string, resp *Response) error

	// Fail serves POST /invocation/{id}/error with the whole document read:
	// the invocation failed. Errors: ErrInvalidRequestID,
	// ErrInvalidStateTransition (a result was already given, or the response
	// began). The server also calls Fail on the runtime's behalf when a
	// /response carries an invalid response-mode header
	// (ErrorTypeInvalidResponseMode) or an /error document is over
	// MaxBufferedResponse (ErrorTypeResponseTooLarge). A cut-off /error body
	// never reaches the Bridge: the runtime gets 400 TruncatedHTTPRequest and
	// is expected to exit.
	Fail(ctx context.Context, requestID string, ferr *FunctionError) error

	// InitError serves POST /init/error: init failed and the runtime exits
	// next. ErrInvalidStateTransition once init is over (Next was called).
	// Called with ErrorTypeResponseTooLarge for an oversize document.
	InitError(ctx context.Context, ferr *FunctionError) error
}

// errorDocument renders {"errorMessage":…,"errorType":…}.
func errorDocument(message, errorType string) []byte {
	b, err := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{message, errorType})
	if err != nil { // unreachable: two strings always marshal
		panic(err)
	}
	return b
}
