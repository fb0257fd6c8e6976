package registry

import (
	"context"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
)

// RecursionConfigInput is PutFunctionRecursionConfig's body.
type RecursionConfigInput struct {
	RecursiveLoop *string `json:"RecursiveLoop"`
}

// Recursive loop settings (docs/behaviour/recursion.md §1).
const (
	RecursiveLoopTerminate = "Terminate"
	RecursiveLoopAllow     = "Allow"
)

// PutRecursionConfig sets a function's RecursiveLoop; it belongs to the
// function (every version and alias) and is deleted with it.
func (r *Registry) PutRecursionConfig(ctx context.Context, rawName string, in *RecursionConfigInput) (string, error) {
	var v function.Violations
	function.CheckName(&v, rawName, function.UnqualifiedFunctionName, "functionName")
	v.NotNull("recursiveLoop", in.RecursiveLoop != nil)
	if in.RecursiveLoop != nil {
		v.Enum("recursiveLoop", *in.RecursiveLoop, RecursiveLoopTerminate, RecursiveLoopAllow)
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	name, err := r.recursionName(rawName)
	if err != nil {
		return "", err
	}
	value := *in.RecursiveLoop
	_, err = r.change(ctx, name, func(f *function.Function) error {
		if f.RecursiveLoop == value || (value == RecursiveLoopTerminate && f.RecursiveLoop == "") {
			return errNoChange
		}
		f.RecursiveLoop = value
		return nil
	})
	if err != nil {
		return "", r.mapNotFound(err, name)
	}
	return value, nil
}

// GetRecursionConfig returns a function's RecursiveLoop (Terminate unless
// set).
func (r *Registry) GetRecursionConfig(rawName string) (string, error) {
	name, err := r.recursionName(rawName)
	if err != nil {
		return "", err
	}
	f, ok := r.Function(name)
	if !ok {
		return "", r.notFound(name, "")
	}
	return RecursiveLoopOf(f), nil
}

// RecursiveLoopOf is f's effective setting.
func RecursiveLoopOf(f *function.Function) string {
	if f.RecursiveLoop == "" {
		return RecursiveLoopTerminate
	}
	return f.RecursiveLoop
}

// recursionName: an UnqualifiedFunctionName (a qualifier fails the
// pattern: ValidationException at functionName).
func (r *Registry) recursionName(raw string) (string, error) {
	ref, err := function.Resolve(raw, "", function.UnqualifiedFunctionName, r.cfg.Region, r.cfg.AccountID)
	if err != nil {
		return "", err
	}
	return ref.Name, nil
}

func (r *Registry) mapNotFound(err error, name string) error {
	if awserr.Is(err, awserr.ResourceNotFound) {
		return r.notFound(name, "")
	}
	return err
}
