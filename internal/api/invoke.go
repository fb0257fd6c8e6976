package api

import (
	"net/http"
	"strconv"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/invoke"
)

// unsupportedInvokeHeaders are 2025 invocation features lambada lacks:
// sending one is refused rather than ignored.
var unsupportedInvokeHeaders = []string{"X-Amz-Tenant-Id", "X-Amz-Durable-Execution-Name"}

// invokeRequest decodes the inputs Invoke and InvokeWithResponseStream share.
func invokeRequest(q *request) *invoke.Request {
	hd := q.r.Header
	in := &invoke.Request{
		FunctionName:   q.params[0],
		Qualifier:      q.query.Get("Qualifier"),
		InvocationType: hd.Get("X-Amz-Invocation-Type"),
		LogType:        hd.Get("X-Amz-Log-Type"),
		ClientContext:  hd.Get("X-Amz-Client-Context"),
		Payload:        q.body,
		RequestID:      q.id,
		TraceHeader:    hd.Get("X-Amzn-Trace-Id"),
		Checked:        q.checked,
	}
	for _, name := range unsupportedInvokeHeaders {
		if hd.Get(name) != "" {
			in.Unsupported = name
		}
	}
	return in
}

// checkEarly starts the payload's JSON check of an Invoke or
// InvokeWithResponseStream with a large body, to run while SigV4 hashes
// the same bytes (invoke.CheckEarly); nil otherwise.
func checkEarly(rt *route, r *http.Request, body []byte) *invoke.PayloadCheck {
	if !rt.invokes {
		return nil
	}
	return invoke.CheckEarly(body)
}

func (h *Handler) invoke(q *request) (response, error) {
	in := invokeRequest(q)
	if in.InvocationType == invoke.Event {
		return h.accept(q, in, function.MaxEventPayload)
	}
	res, err := h.cfg.Invoker.Invoke(q.r.Context(), in)
	if err != nil {
		return response{}, err
	}
	if res.Status != http.StatusOK {
		return response{status: res.Status, headers: map[string]string{}}, nil
	}
	// Straight into the answer's header (canonical keys): no map per
	// invoke.
	raw := res.Payload
	if raw == nil {
		raw = []byte{}
	}
	hd := q.w.Header()
	vals := []string{"application/json", res.ExecutedVersion, strconv.Itoa(len(raw)), res.FunctionError, res.LogResult}
	hd["Content-Type"], hd["X-Amz-Executed-Version"], hd["Content-Length"] = vals[0:1:1], vals[1:2:2], vals[2:3:3]
	if res.FunctionError != "" {
		hd["X-Amz-Function-Error"] = vals[3:4:4]
	}
	if res.LogResult != "" {
		hd["X-Amz-Log-Result"] = vals[4:5:5]
	}
	return response{status: http.StatusOK, raw: raw, lengthSet: true}, nil
}

// accept queues an Event invocation (Invoke with Event, InvokeAsync): 202
// only once the event is durably stored.
func (h *Handler) accept(q *request, in *invoke.Request, limit int) (response, error) {
	if len(q.body) > limit {
		return response{}, withUserType(awserr.Newf(awserr.RequestEntityTooLarge,
			"%d byte payload is too large for the Event invocation type (limit %d bytes)", len(q.body), limit))
	}
	if err := h.cfg.Async.Accept(q.r.Context(), in); err != nil {
		return response{}, err
	}
	return response{status: http.StatusAccepted, headers: map[string]string{}}, nil
}

// invokeAsync is the deprecated InvokeAsync: an Event invocation of the
// function as addressed, answered with {"Status":202}.
func (h *Handler) invokeAsync(q *request) (response, error) {
	in := &invoke.Request{
		FunctionName:   q.params[0],
		InvocationType: invoke.Event,
		Payload:        q.body,
		RequestID:      q.id,
		TraceHeader:    q.r.Header.Get("X-Amzn-Trace-Id"),
	}
	if _, err := h.accept(q, in, function.MaxInvokeAsyncPayload); err != nil {
		return response{}, err
	}
	return response{status: http.StatusAccepted, body: map[string]int{"Status": http.StatusAccepted}}, nil
}
