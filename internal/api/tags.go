package api

import "net/http"

func (h *Handler) tagResource(q *request) (response, error) {
	var in struct {
		Tags map[string]string `json:"Tags"`
	}
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	if err := h.reg.TagResource(q.r.Context(), q.params[0], in.Tags); err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}

func (h *Handler) untagResource(q *request) (response, error) {
	if err := h.reg.UntagResource(q.r.Context(), q.params[0], q.query["tagKeys"]); err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}

func (h *Handler) listTags(q *request) (response, error) {
	tags, err := h.reg.ListTags(q.params[0])
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: map[string]map[string]string{"Tags": tags}}, nil
}
