package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
)

// route is one operation: method, path pattern ("{}" marks a label), the
// body limit and the handler.
type route struct {
	name    string
	method  string
	pattern []string
	// query, when set, is a "key=value" the query string must carry: two
	// operations share a path and differ by it (ListProvisionedConcurrencyConfigs'
	// ?List=ALL, GetLayerVersionByArn's ?find=LayerVersion). Such routes come
	// before the plain route of the same path.
	query     string
	bodyLimit int64
	// opName is the operation's name in 413 messages when it differs
	// from name (Invoke says "InvokeFunction").
	opName string
	op     operation
	// invokes: the operation runs a function synchronously, so its answer
	// may come up to the longest function timeout later.
	invokes bool
}

func (rt *route) limitName() string {
	if rt.opName != "" {
		return rt.opName
	}
	return rt.name
}

func (h *Handler) table() []route {
	fn := func(prefix string, rest ...string) []string {
		return append([]string{prefix, "functions", "{}"}, rest...)
	}
	r := func(name, method string, pattern []string, op operation) route {
		return route{name: name, method: method, pattern: pattern, bodyLimit: DefaultBodyLimit, op: op}
	}
	code := func(rt route) route { rt.bodyLimit = function.MaxCodeRequestBody; return rt }
	invoke := r("Invoke", http.MethodPost, fn("2015-03-31", "invocations"), h.invoke)
	invoke.bodyLimit, invoke.opName, invoke.invokes = function.MaxSyncPayload, "InvokeFunction", true
	stream := r("InvokeWithResponseStream", http.MethodPost, fn("2021-11-15", "response-streaming-invocations"), h.invokeStream)
	stream.bodyLimit, stream.invokes = function.MaxSyncPayload, true
	invokeAsync := r("InvokeAsync", http.MethodPost, []string{"2014-11-13", "functions", "{}", "invoke-async"}, h.invokeAsync)
	invokeAsync.bodyLimit = function.MaxSyncPayload
	return append([]route{
		invoke,
		stream,
		invokeAsync,
		r("ReadDestination", http.MethodGet, []string{"lambada", "destinations"}, h.readDestination),
		code(r("CreateFunction", http.MethodPost, []string{"2015-03-31", "functions"}, h.createFunction)),
		r("ListFunctions", http.MethodGet, []string{"2015-03-31", "functions"}, h.listFunctions),
		r("GetFunction", http.MethodGet, fn("2015-03-31"), h.getFunction),
		r("DeleteFunction", http.MethodDelete, fn("2015-03-31"), h.deleteFunction),
		r("GetFunctionConfiguration", http.MethodGet, fn("2015-03-31", "configuration"), h.getFunctionConfiguration),
		r("UpdateFunctionConfiguration", http.MethodPut, fn("2015-03-31", "configuration"), h.updateFunctionConfiguration),
		code(r("UpdateFunctionCode", http.MethodPut, fn("2015-03-31", "code"), h.updateFunctionCode)),
		r("PublishVersion", http.MethodPost, fn("2015-03-31", "versions"), h.publishVersion),
		r("ListVersionsByFunction", http.MethodGet, fn("2015-03-31", "versions"), h.listVersions),
		r("CreateAlias", http.MethodPost, fn("2015-03-31", "aliases"), h.createAlias),
		r("ListAliases", http.MethodGet, fn("2015-03-31", "aliases"), h.listAliases),
		r("GetAlias", http.MethodGet, fn("2015-03-31", "aliases", "{}"), h.getAlias),
		r("UpdateAlias", http.MethodPut, fn("2015-03-31", "aliases", "{}"), h.updateAlias),
		r("DeleteAlias", http.MethodDelete, fn("2015-03-31", "aliases", "{}"), h.deleteAlias),
		r("PutFunctionConcurrency", http.MethodPut, fn("2017-10-31", "concurrency"), h.putConcurrency),
		r("DeleteFunctionConcurrency", http.MethodDelete, fn("2017-10-31", "concurrency"), h.deleteConcurrency),
		r("GetFunctionConcurrency", http.MethodGet, fn("2019-09-30", "concurrency"), h.getConcurrency),
		r("PutFunctionRecursionConfig", http.MethodPut, fn("2024-08-31", "recursion-config"), h.putRecursionConfig),
		r("GetFunctionRecursionConfig", http.MethodGet, fn("2024-08-31", "recursion-config"), h.getRecursionConfig),
		r("PutFunctionEventInvokeConfig", http.MethodPut, fn("2019-09-25", "event-invoke-config"), h.putEventInvokeConfig),
		r("UpdateFunctionEventInvokeConfig", http.MethodPost, fn("2019-09-25", "event-invoke-config"), h.updateEventInvokeConfig),
		r("GetFunctionEventInvokeConfig", http.MethodGet, fn("2019-09-25", "event-invoke-config"), h.getEventInvokeConfig),
		r("DeleteFunctionEventInvokeConfig", http.MethodDelete, fn("2019-09-25", "event-invoke-config"), h.deleteEventInvokeConfig),
		r("ListFunctionEventInvokeConfigs", http.MethodGet, fn("2019-09-25", "event-invoke-config", "list"), h.listEventInvokeConfigs),
		r("CreateFunctionUrlConfig", http.MethodPost, fn("2021-10-31", "url"), h.createURLConfig),
		r("GetFunctionUrlConfig", http.MethodGet, fn("2021-10-31", "url"), h.getURLConfig),
		r("UpdateFunctionUrlConfig", http.MethodPut, fn("2021-10-31", "url"), h.updateURLConfig),
		r("DeleteFunctionUrlConfig", http.MethodDelete, fn("2021-10-31", "url"), h.deleteURLConfig),
		r("ListFunctionUrlConfigs", http.MethodGet, fn("2021-10-31", "urls"), h.listURLConfigs),
		r("AddPermission", http.MethodPost, fn("2015-03-31", "policy"), h.addPermission),
		r("RemovePermission", http.MethodDelete, fn("2015-03-31", "policy", "{}"), h.removePermission),
		r("GetPolicy", http.MethodGet, fn("2015-03-31", "policy"), h.getPolicy),
		r("GetAccountSettings", http.MethodGet, []string{"2016-08-19", "account-settings"}, h.getAccountSettings),
		code(r("PublishLayerVersion", http.MethodPost, []string{"2018-10-31", "layers", "{}", "versions"}, h.publishLayerVersion)),
		r("ListLayerVersions", http.MethodGet, []string{"2018-10-31", "layers", "{}", "versions"}, h.listLayerVersions),
		r("GetLayerVersion", http.MethodGet, []string{"2018-10-31", "layers", "{}", "versions", "{}"}, h.getLayerVersion),
		r("DeleteLayerVersion", http.MethodDelete, []string{"2018-10-31", "layers", "{}", "versions", "{}"}, h.deleteLayerVersion),
		withQuery(r("GetLayerVersionByArn", http.MethodGet, []string{"2018-10-31", "layers"}, h.getLayerVersionByArn), "find=LayerVersion"),
		r("ListLayers", http.MethodGet, []string{"2018-10-31", "layers"}, h.listLayers),
		r("AddLayerVersionPermission", http.MethodPost, []string{"2018-10-31", "layers", "{}", "versions", "{}", "policy"}, h.addLayerVersionPermission),
		r("GetLayerVersionPolicy", http.MethodGet, []string{"2018-10-31", "layers", "{}", "versions", "{}", "policy"}, h.getLayerVersionPolicy),
		r("RemoveLayerVersionPermission", http.MethodDelete, []string{"2018-10-31", "layers", "{}", "versions", "{}", "policy", "{}"}, h.removeLayerVersionPermission),
		r("TagResource", http.MethodPost, []string{"2017-03-31", "tags", "{}"}, h.tagResource),
		r("UntagResource", http.MethodDelete, []string{"2017-03-31", "tags", "{}"}, h.untagResource),
		r("ListTags", http.MethodGet, []string{"2017-03-31", "tags", "{}"}, h.listTags),
		r("GetFunctionCodeSigningConfig", http.MethodGet, fn("2020-06-30", "code-signing-config"), h.getFunctionCodeSigningConfig),
		r("PutFunctionCodeSigningConfig", http.MethodPut, fn("2020-06-30", "code-signing-config"), h.putFunctionCodeSigningConfig),
		r("DeleteFunctionCodeSigningConfig", http.MethodDelete, fn("2020-06-30", "code-signing-config"), h.deleteFunctionCodeSigningConfig),
		r("CreateCodeSigningConfig", http.MethodPost, []string{"2020-04-22", "code-signing-configs"}, h.createCodeSigningConfig),
		r("ListCodeSigningConfigs", http.MethodGet, []string{"2020-04-22", "code-signing-configs"}, h.listCodeSigningConfigs),
		r("GetCodeSigningConfig", http.MethodGet, []string{"2020-04-22", "code-signing-configs", "{}"}, h.codeSigningConfigNotFound),
		r("UpdateCodeSigningConfig", http.MethodPut, []string{"2020-04-22", "code-signing-configs", "{}"}, h.codeSigningConfigNotFound),
		r("DeleteCodeSigningConfig", http.MethodDelete, []string{"2020-04-22", "code-signing-configs", "{}"}, h.codeSigningConfigNotFound),
		r("ListFunctionsByCodeSigningConfig", http.MethodGet, []string{"2020-04-22", "code-signing-configs", "{}", "functions"}, h.listFunctionsByCodeSigningConfig),
		r("GetRuntimeManagementConfig", http.MethodGet, fn("2021-07-20", "runtime-management-config"), h.getRuntimeManagementConfig),
		r("PutRuntimeManagementConfig", http.MethodPut, fn("2021-07-20", "runtime-management-config"), h.putRuntimeManagementConfig),
		withQuery(r("ListProvisionedConcurrencyConfigs", http.MethodGet, fn("2019-09-30", "provisioned-concurrency"), h.listProvisionedConcurrencyConfigs), "List=ALL"),
		r("GetProvisionedConcurrencyConfig", http.MethodGet, fn("2019-09-30", "provisioned-concurrency"), h.getProvisionedConcurrencyConfig),
		r("PutProvisionedConcurrencyConfig", http.MethodPut, fn("2019-09-30", "provisioned-concurrency"), h.putProvisionedConcurrencyConfig),
		r("DeleteProvisionedConcurrencyConfig", http.MethodDelete, fn("2019-09-30", "provisioned-concurrency"), h.deleteProvisionedConcurrencyConfig),
	}, h.unsupportedRoutes()...)
}

func withQuery(rt route, q string) route { rt.query = q; return rt }

var errUnknownOperation = awserr.New(awserr.UnknownOperation, "Unknown operation")

// match finds the route of r. The raw path is split on "/" and each
// segment percent-decoded exactly once (docs/behaviour/api-common.md §2); a
// trailing "/" is accepted.
func (h *Handler) match(r *http.Request) (*route, []string, error) {
	raw := r.URL.EscapedPath()
	raw = strings.TrimPrefix(raw, "/")
	raw = strings.TrimSuffix(raw, "/")
	segs := strings.Split(raw, "/")
	for i, s := range segs {
		d, err := url.PathUnescape(s)
		if err != nil {
			return nil, nil, errUnknownOperation
		}
		segs[i] = d
	}
	for i := range h.routes {
		rt := &h.routes[i]
		if rt.method != r.Method || len(rt.pattern) != len(segs) {
			continue
		}
		if rt.query != "" {
			k, v, _ := strings.Cut(rt.query, "=")
			if r.URL.Query().Get(k) != v {
				continue
			}
		}
		var params []string
		ok := true
		for j, p := range rt.pattern {
			if p == "{}" {
				params = append(params, segs[j])
			} else if p != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return rt, params, nil
		}
	}
	return nil, nil, errUnknownOperation
}
