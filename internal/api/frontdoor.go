package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/lambada-dev/lambada/internal/api/sigv4"
	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/frontdoor"
	"github.com/lambada-dev/lambada/internal/logkey"
)

// readBody reads the body through the front door (docs/security.md,
// "Bodies"): at most limit bytes, under its deadline and the server's
// budget; release gives the bytes back to the budget.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, limit int64, op string) ([]byte, func(), error) {
	body, release, err := h.door.Read(w, r, limit)
	switch {
	case err == nil:
		return body, release, nil
	case errors.Is(err, frontdoor.ErrTooLarge):
		return nil, release, tooLarge(limit, op)
	}
	var e *awserr.Error
	if errors.As(err, &e) {
		return nil, release, e
	}
	return nil, release, awserr.New(awserr.InvalidRequestContent, "Could not read request body: "+err.Error())
}

// RequireKey serves next only to requests signed (SigV4, without a body)
// with a key v knows, answering everything else with the API's own errors:
// lambada's /metrics, whose series name functions (docs/security.md).
func (h *Handler) RequireKey(v *sigv4.Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := uuid.NewString()
		w.Header()["x-amzn-RequestId"] = []string{id}
		h.door.Answer(w, false, false)
		p, err := v.Check(r)
		if err == nil {
			_, err = p.Verify(r, nil)
		}
		if err != nil {
			if r.ContentLength != 0 {
				w.Header().Set("Connection", "close")
			}
			h.writeError(w, err, h.log.With(logkey.RequestID, id))
			return
		}
		w.Header().Del("x-amzn-RequestId")
		next.ServeHTTP(w, r)
	})
}

// ErrorResponse is a whole HTTP/1.1 answer carrying e in the AWS shape,
// closing the connection: for the requests net/http refuses before any
// handler runs (unparseable request line, headers too large).
func ErrorResponse(e *awserr.Error, requestID string) []byte {
	b := jsonBody(e.Body())
	out := make([]byte, 0, 256+len(b))
	out = append(out, "HTTP/1.1 "+strconv.Itoa(e.Status)+" "+http.StatusText(e.Status)+"\r\n"...)
	out = append(out, "Connection: close\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(b))+"\r\n"...)
	out = append(out, "X-Amzn-ErrorType: "+e.Code+"\r\nx-amzn-RequestId: "+requestID+"\r\n\r\n"...)
	return append(out, b...)
}
