package api

import (
	"net/http"

	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/registry"
)

// Function URL configs and resource policies
// (docs/behaviour/function-urls.md §1–§5).

// urlTimeLayout is CreationTime/LastModifiedTime (ISO-8601, UTC,
// microseconds).
const urlTimeLayout = "2006-01-02T15:04:05.000000Z"

type wireURLConfig struct {
	FunctionUrl      string         `json:"FunctionUrl"`
	FunctionArn      string         `json:"FunctionArn"`
	AuthType         string         `json:"AuthType"`
	Cors             *function.Cors `json:"Cors,omitempty"`
	CreationTime     string         `json:"CreationTime"`
	LastModifiedTime string         `json:"LastModifiedTime,omitempty"`
	InvokeMode       string         `json:"InvokeMode,omitempty"`
}

// urlView says which members an operation's answer carries.
type urlView int

const (
	urlCreated urlView = iota // no LastModifiedTime; InvokeMode only if set
	urlUpdated                // LastModifiedTime; InvokeMode only if set
	urlRead                   // LastModifiedTime; InvokeMode always
)

func (h *Handler) urlConfig(c registry.QualifiedURLConfig, view urlView) *wireURLConfig {
	u := c.Config
	w := &wireURLConfig{
		FunctionUrl:  h.functionURL(u.ID),
		FunctionArn:  h.reg.URLFunctionARN(c.Name, c.Qualifier),
		AuthType:     u.AuthType,
		Cors:         u.Cors,
		CreationTime: u.Created.UTC().Format(urlTimeLayout),
		InvokeMode:   u.InvokeMode,
	}
	if view != urlCreated {
		w.LastModifiedTime = u.Modified.UTC().Format(urlTimeLayout)
	}
	if view == urlRead {
		w.InvokeMode = u.Mode()
	}
	return w
}

// functionURL is the URL a client reaches the function by.
func (h *Handler) functionURL(id string) string {
	if h.cfg.FunctionURL != nil {
		return h.cfg.FunctionURL(id)
	}
	return "http://" + id + ".lambda-url." + h.cfg.Region + ".localhost/"
}

func (h *Handler) createURLConfig(q *request) (response, error) {
	var in registry.URLConfigInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	c, err := h.reg.CreateURLConfig(q.r.Context(), q.params[0], q.query.Get("Qualifier"), &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusCreated, body: h.urlConfig(c, urlCreated)}, nil
}

func (h *Handler) getURLConfig(q *request) (response, error) {
	c, err := h.reg.GetURLConfig(q.params[0], q.query.Get("Qualifier"))
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: h.urlConfig(c, urlRead)}, nil
}

func (h *Handler) updateURLConfig(q *request) (response, error) {
	var in registry.URLConfigInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	c, err := h.reg.UpdateURLConfig(q.r.Context(), q.params[0], q.query.Get("Qualifier"), &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: h.urlConfig(c, urlUpdated)}, nil
}

func (h *Handler) deleteURLConfig(q *request) (response, error) {
	if err := h.reg.DeleteURLConfig(q.r.Context(), q.params[0], q.query.Get("Qualifier")); err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}

type wireURLConfigList struct {
	FunctionUrlConfigs []*wireURLConfig `json:"FunctionUrlConfigs"`
	NextMarker         string           `json:"NextMarker,omitempty"`
}

func (h *Handler) listURLConfigs(q *request) (response, error) {
	opt, err := q.listOptions()
	if err != nil {
		return response{}, err
	}
	p, err := h.reg.ListURLConfigs(q.params[0], opt)
	if err != nil {
		return response{}, err
	}
	out := &wireURLConfigList{FunctionUrlConfigs: make([]*wireURLConfig, len(p.Items)), NextMarker: p.NextMarker}
	for i, c := range p.Items {
		out.FunctionUrlConfigs[i] = h.urlConfig(c, urlRead)
	}
	return response{status: http.StatusOK, body: out}, nil
}

func (h *Handler) addPermission(q *request) (response, error) {
	var in registry.PermissionInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	st, err := h.reg.AddPermission(q.r.Context(), q.params[0], q.query.Get("Qualifier"), &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusCreated, body: map[string]string{"Statement": st}}, nil
}

func (h *Handler) removePermission(q *request) (response, error) {
	err := h.reg.RemovePermission(q.r.Context(), q.params[0], q.params[1], q.query.Get("Qualifier"), q.query.Get("RevisionId"))
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}

func (h *Handler) getPolicy(q *request) (response, error) {
	p, err := h.reg.GetPolicy(q.params[0], q.query.Get("Qualifier"))
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: map[string]string{"Policy": p.Policy, "RevisionId": p.RevisionID}}, nil
}
