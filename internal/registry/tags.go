package registry

import (
	"context"
	"regexp"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
)

// Tags are function metadata (docs/behaviour/tags-and-iac.md §3): stored
// with the function, returned by GetFunction and ListTags, changed by
// TagResource and UntagResource, never part of a version.

// PatternTaggableResource is the model's pattern of a tag resource ARN.
const PatternTaggableResource = `arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`

// Tag limits (docs/behaviour/tags-and-iac.md §3).
const (
	MaxTags        = 50
	MaxTagKeyLen   = 128
	MaxTagValueLen = 256
	maxResourceLen = 256
)

var reTaggable = regexp.MustCompile(`^(?:` + PatternTaggableResource + `)$`)

const msgTagQualified = "Tagging operations are permitted on Lambda functions only. Tags on aliases and versions are not supported. Please specify either a function name or a function ARN."

// taggedFunction resolves a tag resource ARN to a function name.
func (r *Registry) taggedFunction(resource string) (string, error) {
	var v function.Violations
	v.MaxLen("resource", resource, maxResourceLen)
	v.MinLen("resource", resource, 1)
	if resource != "" && !reTaggable.MatchString(resource) {
		v.Pattern("resource", resource, PatternTaggableResource)
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	if !strings.Contains(resource, ":function:") {
		// Code signing configurations and event source mappings: lambada
		// has none (§1, §2 of the same page).
		return "", awserr.New(awserr.ResourceNotFound, "The resource you requested does not exist.")
	}
	ref, err := function.Resolve(resource, "", function.FunctionName, r.cfg.Region, r.cfg.AccountID)
	if err != nil {
		return "", err
	}
	if ref.Qualifier != "" {
		return "", awserr.New(awserr.InvalidParameterValue, msgTagQualified)
	}
	if _, ok := r.Function(ref.Name); !ok {
		return "", r.notFound(ref.Name, "")
	}
	return ref.Name, nil
}

// checkTags applies the limits to the tags a function would have.
func checkTags(tags map[string]string) error {
	for _, k := range sortedKeys(tags) {
		switch {
		case k == "" || len(k) > MaxTagKeyLen:
			return awserr.Newf(awserr.InvalidParameterValue,
				"The tag key %q is not valid: a key has 1 to %d characters.", k, MaxTagKeyLen)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return awserr.Newf(awserr.InvalidParameterValue,
				"The tag key %q is not valid: the prefix aws: is reserved for AWS use.", k)
		case len(tags[k]) > MaxTagValueLen:
			return awserr.Newf(awserr.InvalidParameterValue,
				"The tag value of key %q is not valid: a value has at most %d characters.", k, MaxTagValueLen)
		}
	}
	if len(tags) > MaxTags {
		return awserr.New(awserr.InvalidParameterValue, "Number of tags exceeds resource tag limit.")
	}
	return nil
}

// TagResource adds or replaces tags of a function.
func (r *Registry) TagResource(ctx context.Context, resource string, tags map[string]string) error {
	if tags == nil {
		var v function.Violations
		v.NotNull("tags", false)
		return v.Err()
	}
	name, err := r.taggedFunction(resource)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		return awserr.New(awserr.InvalidParameterValue, "An error occurred and the request cannot be processed.")
	}
	_, err = r.change(ctx, name, func(f *function.Function) error {
		next := cloneMap(f.Tags)
		if next == nil {
			next = map[string]string{}
		}
		for k, v := range tags {
			next[k] = v
		}
		if err := checkTags(next); err != nil {
			return err
		}
		f.Tags = next
		return nil
	})
	return err
}

// UntagResource removes tags of a function; unknown keys are ignored.
func (r *Registry) UntagResource(ctx context.Context, resource string, keys []string) error {
	if len(keys) == 0 {
		var v function.Violations
		v.NotNull("tagKeys", false)
		return v.Err()
	}
	name, err := r.taggedFunction(resource)
	if err != nil {
		return err
	}
	_, err = r.change(ctx, name, func(f *function.Function) error {
		n := len(f.Tags)
		for _, k := range keys {
			delete(f.Tags, k)
		}
		if len(f.Tags) == n {
			return errNoChange
		}
		if len(f.Tags) == 0 {
			f.Tags = nil
		}
		return nil
	})
	return err
}

// ListTags returns a function's tags (empty, never nil).
func (r *Registry) ListTags(resource string) (map[string]string, error) {
	name, err := r.taggedFunction(resource)
	if err != nil {
		return nil, err
	}
	f, ok := r.Function(name)
	if !ok {
		return nil, r.notFound(name, "")
	}
	out := cloneMap(f.Tags)
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}
