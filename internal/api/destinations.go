package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// maxPageBytes bounds the record bodies of one page (one record always
// goes, however large).
const maxPageBytes = 8 << 20

type wireRecord struct {
	Sequence uint64            `json:"Sequence"`
	Subject  string            `json:"Subject"`
	Stored   time.Time         `json:"Stored"`
	Headers  map[string]string `json:"Headers"`
	Body     json.RawMessage   `json:"Body"`
}

type wireRecords struct {
	Records []wireRecord `json:"Records"`
	// Next is the sequence to pass as After for the following page.
	Next uint64 `json:"Next"`
}

// readDestination is lambada's own operation GET /lambada/destinations
// (outside the Lambda API, SigV4-signed like it): it reads the records
// delivered to an SQS, SNS, EventBridge, S3 or dead-letter ARN;
// `lambada destinations` calls it.
func (h *Handler) readDestination(q *request) (response, error) {
	arn := q.query.Get("Destination")
	if arn == "" {
		return response{}, awserr.New(awserr.InvalidParameterValue, "Destination is required.")
	}
	after, _ := strconv.ParseUint(q.query.Get("After"), 10, 64)
	max := 100
	if s := q.query.Get("MaxItems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return response{}, awserr.New(awserr.InvalidParameterValue, "MaxItems must be an integer from 1 to 1000.")
		}
		max = n
	}
	msgs, err := h.cfg.Async.Records(q.r.Context(), arn, after, max)
	if err != nil {
		return response{}, err
	}
	out := wireRecords{Records: []wireRecord{}, Next: after}
	size := 0
	for _, m := range msgs {
		// Records reach megabytes (payload and response): a page stops
		// after maxPageBytes, the rest comes with the next.
		if size += len(m.Data); size > maxPageBytes && len(out.Records) > 0 {
			break
		}
		body := json.RawMessage(m.Data)
		if !json.Valid(body) {
			body, _ = json.Marshal(string(m.Data)) // (escaped: not JSON, rare)
		}
		out.Records = append(out.Records, wireRecord{Sequence: m.Seq, Subject: m.Subject, Stored: m.Stored, Headers: m.Header, Body: body})
		out.Next = m.Seq
	}
	// Records embed payloads; json.Marshal would turn each <, > and & of
	// them into six bytes.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return response{}, awserr.Internal(err)
	}
	return response{status: http.StatusOK, raw: buf.Bytes(), headers: map[string]string{"Content-Type": "application/json"}}, nil
}
