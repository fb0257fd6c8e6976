package api

import (
	"net/http"

	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/registry"
)

// FunctionEventInvokeConfig operations (docs/behaviour/async.md §3).

// wireEventInvokeConfig is FunctionEventInvokeConfig. LastModified is epoch
// seconds as a JSON number: a string breaks the Go and JS SDKs.
type wireEventInvokeConfig struct {
	LastModified             float64               `json:"LastModified"`
	FunctionArn              string                `json:"FunctionArn"`
	MaximumRetryAttempts     *int                  `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int                  `json:"MaximumEventAgeInSeconds,omitempty"`
	DestinationConfig        wireDestinationConfig `json:"DestinationConfig"`
}

// wireDestinationConfig always carries both sides; a side without a
// destination is {}.
type wireDestinationConfig struct {
	OnSuccess wireDestination `json:"OnSuccess"`
	OnFailure wireDestination `json:"OnFailure"`
}

type wireDestination struct {
	Destination string `json:"Destination,omitempty"`
}

type wireEventInvokeConfigList struct {
	FunctionEventInvokeConfigs []*wireEventInvokeConfig `json:"FunctionEventInvokeConfigs"`
	NextMarker                 string                   `json:"NextMarker,omitempty"`
}

func (h *Handler) eventInvokeConfig(c registry.QualifiedEventInvokeConfig) *wireEventInvokeConfig {
	return &wireEventInvokeConfig{
		LastModified:             epochSeconds(c.Config.LastModified),
		FunctionArn:              function.ARN(h.cfg.Region, h.cfg.AccountID, c.Name, c.Qualifier),
		MaximumRetryAttempts:     c.Config.MaximumRetryAttempts,
		MaximumEventAgeInSeconds: c.Config.MaximumEventAgeInSeconds,
		DestinationConfig: wireDestinationConfig{
			OnSuccess: wireDestination{Destination: c.Config.OnSuccess},
			OnFailure: wireDestination{Destination: c.Config.OnFailure},
		},
	}
}

func (h *Handler) putEventInvokeConfig(q *request) (response, error) {
	var in registry.EventInvokeConfigInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	c, err := h.reg.PutEventInvokeConfig(q.r.Context(), q.params[0], q.query.Get("Qualifier"), &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: h.eventInvokeConfig(c)}, nil
}

func (h *Handler) updateEventInvokeConfig(q *request) (response, error) {
	var in registry.EventInvokeConfigInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	c, err := h.reg.UpdateEventInvokeConfig(q.r.Context(), q.params[0], q.query.Get("Qualifier"), &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: h.eventInvokeConfig(c)}, nil
}

func (h *Handler) getEventInvokeConfig(q *request) (response, error) {
	c, err := h.reg.GetEventInvokeConfig(q.params[0], q.query.Get("Qualifier"))
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: h.eventInvokeConfig(c)}, nil
}

func (h *Handler) deleteEventInvokeConfig(q *request) (response, error) {
	if err := h.reg.DeleteEventInvokeConfig(q.r.Context(), q.params[0], q.query.Get("Qualifier")); err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}

func (h *Handler) listEventInvokeConfigs(q *request) (response, error) {
	opt, err := q.listOptions()
	if err != nil {
		return response{}, err
	}
	p, err := h.reg.ListEventInvokeConfigs(q.params[0], opt)
	if err != nil {
		return response{}, err
	}
	out := &wireEventInvokeConfigList{
		FunctionEventInvokeConfigs: make([]*wireEventInvokeConfig, len(p.Items)),
		NextMarker:                 p.NextMarker,
	}
	for i, c := range p.Items {
		out.FunctionEventInvokeConfigs[i] = h.eventInvokeConfig(c)
	}
	return response{status: http.StatusOK, body: out}, nil
}
