package api

import (
	"net/http"

	"github.com/lambada-dev/lambada/internal/registry"
)

func (h *Handler) createAlias(q *request) (response, error) {
	var in registry.AliasInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	a, name, err := h.reg.CreateAlias(q.r.Context(), q.params[0], &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusCreated, body: h.alias(name, a)}, nil
}

func (h *Handler) getAlias(q *request) (response, error) {
	a, name, err := h.reg.GetAlias(q.params[0], q.params[1])
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: h.alias(name, a)}, nil
}

func (h *Handler) updateAlias(q *request) (response, error) {
	var in registry.AliasInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	a, name, err := h.reg.UpdateAlias(q.r.Context(), q.params[0], q.params[1], &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: h.alias(name, a)}, nil
}

func (h *Handler) deleteAlias(q *request) (response, error) {
	if err := h.reg.DeleteAlias(q.r.Context(), q.params[0], q.params[1]); err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}

type wireAliasList struct {
	Aliases    []*wireAlias `json:"Aliases"`
	NextMarker string       `json:"NextMarker,omitempty"`
}

func (h *Handler) listAliases(q *request) (response, error) {
	opt, err := q.listOptions()
	if err != nil {
		return response{}, err
	}
	p, name, err := h.reg.ListAliases(q.params[0], q.query.Get("FunctionVersion"), opt)
	if err != nil {
		return response{}, err
	}
	out := &wireAliasList{Aliases: make([]*wireAlias, len(p.Items)), NextMarker: p.NextMarker}
	for i, a := range p.Items {
		out.Aliases[i] = h.alias(name, a)
	}
	return response{status: http.StatusOK, body: out}, nil
}

func (h *Handler) putConcurrency(q *request) (response, error) {
	var in registry.ConcurrencyInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	n, err := h.reg.PutConcurrency(q.r.Context(), q.params[0], &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: map[string]int{"ReservedConcurrentExecutions": n}}, nil
}

func (h *Handler) getConcurrency(q *request) (response, error) {
	n, err := h.reg.GetConcurrency(q.params[0])
	if err != nil {
		return response{}, err
	}
	if n == nil {
		return response{status: http.StatusOK, body: map[string]int{}}, nil
	}
	return response{status: http.StatusOK, body: map[string]int{"ReservedConcurrentExecutions": *n}}, nil
}

func (h *Handler) deleteConcurrency(q *request) (response, error) {
	if err := h.reg.DeleteConcurrency(q.r.Context(), q.params[0]); err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}

func (h *Handler) putRecursionConfig(q *request) (response, error) {
	var in registry.RecursionConfigInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	v, err := h.reg.PutRecursionConfig(q.r.Context(), q.params[0], &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: map[string]string{"RecursiveLoop": v}}, nil
}

func (h *Handler) getRecursionConfig(q *request) (response, error) {
	v, err := h.reg.GetRecursionConfig(q.params[0])
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: map[string]string{"RecursiveLoop": v}}, nil
}
