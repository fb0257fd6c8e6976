package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/cwlogs"
	"github.com/lambada-dev/lambada/internal/logkey"
)

// logsBodyLimit bounds a CloudWatch Logs request body.
const logsBodyLimit = 1 << 20

// isLogs reports a CloudWatch Logs request: POST / with an X-Amz-Target of
// the Logs_20140328 service (docs/behaviour/logs.md §4); Lambda never
// uses POST /.
func isLogs(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/" || r.URL.Path == "") &&
		strings.HasPrefix(r.Header.Get("X-Amz-Target"), cwlogs.TargetPrefix)
}

// serveLogs answers one CloudWatch Logs operation in AWS JSON 1.1: SigV4
// with service "logs" and the same credentials as the Lambda API.
func (h *Handler) serveLogs(w http.ResponseWriter, r *http.Request, id string) (string, int) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), cwlogs.TargetPrefix)
	log := h.log.With(logkey.RequestID, id)
	if h.cfg.Logs == nil || h.cfg.LogsVerifier == nil {
		return op, writeJSON11Error(w, awserr.Logs(awserr.UnknownOperation, ""), log)
	}
	select {
	case <-h.reg.Ready():
	default:
		return op, writeJSON11Error(w, awserr.New(awserr.ServiceUnavailable, "lambada is starting; try again shortly"), log)
	}
	// The headers' checks before the body, as for the Lambda API
	// (docs/security.md, "Credentials before the body").
	pending, err := h.cfg.LogsVerifier.Check(r)
	if err != nil {
		if r.ContentLength != 0 {
			w.Header().Set("Connection", "close")
		}
		h.door.Answer(w, false, false)
		return op, writeJSON11Error(w, err, log)
	}
	body, release, err := h.readBody(w, r, logsBodyLimit, op)
	defer release()
	h.door.Answer(w, false, err == nil)
	if err != nil {
		return op, writeJSON11Error(w, err, log)
	}
	if _, err := pending.Verify(r, body); err != nil {
		return op, writeJSON11Error(w, err, log)
	}
	out, err := h.cfg.Logs.Do(r.Context(), op, body)
	if err != nil {
		return op, writeJSON11Error(w, err, log)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return op, writeJSON11Error(w, awserr.Internal(err), log)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return op, http.StatusOK
}

// writeJSON11Error renders an error in the JSON 1.1 shape: {"__type",
// "message"} and the X-Amzn-ErrorType header.
func writeJSON11Error(w http.ResponseWriter, err error, log *slog.Logger) int {
	e := awserr.As(err)
	if e.Status >= 500 {
		log.Error("api: internal error", logkey.Err, err)
	}
	body := map[string]string{"__type": e.Code}
	if e.Message != "" {
		body["message"] = e.Message
	}
	b, _ := json.Marshal(body)
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
	return e.Status
}
