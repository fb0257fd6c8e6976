package api

import (
	"net/http"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// The Lambda API model's operations lambada does not implement. Each gets
// a route of its own so that a client learns why, in an AWS-shaped 400,
// instead of "Unknown operation" (docs/behaviour/tags-and-iac.md §2).

// unsupportedOp is one such operation: method, path and the reason.
type unsupportedOp struct {
	name, method string
	pattern      []string
	why          string
}

const (
	whyEventSources = "lambada has no event source mappings; invoke functions through the API instead."
	whyCapacity     = "lambada runs every function on its own host, without capacity providers."
	whyDurable      = "lambada does not run durable executions."
	whyResourcePol  = "lambada has no resource-based policies for this resource."
)

func unsupportedOps() []unsupportedOp {
	cp := func(rest ...string) []string { return append([]string{"2025-11-30", "capacity-providers"}, rest...) }
	de := func(rest ...string) []string {
		return append([]string{"2025-12-01", "durable-executions", "{}"}, rest...)
	}
	cb := func(last string) []string {
		return []string{"2025-12-01", "durable-execution-callbacks", "{}", last}
	}
	esm := []string{"2015-03-31", "event-source-mappings"}
	return []unsupportedOp{
		{"CreateEventSourceMapping", http.MethodPost, esm, whyEventSources},
		{"CreateCapacityProvider", http.MethodPost, cp(), whyCapacity},
		{"ListCapacityProviders", http.MethodGet, cp(), whyCapacity},
		{"GetCapacityProvider", http.MethodGet, cp("{}"), whyCapacity},
		{"UpdateCapacityProvider", http.MethodPut, cp("{}"), whyCapacity},
		{"DeleteCapacityProvider", http.MethodDelete, cp("{}"), whyCapacity},
		{"ListFunctionVersionsByCapacityProvider", http.MethodGet, cp("{}", "function-versions"), whyCapacity},
		{"GetFunctionScalingConfig", http.MethodGet, []string{"2025-11-30", "functions", "{}", "function-scaling-config"}, whyCapacity},
		{"PutFunctionScalingConfig", http.MethodPut, []string{"2025-11-30", "functions", "{}", "function-scaling-config"}, whyCapacity},
		{"GetDurableExecution", http.MethodGet, de(), whyDurable},
		{"GetDurableExecutionHistory", http.MethodGet, de("history"), whyDurable},
		{"GetDurableExecutionState", http.MethodGet, de("state"), whyDurable},
		{"StopDurableExecution", http.MethodPost, de("stop"), whyDurable},
		{"CheckpointDurableExecution", http.MethodPost, de("checkpoint"), whyDurable},
		{"ListDurableExecutionsByFunction", http.MethodGet, []string{"2025-12-01", "functions", "{}", "durable-executions"}, whyDurable},
		{"SendDurableExecutionCallbackSuccess", http.MethodPost, cb("succeed"), whyDurable},
		{"SendDurableExecutionCallbackFailure", http.MethodPost, cb("fail"), whyDurable},
		{"SendDurableExecutionCallbackHeartbeat", http.MethodPost, cb("heartbeat"), whyDurable},
		{"GetResourcePolicy", http.MethodGet, []string{"2026-07-09", "resource-policy", "{}"}, whyResourcePol},
		{"PutResourcePolicy", http.MethodPut, []string{"2026-07-09", "resource-policy", "{}"}, whyResourcePol},
		{"DeleteResourcePolicy", http.MethodDelete, []string{"2026-07-09", "resource-policy", "{}"}, whyResourcePol},
	}
}

// unsupportedRoutes turns unsupportedOps into routes, plus the event
// source mapping reads, which have a truthful answer: there are none.
func (h *Handler) unsupportedRoutes() []route {
	var out []route
	for _, u := range unsupportedOps() {
		msg := u.name + " is not supported by this server: " + u.why
		out = append(out, route{name: u.name, method: u.method, pattern: u.pattern, bodyLimit: DefaultBodyLimit,
			op: func(*request) (response, error) { return response{}, awserr.New(awserr.InvalidParameterValue, msg) }})
	}
	esmNotFound := func(*request) (response, error) {
		return response{}, awserr.New(awserr.ResourceNotFound, "The resource you requested does not exist.")
	}
	one := []string{"2015-03-31", "event-source-mappings", "{}"}
	out = append(out,
		route{name: "ListEventSourceMappings", method: http.MethodGet, pattern: []string{"2015-03-31", "event-source-mappings"},
			bodyLimit: DefaultBodyLimit, op: h.listEventSourceMappings},
		route{name: "GetEventSourceMapping", method: http.MethodGet, pattern: one, bodyLimit: DefaultBodyLimit, op: esmNotFound},
		route{name: "UpdateEventSourceMapping", method: http.MethodPut, pattern: one, bodyLimit: DefaultBodyLimit, op: esmNotFound},
		route{name: "DeleteEventSourceMapping", method: http.MethodDelete, pattern: one, bodyLimit: DefaultBodyLimit, op: esmNotFound},
	)
	return out
}

func (h *Handler) listEventSourceMappings(q *request) (response, error) {
	if _, err := q.maxItems(); err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: map[string]any{"EventSourceMappings": []any{}}}, nil
}
