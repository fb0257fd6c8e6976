package api

import (
	"net/http"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
)

// The function settings infrastructure-as-code tools read after every
// create and on every refresh, answered for lambada's model: no code
// signing, runtimes that update only with the binary (Auto), no
// provisioned concurrency (docs/behaviour/tags-and-iac.md §1).

const (
	msgCodeSigning = "Code signing is not supported by this server: lambada does not verify code signatures."
	msgRuntimeMode = "UpdateRuntimeOn %s is not supported by this server: lambada's runtimes are part of its binary and change only with it (Auto)."
	msgProvisioned = "Provisioned concurrency is not supported by this server: lambada starts environments on demand."
	msgPCLatest    = "The function resource provided must be an alias or a published version."
)

// unqualifiedFunction resolves a FunctionName label that must not carry a
// qualifier (the code-signing operations) and returns the function's name.
func (h *Handler) unqualifiedFunction(q *request, shape function.Shape) (string, error) {
	ref, err := function.Resolve(q.params[0], "", shape, h.cfg.Region, h.cfg.AccountID)
	if err != nil {
		return "", err
	}
	if ref.Qualifier != "" {
		return "", awserr.New(awserr.InvalidParameterValue,
			"Unsupported function name parameter: this operation is permitted on the unqualified function name or ARN only.")
	}
	if _, ok := h.reg.Function(ref.Name); !ok {
		return "", awserr.New(awserr.ResourceNotFound, "Function not found: "+h.reg.ARN(ref.Name, ""))
	}
	return ref.Name, nil
}

func (h *Handler) getFunctionCodeSigningConfig(q *request) (response, error) {
	name, err := h.unqualifiedFunction(q, function.FunctionName)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: map[string]string{"CodeSigningConfigArn": "", "FunctionName": name}}, nil
}

func (h *Handler) putFunctionCodeSigningConfig(q *request) (response, error) {
	var in struct {
		CodeSigningConfigArn *string `json:"CodeSigningConfigArn"`
	}
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	var v function.Violations
	function.CheckName(&v, q.params[0], function.FunctionName, "functionName")
	v.NotNull("codeSigningConfigArn", in.CodeSigningConfigArn != nil)
	if err := v.Err(); err != nil {
		return response{}, err
	}
	if _, err := h.unqualifiedFunction(q, function.FunctionName); err != nil {
		return response{}, err
	}
	return response{}, awserr.New(awserr.InvalidParameterValue, msgCodeSigning)
}

func (h *Handler) deleteFunctionCodeSigningConfig(q *request) (response, error) {
	if _, err := h.unqualifiedFunction(q, function.FunctionName); err != nil {
		return response{}, err
	}
	return response{}, awserr.New(awserr.InvalidParameterValue, msgCodeSigning)
}

func (h *Handler) createCodeSigningConfig(q *request) (response, error) {
	return response{}, awserr.New(awserr.InvalidParameterValue, msgCodeSigning)
}

func (h *Handler) listCodeSigningConfigs(q *request) (response, error) {
	if _, err := q.maxItems(); err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: map[string]any{"CodeSigningConfigs": []any{}}}, nil
}

// codeSigningConfigNotFound answers the operations on one code signing
// configuration: none can exist on lambada.
func (h *Handler) codeSigningConfigNotFound(q *request) (response, error) {
	return response{}, awserr.Newf(awserr.CodeSigningConfigNotFound,
		"The Lambda code signing configuration %s can not be found.", q.params[0])
}

func (h *Handler) listFunctionsByCodeSigningConfig(q *request) (response, error) {
	if _, err := q.maxItems(); err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: map[string]any{"FunctionArns": []string{}}}, nil
}

type wireRuntimeManagement struct {
	UpdateRuntimeOn string `json:"UpdateRuntimeOn"`
	FunctionArn     string `json:"FunctionArn"`
}

func (h *Handler) getRuntimeManagementConfig(q *request) (response, error) {
	res, err := h.resolve(q, function.NamespacedFunctionName)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: wireRuntimeManagement{
		UpdateRuntimeOn: "Auto", FunctionArn: h.reg.ARN(res.Function.Name, ""),
	}}, nil
}

func (h *Handler) putRuntimeManagementConfig(q *request) (response, error) {
	var in struct {
		UpdateRuntimeOn   *string `json:"UpdateRuntimeOn"`
		RuntimeVersionArn *string `json:"RuntimeVersionArn"`
	}
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	var v function.Violations
	if in.UpdateRuntimeOn == nil {
		v.NotNull("updateRuntimeOn", false)
	} else {
		v.Enum("updateRuntimeOn", *in.UpdateRuntimeOn, "Auto", "Manual", "FunctionUpdate")
	}
	if err := v.Err(); err != nil {
		return response{}, err
	}
	res, err := h.resolve(q, function.FunctionName)
	if err != nil {
		return response{}, err
	}
	if *in.UpdateRuntimeOn != "Auto" {
		return response{}, awserr.Newf(awserr.InvalidParameterValue, msgRuntimeMode, *in.UpdateRuntimeOn)
	}
	if in.RuntimeVersionArn != nil {
		return response{}, awserr.New(awserr.InvalidParameterValue,
			"RuntimeVersionArn can be specified only when UpdateRuntimeOn is Manual, which is not supported by this server.")
	}
	return response{status: http.StatusOK, body: wireRuntimeManagement{
		UpdateRuntimeOn: "Auto", FunctionArn: h.reg.ARN(res.Function.Name, ""),
	}}, nil
}

// provisionedTarget checks the Qualifier every provisioned-concurrency
// operation on one configuration requires and resolves it.
func (h *Handler) provisionedTarget(q *request) error {
	if _, ok := q.query["Qualifier"]; !ok {
		var v function.Violations
		function.CheckName(&v, q.params[0], function.FunctionName, "functionName")
		v.NotNull("qualifier", false)
		return v.Err()
	}
	if q.query.Get("Qualifier") == function.Latest {
		if err := function.CheckQualifier(function.Latest); err != nil {
			return err
		}
		return awserr.New(awserr.InvalidParameterValue, msgPCLatest)
	}
	_, err := h.resolve(q, function.FunctionName)
	return err
}

func (h *Handler) getProvisionedConcurrencyConfig(q *request) (response, error) {
	if err := h.provisionedTarget(q); err != nil {
		return response{}, err
	}
	return response{}, awserr.New(awserr.ProvisionedConcurrencyConfigNotFound,
		"No Provisioned Concurrency Config found for this function")
}

func (h *Handler) listProvisionedConcurrencyConfigs(q *request) (response, error) {
	if _, err := q.maxItems(); err != nil {
		return response{}, err
	}
	if _, err := h.unqualifiedFunction(q, function.FunctionName); err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: map[string]any{"ProvisionedConcurrencyConfigs": []any{}}}, nil
}

func (h *Handler) putProvisionedConcurrencyConfig(q *request) (response, error) {
	var in struct {
		ProvisionedConcurrentExecutions *int64 `json:"ProvisionedConcurrentExecutions"`
	}
	if err := q.decode(&in); err != nil {
		return response{}, err
	}
	var v function.Violations
	if in.ProvisionedConcurrentExecutions == nil {
		v.NotNull("provisionedConcurrentExecutions", false)
	} else {
		v.Min("provisionedConcurrentExecutions", *in.ProvisionedConcurrentExecutions, 1)
	}
	if err := v.Err(); err != nil {
		return response{}, err
	}
	if q.query.Get("Qualifier") == function.Latest {
		return response{}, awserr.New(awserr.InvalidParameterValue,
			"Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	}
	if err := h.provisionedTarget(q); err != nil {
		return response{}, err
	}
	return response{}, awserr.New(awserr.InvalidParameterValue, msgProvisioned)
}

// deleteProvisionedConcurrencyConfig is idempotent as on AWS: there is
// never a configuration to delete.
func (h *Handler) deleteProvisionedConcurrencyConfig(q *request) (response, error) {
	if err := h.provisionedTarget(q); err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}
