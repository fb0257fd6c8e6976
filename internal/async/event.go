package async

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// event is what the queue stores for one Event invocation: enough to run
// every attempt and to build the invocation record, so the retry schedule
// lives in the stream, not in a goroutine's timer.
//
// On the queue an event is a JSON header line followed by the payload and
// the last attempt's response as raw bytes (encode,
// docs/behaviour/async-storage.md §1): no HTML escaping, no base64, no
// compaction, so the function gets the bytes the caller sent and the
// message grows by a few hundred bytes only.
type event struct {
	RequestID string          `json:"requestId"`
	Function  string          `json:"function"`
	Qualifier string          `json:"qualifier,omitempty"`
	Payload   json.RawMessage `json:"-"`
	Accepted  time.Time       `json:"accepted"`
	Trace     string          `json:"trace,omitempty"`
	// Attempts counts attempts already made (function errors only:
	// throttles and system errors do not count).
	Attempts int `json:"attempts,omitempty"`
	// NotBefore delays the next attempt (a function-error retry).
	NotBefore time.Time `json:"notBefore,omitzero"`
	// Last holds the previous attempt's response for the records.
	Last *attempt `json:"last,omitempty"`
	// PayloadBytes is len(Payload) on the queue.
	PayloadBytes int `json:"payloadBytes"`
}

// attempt is what a run left for the record.
type attempt struct {
	Payload         []byte `json:"-"`
	FunctionError   string `json:"functionError,omitempty"`
	ExecutedVersion string `json:"executedVersion"`
	VersionARN      string `json:"versionArn"`
	// PayloadBytes is len(Payload) on the queue.
	PayloadBytes int `json:"payloadBytes,omitempty"`
}

// EncodingHeader marks an event in the current encoding; events without it
// were queued by an earlier lambada as one JSON document (legacyEvent).
const (
	EncodingHeader = "Lambada-Event-Encoding"
	encodingRaw    = "raw-1"
)

// encode is ev on the queue: its JSON header line, then the payload, then
// the last response.
func (ev *event) encode() []byte {
	ev.PayloadBytes = len(ev.Payload)
	n := len(ev.Payload)
	if ev.Last != nil {
		ev.Last.PayloadBytes = len(ev.Last.Payload)
		n += len(ev.Last.Payload)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(ev) // ends with '\n'; strings inside are escaped
	buf.Grow(n)
	buf.Write(ev.Payload)
	if ev.Last != nil {
		buf.Write(ev.Last.Payload)
	}
	return buf.Bytes()
}

// decodeEvent reads an event from the queue in either encoding.
func decodeEvent(data []byte, header map[string]string) (*event, error) {
	if header[EncodingHeader] != encodingRaw {
		return decodeLegacy(data)
	}
	line, rest, ok := bytes.Cut(data, []byte{'\n'})
	if !ok {
		return nil, errors.New("event without header line")
	}
	var ev event
	if err := json.Unmarshal(line, &ev); err != nil {
		return nil, err
	}
	last := 0
	if ev.Last != nil {
		last = ev.Last.PayloadBytes
	}
	if ev.PayloadBytes < 0 || last < 0 || ev.PayloadBytes+last != len(rest) {
		return nil, fmt.Errorf("event body holds %d bytes, its header says %d + %d", len(rest), ev.PayloadBytes, last)
	}
	ev.Payload = json.RawMessage(rest[:ev.PayloadBytes])
	if ev.Last != nil {
		ev.Last.Payload = rest[ev.PayloadBytes:]
	}
	return &ev, nil
}

// legacyEvent is how events were queued before the raw encoding: one JSON
// document, the response base64-encoded.
type legacyEvent struct {
	event
	Payload json.RawMessage `json:"payload"`
	Last    *struct {
		attempt
		Payload []byte `json:"payload,omitempty"`
	} `json:"last,omitempty"`
}

func decodeLegacy(data []byte) (*event, error) {
	var l legacyEvent
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, err
	}
	ev := l.event
	ev.Payload = l.Payload
	if l.Last != nil {
		a := l.Last.attempt
		a.Payload = l.Last.Payload
		ev.Last = &a
	}
	return &ev, nil
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
				r.ResponsePayload = jsonString(ev.Last.Payload)
			}
		}
	}
	// Not json.Marshal: it would escape every <, > and & of the payloads
	// into six bytes.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(r)
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}

// jsonString is b as a JSON string, without HTML escaping.
func jsonString(b []byte) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(string(b))
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}
