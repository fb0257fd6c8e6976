package registry

import (
	"context"
	"strconv"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
)

const errAliasQualified = "Unsupported function name parameter: aliases are managed on the unqualified function name or ARN."

func (r *Registry) aliasARN(name, alias string) string { return r.arn(name, alias) }

// checkRouting applies the RoutingConfig rules of docs/behaviour/management.md
// §7 that need no stored state: model bounds, then the single-entry rule,
// then $LATEST and self-reference.
func checkRouting(rc *RoutingConfigInput, target string) (map[string]float64, error) {
	if rc == nil {
		return nil, nil
	}
	w := rc.AdditionalVersionWeights
	keys := sortedKeys(w)
	var v function.Violations
	var keyRules, valRules []string
	for _, k := range keys {
		if len(k) > 1024 || len(k) < 1 || !function.IsVersionNumber(k) {
			keyRules = []string{
				"Member must have length less than or equal to 1024",
				"Member must have length greater than or equal to 1",
				"Member must satisfy regular expression pattern: [0-9]+",
			}
		}
		if p := w[k]; p == nil || *p > 1 || *p < 0 {
			valRules = []string{
				"Member must have value less than or equal to 1.0",
				"Member must have value greater than or equal to 0.0",
				"Member must not be null",
			}
		}
	}
	if keyRules != nil || valRules != nil {
		parts := make([]string, len(keys))
		for i, k := range keys {
			val := "null"
			if p := w[k]; p != nil {
				val = function.FormatFloat(*p)
			}
			parts[i] = k + "=" + val
		}
		value := "'{" + strings.Join(parts, ", ") + "}'"
		if valRules != nil {
			v.Add("routingConfig.additionalVersionWeights", value, "Map value must satisfy constraint: ["+strings.Join(valRules, ", ")+"]")
		}
		if keyRules != nil {
			v.Add("routingConfig.additionalVersionWeights", value, "Map keys must satisfy constraint: ["+strings.Join(keyRules, ", ")+"]")
		}
		return nil, v.Err()
	}
	if len(w) > 1 {
		return nil, awserr.New(awserr.InvalidParameterValue, "Number of items in AdditionalVersionWeights cannot be greater than 1")
	}
	if len(w) == 0 {
		return nil, nil
	}
	if target == function.Latest {
		return nil, awserr.New(awserr.InvalidParameterValue, "$LATEST is not supported for an alias pointing to more than 1 version")
	}
	out := map[string]float64{}
	for _, k := range keys {
		if k == target {
			return nil, awserr.Newf(awserr.InvalidParameterValue,
				"Invalid function version %s. Function version %s is already included in routing configuration.", k, k)
		}
		out[k] = *w[k]
	}
	return out, nil
}

func checkFunctionVersion(v *function.Violations, fv *string) {
	if fv == nil {
		return
	}
	v.MaxLen("functionVersion", *fv, 1024)
	v.MinLen("functionVersion", *fv, 1)
	if *fv != "" && *fv != function.Latest && !function.IsVersionNumber(*fv) {
		v.Pattern("functionVersion", *fv, function.PatternVersion)
	}
}

// CreateAlias adds an alias.
func (r *Registry) CreateAlias(ctx context.Context, rawName string, in *AliasInput) (*function.Alias, string, error) {
	var v function.Violations
	function.CheckName(&v, rawName, function.FunctionName, "functionName")
	v.NotNull("name", in.Name != nil)
	v.NotNull("functionVersion", in.FunctionVersion != nil)
	if in.Name != nil {
		function.CheckAliasNameInto(&v, "name", *in.Name)
	}
	checkFunctionVersion(&v, in.FunctionVersion)
	if in.Description != nil {
		v.MaxLen("description", *in.Description, function.MaxDescription)
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	name, err := r.unqualifiedName(rawName, function.FunctionName, errAliasQualified)
	if err != nil {
		return nil, "", err
	}
	weights, err := checkRouting(in.RoutingConfig, *in.FunctionVersion)
	if err != nil {
		return nil, "", err
	}
	if _, ok := r.Function(name); !ok {
		return nil, "", r.notFound(name, *in.FunctionVersion)
	}
	var out *function.Alias
	_, err = r.change(ctx, name, func(f *function.Function) error {
		if err := r.versionsExist(f, *in.FunctionVersion, weights); err != nil {
			return err
		}
		if _, ok := f.Aliases[*in.Name]; ok {
			return awserr.New(awserr.ResourceConflict, "Alias already exists: "+r.aliasARN(name, *in.Name))
		}
		a := &function.Alias{Name: *in.Name, FunctionVersion: *in.FunctionVersion, Weights: weights, RevisionID: newRevision()}
		if in.Description != nil {
			a.Description = *in.Description
		}
		if f.Aliases == nil {
			f.Aliases = map[string]*function.Alias{}
		}
		f.Aliases[a.Name] = a
		out = a
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, name, nil
}

func (r *Registry) versionsExist(f *function.Function, target string, weights map[string]float64) error {
	if _, ok := f.Version(target); !ok {
		return r.notFound(f.Name, target)
	}
	for _, k := range sortedKeys(weights) {
		if _, ok := f.Version(k); !ok {
			return r.notFound(f.Name, k)
		}
	}
	return nil
}

// GetAlias returns one alias.
func (r *Registry) GetAlias(rawName, alias string) (*function.Alias, string, error) {
	name, err := r.unqualifiedName(rawName, function.FunctionName, errAliasQualified)
	if err != nil {
		return nil, "", err
	}
	if err := function.CheckAliasName("name", alias); err != nil {
		return nil, "", err
	}
	f, ok := r.Function(name)
	if !ok {
		return nil, "", r.notFound(name, "")
	}
	a, ok := f.Aliases[alias]
	if !ok {
		return nil, "", awserr.New(awserr.ResourceNotFound, "Cannot find alias arn: "+r.aliasARN(name, alias))
	}
	return a, name, nil
}

// UpdateAlias changes an alias's target, description or routing.
func (r *Registry) UpdateAlias(ctx context.Context, rawName, alias string, in *AliasInput) (*function.Alias, string, error) {
	var v function.Violations
	function.CheckName(&v, rawName, function.FunctionName, "functionName")
	function.CheckAliasNameInto(&v, "name", alias)
	checkFunctionVersion(&v, in.FunctionVersion)
	if in.Description != nil {
		v.MaxLen("description", *in.Description, function.MaxDescription)
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	name, err := r.unqualifiedName(rawName, function.FunctionName, errAliasQualified)
	if err != nil {
		return nil, "", err
	}
	var out *function.Alias
	_, err = r.change(ctx, name, func(f *function.Function) error {
		old, ok := f.Aliases[alias]
		if !ok {
			return awserr.New(awserr.ResourceNotFound, "Alias not found: "+r.aliasARN(name, alias))
		}
		if err := checkRevision(in.RevisionID, old.RevisionID); err != nil {
			return err
		}
		a := *old
		if in.FunctionVersion != nil {
			a.FunctionVersion = *in.FunctionVersion
		}
		if in.RoutingConfig != nil {
			w, err := checkRouting(in.RoutingConfig, a.FunctionVersion)
			if err != nil {
				return err
			}
			a.Weights = w
		} else if len(a.Weights) > 0 {
			if _, err := checkRouting(&RoutingConfigInput{AdditionalVersionWeights: ptrWeights(a.Weights)}, a.FunctionVersion); err != nil {
				return err
			}
		}
		if err := r.versionsExist(f, a.FunctionVersion, a.Weights); err != nil {
			return err
		}
		if in.Description != nil {
			a.Description = *in.Description
		}
		a.RevisionID = newRevision()
		f.Aliases[alias] = &a
		out = &a
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, name, nil
}

func ptrWeights(w map[string]float64) map[string]*float64 {
	out := make(map[string]*float64, len(w))
	for k, v := range w {
		out[k] = &v
	}
	return out
}

// DeleteAlias removes an alias; a missing alias is not an error.
func (r *Registry) DeleteAlias(ctx context.Context, rawName, alias string) error {
	if err := function.CheckAliasName("name", alias); err != nil {
		return err
	}
	name, err := r.unqualifiedName(rawName, function.FunctionName, errAliasQualified)
	if err != nil {
		return err
	}
	_, err = r.change(ctx, name, func(f *function.Function) error {
		if _, ok := f.Aliases[alias]; !ok {
			return errNoChange
		}
		delete(f.Aliases, alias)
		dropEventInvokeConfig(f, alias)
		dropQualifierExtras(f, alias)
		return nil
	})
	return err
}

// ListAliases lists a function's aliases by name, optionally only those
// routing to version.
func (r *Registry) ListAliases(rawName, version string, opt ListOptions) (Page[*function.Alias], string, error) {
	var v function.Violations
	function.CheckName(&v, rawName, function.NamespacedFunctionName, "functionName")
	if version != "" {
		checkFunctionVersion(&v, &version)
	}
	if err := v.Err(); err != nil {
		return Page[*function.Alias]{}, "", err
	}
	name, err := r.unqualifiedName(rawName, function.NamespacedFunctionName, errAliasQualified)
	if err != nil {
		return Page[*function.Alias]{}, "", err
	}
	f, ok := r.Function(name)
	if !ok {
		return Page[*function.Alias]{}, "", r.notFound(name, "")
	}
	var items []*function.Alias
	for _, n := range sortedKeys(f.Aliases) {
		a := f.Aliases[n]
		if version == "" || a.References(version) {
			items = append(items, a)
		}
	}
	p, err := paginate(items, func(a *function.Alias) string { return a.Name }, opt, function.MaxListItems)
	return p, name, err
}

const errConcurrencyQualified = "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN."

// PutConcurrency reserves concurrency for a function.
func (r *Registry) PutConcurrency(ctx context.Context, rawName string, in *ConcurrencyInput) (int, error) {
	var v function.Violations
	function.CheckName(&v, rawName, function.FunctionName, "functionName")
	v.NotNull("reservedConcurrentExecutions", in.ReservedConcurrentExecutions != nil)
	if in.ReservedConcurrentExecutions != nil {
		v.Min("reservedConcurrentExecutions", *in.ReservedConcurrentExecutions, 0)
	}
	if err := v.Err(); err != nil {
		return 0, err
	}
	name, err := r.unqualifiedName(rawName, function.FunctionName, errConcurrencyQualified)
	if err != nil {
		return 0, err
	}
	n := *in.ReservedConcurrentExecutions
	if _, ok := r.Function(name); !ok {
		return 0, r.notFound(name, function.Latest)
	}
	_, err = r.change(ctx, name, func(f *function.Function) error {
		if n > int64(r.cfg.AccountConcurrency) || int(n)+r.reservedByOthers(name) > r.cfg.AccountConcurrency-function.MinUnreservedAccount {
			return awserr.New(awserr.InvalidParameterValue,
				"Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of ["+strconv.Itoa(function.MinUnreservedAccount)+"].")
		}
		k := int(n)
		f.ReservedConcurrency = &k
		return nil
	})
	if awserr.Is(err, awserr.ResourceNotFound) {
		return 0, r.notFound(name, function.Latest)
	}
	return int(n), err
}

// reservedByOthers sums the reservations of every function but name. The
// sum comes from the view; two nodes reserving at the same instant could
// overshoot by one request's worth, which the next Put corrects.
func (r *Registry) reservedByOthers(name string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	sum := 0
	for n, f := range r.funcs {
		if n != name && f.ReservedConcurrency != nil {
			sum += *f.ReservedConcurrency
		}
	}
	return sum
}

// GetConcurrency returns the reservation, nil when none is set.
func (r *Registry) GetConcurrency(rawName string) (*int, error) {
	name, err := r.unqualifiedName(rawName, function.FunctionName, errConcurrencyQualified)
	if err != nil {
		return nil, err
	}
	f, ok := r.Function(name)
	if !ok {
		return nil, r.notFound(name, "")
	}
	return f.ReservedConcurrency, nil
}

// DeleteConcurrency removes the reservation.
func (r *Registry) DeleteConcurrency(ctx context.Context, rawName string) error {
	name, err := r.unqualifiedName(rawName, function.FunctionName, errConcurrencyQualified)
	if err != nil {
		return err
	}
	_, err = r.change(ctx, name, func(f *function.Function) error {
		if f.ReservedConcurrency == nil {
			return errNoChange
		}
		f.ReservedConcurrency = nil
		return nil
	})
	if awserr.Is(err, awserr.ResourceNotFound) {
		return r.notFound(name, function.Latest)
	}
	return err
}
