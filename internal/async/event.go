package async

import (
	"encoding/json"
	"time"
)

// event is what the queue stores for one Event invocation: enough to run
// every attempt and to build the invocation record, so the retry schedule
// lives in the stream, not in a goroutine's timer.
type event struct {
	RequestID string          `json:"requestId"`
	Function  string          `json:"function"`
	Qualifier string          `json:"qualifier,omitempty"`
	Payload   json.RawMessage `json:"payload"`
	Accepted  time.Time       `json:"accepted"`
	Trace     string          `json:"trace,omitempty"`
	// Attempts counts attempts already made (function errors only:
	// throttles and system errors do not count).
	Attempts int `json:"attempts,omitempty"`
	// NotBefore delays the next attempt (a function-error retry).
	NotBefore time.Time `json:"notBefore,omitzero"`
	// Last holds the previous attempt's response for the records.
	Last *attempt `json:"last,omitempty"`
}

// attempt is what a run left for the record.
type attempt struct {
	Payload         []byte `json:"payload,omitempty"`
	FunctionError   string `json:"functionError,omitempty"`
	ExecutedVersion string `json:"executedVersion"`
	VersionARN      string `json:"versionArn"`
}

// Conditions of an invocation record (docs/behaviour/async.md §5.1).
const (
	CondSuccess          = "Success"
	CondRetriesExhausted = "RetriesExhausted"
	CondEventAgeExceeded = "EventAgeExceeded"
	CondZeroConcurrency  = "ZeroReservedConcurrency"
	// CondRecursiveInvocation: loop detection stopped the event (lambada's
	// name; AWS documents none, docs/behaviour/recursion.md §5).
	CondRecursiveInvocation = "RecursiveInvocation"
)

// record is the invocation record sent to destinations.
type record struct {
	Version         string           `json:"version"`
	Timestamp       string           `json:"timestamp"`
	RequestContext  requestContext   `json:"requestContext"`
	RequestPayload  json.RawMessage  `json:"requestPayload"`
	ResponseContext *responseContext `json:"responseContext,omitempty"`
	ResponsePayload json.RawMessage  `json:"responsePayload,omitempty"`
}

type requestContext struct {
	RequestID              string `json:"requestId"`
	FunctionArn            string `json:"functionArn"`
	Condition              string `json:"condition"`
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

type responseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
}

// newRecord builds the record of ev ending with condition; functionARN is
// used when no attempt ran.
func newRecord(ev *event, condition, functionARN string, now time.Time) []byte {
	r := record{
		Version:   "1.0",
		Timestamp: now.UTC().Format("2006-01-02T15:04:05.000Z"),
		RequestContext: requestContext{
			RequestID: ev.RequestID, FunctionArn: functionARN,
			Condition: condition, ApproximateInvokeCount: ev.Attempts,
		},
		RequestPayload: ev.Payload,
	}
	if ev.Last != nil {
		r.RequestContext.FunctionArn = ev.Last.VersionARN
		r.ResponseContext = &responseContext{StatusCode: 200, ExecutedVersion: ev.Last.ExecutedVersion, FunctionError: ev.Last.FunctionError}
		if len(ev.Last.Payload) > 0 {
			if json.Valid(ev.Last.Payload) {
				r.ResponsePayload = ev.Last.Payload
			} else {
				r.ResponsePayload, _ = json.Marshal(string(ev.Last.Payload))
			}
		}
	}
	b, _ := json.Marshal(r)
	return b
}
