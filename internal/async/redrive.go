package async

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/google/uuid"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/invoke"
	"github.com/lambada-dev/lambada/internal/store"
)

// SourceHeader names the function version whose event a destination
// record or dead-letter message came from (a storage header of lambada's,
// docs/behaviour/async.md §7).
const SourceHeader = "Lambada-Source-Function-Arn"

// Record reads the one record stored at seq on destination's stream;
// ResourceNotFoundException when there is none (expired, or another
// destination's).
func (s *Service) Record(ctx context.Context, destination string, seq uint64) (store.StoredMessage, error) {
	if seq == 0 {
		return store.StoredMessage{}, awserr.New(awserr.InvalidParameterValue, "The record sequence must be a positive integer.")
	}
	msgs, err := s.Records(ctx, destination, seq-1, 1)
	if err != nil {
		return store.StoredMessage{}, err
	}
	if len(msgs) == 0 || msgs[0].Seq != seq {
		return store.StoredMessage{}, awserr.Newf(awserr.ResourceNotFound, "No record %d for destination %s.", seq, destination)
	}
	return msgs[0], nil
}

// Redrive queues the failed event a record holds again, as a new Event
// invocation (a new request id) of the function version that failed it,
// through Accept like any Event invocation: the event's payload, the
// function's current asynchronous configuration. The record is an
// OnFailure destination's invocation record or a dead-letter message
// (docs/behaviour/async.md §8). It returns the new request id.
func (s *Service) Redrive(ctx context.Context, destination string, seq uint64) (string, error) {
	m, err := s.Record(ctx, destination, seq)
	if err != nil {
		return "", err
	}
	fnARN, payload, err := failedEvent(m)
	if err != nil {
		return "", err
	}
	ref, err := function.ParseName(fnARN, function.FunctionName, "functionArn")
	if err != nil {
		return "", awserr.Newf(awserr.InvalidParameterValue, "The record names no function (%s).", fnARN)
	}
	q := &invoke.Request{
		FunctionName: ref.Name, Qualifier: ref.Qualifier, InvocationType: invoke.Event,
		Payload: payload, RequestID: uuid.NewString(),
	}
	if q.Qualifier == function.Latest {
		q.Qualifier = ""
	}
	if len(payload) > function.MaxEventPayload {
		return "", awserr.Newf(awserr.RequestEntityTooLarge,
			"%d byte payload is too large for the Event invocation type (limit %d bytes)", len(payload), function.MaxEventPayload)
	}
	if err := s.Accept(ctx, q); err != nil {
		return "", err
	}
	return q.RequestID, nil
}

// failedEvent finds the function and payload of the failed event m holds.
func failedEvent(m store.StoredMessage) (fnARN string, payload []byte, err error) {
	fnARN = header(m.Header, SourceHeader)
	if cond := header(m.Header, "Lambada-Condition"); cond != "" {
		// An invocation record.
		if cond == CondSuccess {
			return "", nil, awserr.New(awserr.InvalidParameterValue, "The record is of a successful invocation; only failed events are redriven.")
		}
		var rec record
		if err := json.Unmarshal(m.Data, &rec); err != nil {
			return "", nil, awserr.New(awserr.InvalidParameterValue, "The record is not an invocation record.")
		}
		if rec.RequestContext.FunctionArn != "" {
			fnARN = rec.RequestContext.FunctionArn
		}
		return fnARN, rec.RequestPayload, nil
	}
	if header(m.Header, "ErrorCode") == "" {
		return "", nil, awserr.New(awserr.InvalidParameterValue, "The record is neither an invocation record nor a dead-letter message.")
	}
	if fnARN == "" {
		// Dead-letter messages of earlier lambadas do not name it.
		return "", nil, awserr.New(awserr.InvalidParameterValue, "The dead-letter message does not name its function (it was stored by an earlier lambada).")
	}
	return fnARN, m.Data, nil
}

// header reads h[k] whatever the case the store gave its keys.
func header(h map[string]string, k string) string {
	if v, ok := h[k]; ok {
		return v
	}
	for hk, v := range h {
		if strings.EqualFold(hk, k) {
			return v
		}
	}
	return ""
}
