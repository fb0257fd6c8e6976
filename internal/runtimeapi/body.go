package runtimeapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Header and trailer names of the Runtime API. Go canonicalises header keys,
// so these are the canonical forms (aws-lambda-go's
// Lambda-Runtime-Function-Xray-Error-Cause is the same header).
const (
	hdrRequestID       = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline        = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID         = "Lambda-Runtime-Trace-Id"
	hdrClientContext   = "Lambda-Runtime-Client-Context"
	hdrCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	hdrResponseMode    = "Lambda-Runtime-Function-Response-Mode"
	hdrErrorType       = "Lambda-Runtime-Function-Error-Type"
	hdrErrorBody       = "Lambda-Runtime-Function-Error-Body"

	responseModeStreaming = "streaming"
)

// body wraps a /response request body: it enforces the size limit, turns
// transport errors into ErrTruncated and reads the error trailers at EOF. Its
// first error is sticky, so the server can tell afterwards how the body ended
// whatever the Bridge did with it. The mutex only guards against a Bridge that
// keeps reading from another goroutine while the server drains.
type body struct {
	mu      sync.Mutex
	r       io.Reader
	trailer func() http.Header // the request's trailers, complete after EOF
	limit   int64
	n       int64
	err     error // io.EOF, ErrResponseTooLarge or ErrTruncated once ended
	ferr    *FunctionError
}

func newBody(r io.Reader, trailer func() http.Header, limit int64) *body {
	return &body{r: r, trailer: trailer, limit: limit}
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Ask for one byte past the limit, so reaching it exactly is not an error.
	if room := b.limit - b.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	if left := b.limit - b.n; int64(n) > left {
		n = int(left)
		b.n += int64(n)
		b.err = &sizeError{b.limit}
		return n, b.err
	}
	b.n += int64(n)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		b.err = io.EOF
		b.ferr = trailerError(b.trailer())
	case isLongTrailer(err):
		// Every byte arrived; only the failure report is unreadable.
		b.err = io.EOF
		b.ferr = NewFunctionError(ErrorTypeUnknown, longTrailerMessage)
	default:
		// Any other transport error means the runtime's body did not reach
		// its declared end (io.ErrUnexpectedEOF, a reset, bad chunking).
		b.err = fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	return n, b.err
}

// failure reports how the body ended so far: nil while unfinished or at EOF.
func (b *body) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == io.EOF {
		return nil
	}
	return b.err
}

// size is the number of body bytes delivered so far.
func (b *body) size() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// drain reads what the Bridge left unread, within the limit.
func (b *body) drain() error {
	_, err := io.Copy(io.Discard, b)
	return err
}

func (b *body) trailerError() *FunctionError {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ferr
}

// net/http refuses a trailer block that does not fit its 4 KiB connection
// buffer and has no knob for it, so an error body over about 3 KB cannot be
// read. The error is unexported; its text is matched. Should it change, such
// bodies are answered as truncated instead (TestTrailers notices).
const longTrailerMessage = "The runtime reported a mid-stream error in trailers longer than 4096 bytes, which could not be read."

func isLongTrailer(err error) bool {
	return strings.Contains(err.Error(), "suspiciously long trailer")
}

// trailerError reads the mid-stream error trailers. Declared but empty
// trailers mean success (aws-lambda-go declares them on every post).
func trailerError(t http.Header) *FunctionError {
	typ := t.Get(hdrErrorType)
	enc := t.Get(hdrErrorBody)
	if typ == "" && enc == "" {
		return nil
	}
	doc, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		doc = []byte(enc) // not base64: keep its text as the message
	}
	return newFunctionError(typ, doc)
}

// newFunctionError resolves a posted error: the header type wins, then the
// document's errorType, then Runtime.Unknown; a document that is not JSON (or
// is empty) is replaced by one built from its text.
func newFunctionError(headerType string, doc []byte) *FunctionError {
	if len(bytes.TrimSpace(doc)) == 0 || !json.Valid(doc) {
		typ := headerType
		if typ == "" {
			typ = ErrorTypeUnknown
		}
		return &FunctionError{Type: typ, Document: errorDocument(string(doc), typ)}
	}
	typ := headerType
	if typ == "" {
		var v struct {
			ErrorType any `json:"errorType"`
		}
		if json.Unmarshal(doc, &v) == nil {
			typ, _ = v.ErrorType.(string)
		}
	}
	if typ == "" {
		typ = ErrorTypeUnknown
	}
	return &FunctionError{Type: typ, Document: bytes.Clone(doc)}
}

// readDocument reads an /error or /init/error body, bounded by
// MaxBufferedResponse. It returns ErrResponseTooLarge or ErrTruncated.
func readDocument(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, MaxBufferedResponse+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrTruncated, err)
	case n > MaxBufferedResponse:
		return nil, &sizeError{MaxBufferedResponse}
	}
	return buf.Bytes(), nil
}

// sizeError is ErrResponseTooLarge with the limit that was passed, for the
// 413 message.
type sizeError struct{ limit int64 }

func (e *sizeError) Error() string {
	return fmt.Sprintf("%v (%d bytes)", ErrResponseTooLarge, e.limit)
}

func (e *sizeError) Is(target error) bool { return target == ErrResponseTooLarge }
