package api

import (
	"net/http"
	"net/url"

	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/registry"
)

// The layer operations (docs/behaviour/layers.md §1–§4).

type wireLayerContent struct {
	Location   string `json:"Location"`
	CodeSha256 string `json:"CodeSha256"`
	CodeSize   int64  `json:"CodeSize"`
}

// wireLayerVersion is PublishLayerVersion's and GetLayerVersion's answer;
// list items leave out Content and LayerArn.
type wireLayerVersion struct {
	Content                 *wireLayerContent `json:"Content,omitempty"`
	LayerArn                string            `json:"LayerArn,omitempty"`
	LayerVersionArn         string            `json:"LayerVersionArn"`
	Description             string            `json:"Description"`
	CreatedDate             string            `json:"CreatedDate"`
	Version                 int64             `json:"Version"`
	CompatibleRuntimes      *[]string         `json:"CompatibleRuntimes,omitempty"`
	CompatibleArchitectures *[]string         `json:"CompatibleArchitectures,omitempty"`
	LicenseInfo             string            `json:"LicenseInfo,omitempty"`
}

func (h *Handler) layerItem(name string, lv *function.LayerVersion) *wireLayerVersion {
	w := &wireLayerVersion{
		LayerVersionArn: h.reg.LayerARN(name, lv.Version),
		Description:     lv.Description,
		CreatedDate:     lv.Created.UTC().Format(lastModifiedLayout),
		Version:         lv.Version,
		LicenseInfo:     lv.LicenseInfo,
	}
	if lv.CompatibleRuntimes != nil {
		w.CompatibleRuntimes = &lv.CompatibleRuntimes
	}
	if lv.CompatibleArchitectures != nil {
		w.CompatibleArchitectures = &lv.CompatibleArchitectures
	}
	return w
}

func (h *Handler) layerVersion(q *request, name string, lv *function.LayerVersion) *wireLayerVersion {
	w := h.layerItem(name, lv)
	w.LayerArn = h.reg.LayerARN(name, 0)
	w.Content = &wireLayerContent{Location: h.blobURL(q.r, lv.CodeHex), CodeSha256: lv.CodeSha256, CodeSize: lv.CodeSize}
	if lv.CodeDir != "" {
		// A host folder: its file: URL, as for a function's code
		// (docs/behaviour/dev-loop.md §3).
		w.Content.Location = (&url.URL{Scheme: "file", Path: lv.CodeDir}).String()
	}
	return w
}

func (h *Handler) publishLayerVersion(q *request) (response, error) {
	var in registry.PublishLayerVersionInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	name, lv, err := h.reg.PublishLayerVersion(q.r.Context(), q.params[0], &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusCreated, body: h.layerVersion(q, name, lv)}, nil
}

func (h *Handler) getLayerVersion(q *request) (response, error) {
	name, lv, err := h.reg.GetLayerVersion(q.params[0], q.params[1])
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: h.layerVersion(q, name, lv)}, nil
}

func (h *Handler) getLayerVersionByArn(q *request) (response, error) {
	var v function.Violations
	arn, ok := q.query["Arn"]
	if !ok {
		v.NotNull("arn", false)
		return response{}, v.Err()
	}
	name, lv, err := h.reg.GetLayerVersionByArn(arn[0])
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: h.layerVersion(q, name, lv)}, nil
}

func (h *Handler) deleteLayerVersion(q *request) (response, error) {
	if err := h.reg.DeleteLayerVersion(q.r.Context(), q.params[0], q.params[1]); err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}

func (q *request) layerFilter() registry.LayerFilter {
	return registry.LayerFilter{Runtime: q.query.Get("CompatibleRuntime"), Architecture: q.query.Get("CompatibleArchitecture")}
}

type wireLayerVersionList struct {
	LayerVersions []*wireLayerVersion `json:"LayerVersions"`
	NextMarker    string              `json:"NextMarker,omitempty"`
}

func (h *Handler) listLayerVersions(q *request) (response, error) {
	opt, err := q.listOptions()
	if err != nil {
		return response{}, err
	}
	p, err := h.reg.ListLayerVersions(q.params[0], q.layerFilter(), opt)
	if err != nil {
		return response{}, err
	}
	out := &wireLayerVersionList{LayerVersions: []*wireLayerVersion{}, NextMarker: p.NextMarker}
	for _, it := range p.Items {
		out.LayerVersions = append(out.LayerVersions, h.layerItem(it.Name, it.Version))
	}
	return response{status: http.StatusOK, body: out}, nil
}

type wireLayer struct {
	LayerName             string            `json:"LayerName"`
	LayerArn              string            `json:"LayerArn"`
	LatestMatchingVersion *wireLayerVersion `json:"LatestMatchingVersion"`
}

type wireLayerList struct {
	Layers     []wireLayer `json:"Layers"`
	NextMarker string      `json:"NextMarker,omitempty"`
}

func (h *Handler) listLayers(q *request) (response, error) {
	opt, err := q.listOptions()
	if err != nil {
		return response{}, err
	}
	p, err := h.reg.ListLayers(q.layerFilter(), opt)
	if err != nil {
		return response{}, err
	}
	out := &wireLayerList{Layers: []wireLayer{}, NextMarker: p.NextMarker}
	for _, it := range p.Items {
		out.Layers = append(out.Layers, wireLayer{
			LayerName: it.Name, LayerArn: h.reg.LayerARN(it.Name, 0), LatestMatchingVersion: h.layerItem(it.Name, it.Version),
		})
	}
	return response{status: http.StatusOK, body: out}, nil
}

func revisionQuery(q *request) *string {
	if v, ok := q.query["RevisionId"]; ok {
		return &v[0]
	}
	return nil
}

func (h *Handler) addLayerVersionPermission(q *request) (response, error) {
	var in registry.LayerPermissionInput
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	st, rev, err := h.reg.AddLayerVersionPermission(q.r.Context(), q.params[0], q.params[1], revisionQuery(q), &in)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusCreated, body: map[string]string{"Statement": st, "RevisionId": rev}}, nil
}

func (h *Handler) getLayerVersionPolicy(q *request) (response, error) {
	p, err := h.reg.GetLayerVersionPolicy(q.params[0], q.params[1])
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: map[string]string{"Policy": p.Policy, "RevisionId": p.RevisionID}}, nil
}

func (h *Handler) removeLayerVersionPermission(q *request) (response, error) {
	if err := h.reg.RemoveLayerVersionPermission(q.r.Context(), q.params[0], q.params[1], q.params[2], revisionQuery(q)); err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}
