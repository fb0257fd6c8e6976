package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/lambada-dev/lambada/internal/awserr"
)

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
	for _, m := range msgs {
		body := json.RawMessage(m.Data)
		if !json.Valid(body) {
			body, _ = json.Marshal(string(m.Data))
		}
		out.Records = append(out.Records, wireRecord{Sequence: m.Seq, Subject: m.Subject, Stored: m.Stored, Headers: m.Header, Body: body})
		out.Next = m.Seq
	}
	return response{status: http.StatusOK, body: out}, nil
}
