package api

import (
	"net/http"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/registry"
)

func (h *Handler) createFunction(q *request) (response, error) {
	var in registry.CreateFunctionInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	_, c, err := h.reg.CreateFunction(q.r.Context(), &in)
	if err != nil {
		return response{}, err
	}
	// AWS answers the create itself with Pending; every later read is Active.
	w := h.configuration(c, "")
	w.State, w.StateReason, w.StateReasonCode = "Pending", "The function is being created.", "Creating"
	return response{status: http.StatusCreated, body: w}, nil
}

// resolve parses the function label and ?Qualifier= of q and looks the
// function up in the registry's view.
func (h *Handler) resolve(q *request, shape function.Shape) (registry.Resolved, error) {
	ref, err := function.Resolve(q.params[0], q.query.Get("Qualifier"), shape, h.cfg.Region, h.cfg.AccountID)
	if err != nil {
		return registry.Resolved{}, err
	}
	return h.reg.Resolve(ref)
}

type wireCode struct {
	RepositoryType string `json:"RepositoryType"`
	Location       string `json:"Location"`
}

type wireGetFunction struct {
	Configuration *wireFunctionConfiguration `json:"Configuration"`
	Code          wireCode                   `json:"Code"`
	Tags          map[string]string          `json:"Tags,omitempty"`
	Concurrency   map[string]int             `json:"Concurrency,omitempty"`
}

func (h *Handler) getFunction(q *request) (response, error) {
	res, err := h.resolve(q, function.NamespacedFunctionName)
	if err != nil {
		return response{}, err
	}
	out := &wireGetFunction{
		Configuration: h.configuration(res.Config, res.Qualifier),
		Code:          h.wireCode(q.r, res.Config),
		Tags:          res.Function.Tags,
	}
	if rc := res.Function.ReservedConcurrency; rc != nil {
		out.Concurrency = map[string]int{"ReservedConcurrentExecutions": *rc}
	}
	return response{status: http.StatusOK, body: out}, nil
}

func (h *Handler) getFunctionConfiguration(q *request) (response, error) {
	res, err := h.resolve(q, function.NamespacedFunctionName)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: h.configuration(res.Config, res.Qualifier)}, nil
}

func (h *Handler) deleteFunction(q *request) (response, error) {
	if err := h.reg.DeleteFunction(q.r.Context(), q.params[0], q.query.Get("Qualifier")); err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}

func (h *Handler) updateFunctionConfiguration(q *request) (response, error) {
	var in registry.UpdateFunctionConfigurationInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	c, err := h.reg.UpdateFunctionConfiguration(q.r.Context(), q.params[0], &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: h.configuration(c, "")}, nil
}

func (h *Handler) updateFunctionCode(q *request) (response, error) {
	var in registry.UpdateFunctionCodeInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	c, err := h.reg.UpdateFunctionCode(q.r.Context(), q.params[0], &in)
	if err != nil {
		return response{}, err
	}
	qualifier := ""
	if c.Version != function.Latest {
		qualifier = c.Version
	}
	return response{status: http.StatusOK, body: h.configuration(c, qualifier)}, nil
}

func (h *Handler) publishVersion(q *request) (response, error) {
	var in registry.PublishVersionInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	c, err := h.reg.PublishVersion(q.r.Context(), q.params[0], &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusCreated, body: h.configuration(c, c.Version)}, nil
}

type wireFunctionList struct {
	Functions  []*wireFunctionConfiguration `json:"Functions"`
	NextMarker string                       `json:"NextMarker,omitempty"`
}

type wireVersionList struct {
	Versions   []*wireFunctionConfiguration `json:"Versions"`
	NextMarker string                       `json:"NextMarker,omitempty"`
}

func (h *Handler) listed(items []registry.Listed) []*wireFunctionConfiguration {
	out := make([]*wireFunctionConfiguration, len(items))
	for i, l := range items {
		out[i] = h.configuration(l.Config, l.Qualifier)
	}
	return out
}

func (h *Handler) listFunctions(q *request) (response, error) {
	opt, err := q.listOptions()
	if err != nil {
		return response{}, err
	}
	all := false
	if fv, ok := q.query["FunctionVersion"]; ok {
		if fv[0] != "ALL" {
			return response{}, function.NewValidation("functionVersion", fv[0], "Member must satisfy enum value set: [ALL]")
		}
		all = true
	}
	if _, ok := q.query["MasterRegion"]; ok {
		if !all {
			return response{}, awserr.New(awserr.InvalidParameterValue,
				"Invalid parameter combination: MasterRegion requires FunctionVersion=ALL.")
		}
		// lambada has no Lambda@Edge replicas.
		return response{status: http.StatusOK, body: &wireFunctionList{Functions: []*wireFunctionConfiguration{}}}, nil
	}
	p, err := h.reg.ListFunctions(opt, all)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: &wireFunctionList{Functions: h.listed(p.Items), NextMarker: p.NextMarker}}, nil
}

func (h *Handler) listVersions(q *request) (response, error) {
	opt, err := q.listOptions()
	if err != nil {
		return response{}, err
	}
	p, err := h.reg.ListVersions(q.params[0], opt)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: &wireVersionList{Versions: h.listed(p.Items), NextMarker: p.NextMarker}}, nil
}

func (h *Handler) getAccountSettings(q *request) (response, error) {
	s := h.reg.AccountSettings()
	return response{status: http.StatusOK, body: map[string]any{
		"AccountLimit": map[string]any{
			"TotalCodeSize":                  int64(80_530_636_800),
			"CodeSizeUnzipped":               int64(262_144_000),
			"CodeSizeZipped":                 int64(52_428_800),
			"ConcurrentExecutions":           s.ConcurrentExecutions,
			"UnreservedConcurrentExecutions": s.UnreservedConcurrentExecutions,
		},
		"AccountUsage": map[string]any{
			"TotalCodeSize": s.TotalCodeSize,
			"FunctionCount": s.FunctionCount,
		},
	}}, nil
}
