package registry

import (
	"context"
	"crypto/rand"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
)

// Function URL configs (docs/behaviour/function-urls.md §1–§4).

// URLConfigInput is Create/UpdateFunctionUrlConfig's body.
type URLConfigInput struct {
	AuthType   *string        `json:"AuthType"`
	Cors       *function.Cors `json:"Cors"`
	InvokeMode *string        `json:"InvokeMode"`
}

// QualifiedURLConfig is a URL config with the function and qualifier it
// belongs to; Qualifier is $LATEST for the unqualified function's URL.
type QualifiedURLConfig struct {
	Name      string
	Qualifier string
	Config    *function.URLConfig
}

// URLTarget is what a URL id addresses, from the view.
type URLTarget struct {
	Function  *function.Function
	Qualifier string // $LATEST or an alias name
	Config    *function.URLConfig
}

// Patterns of the URL operations as the service prints them.
const (
	PatternURLFunctionName = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]{1,64})(:((?!\d+$)[0-9a-zA-Z-_]+))?`
	PatternURLQualifier    = `((?!^\d+$)^[0-9a-zA-Z-_]+$)`

	urlIDLen       = 32
	maxURLPage     = 50
	maxCorsItems   = 100
	maxCorsHeader  = 1024
	maxCorsMethods = 6
	maxCorsMethod  = 6
	maxCorsOrigin  = 253
	maxCorsMaxAge  = 86400
)

var (
	// RE2 has no look-ahead: the "not all digits" parts are checked apart.
	reURLFunctionName = regexp.MustCompile(`^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?(?:(?:eusc-)?[a-z]{2}(?:(?:-gov)|(?:-iso(?:[a-z]?)))?-[a-z]+-\d{1}:)?(?:\d{12}:)?(?:function:)?(?:[a-zA-Z0-9-_]{1,64})(?::([0-9a-zA-Z-_]+))?$`)
	reURLQualifier    = regexp.MustCompile(`^[0-9a-zA-Z-_]+$`)
)

const (
	msgURLNoFunction = "Function does not exist"
	msgURLNoResource = "The resource you requested does not exist."
)

func urlNotFound(msg string) error { return awserr.New(awserr.ResourceNotFound, msg) }

// urlRef checks and resolves the FunctionName label and ?Qualifier= of a
// URL operation: the unqualified function ($LATEST) or an alias, never a
// version. Model violations come before any lookup.
func (r *Registry) urlRef(rawName, queryQualifier string) (function.Ref, error) {
	var v function.Violations
	v.MaxLen("functionName", rawName, 140)
	v.MinLen("functionName", rawName, 1)
	if rawName != "" {
		m := reURLFunctionName.FindStringSubmatch(rawName)
		if m == nil || (m[1] != "" && function.IsVersionNumber(m[1])) {
			v.Pattern("functionName", rawName, PatternURLFunctionName)
		}
	}
	if queryQualifier != "" {
		v.MaxLen("qualifier", queryQualifier, 128)
		if !reURLQualifier.MatchString(queryQualifier) || function.IsVersionNumber(queryQualifier) {
			v.Pattern("qualifier", queryQualifier, PatternURLQualifier)
		}
	}
	if err := v.Err(); err != nil {
		return function.Ref{}, err
	}
	ref, err := function.Resolve(rawName, queryQualifier, function.FunctionName, r.cfg.Region, r.cfg.AccountID)
	if err != nil {
		return function.Ref{}, err
	}
	return ref, nil
}

// urlKey is the URLConfigs key of a qualifier ("" = $LATEST).
func urlKey(q string) string {
	if q == "" {
		return function.Latest
	}
	return q
}

// URLFunctionARN is a URL config's FunctionArn: unqualified for the
// $LATEST URL, the alias ARN otherwise.
func (r *Registry) URLFunctionARN(name, qualifier string) string {
	if qualifier == function.Latest {
		qualifier = ""
	}
	return r.arn(name, qualifier)
}

func checkURLInput(v *function.Violations, in *URLConfigInput, create bool) {
	if create {
		v.NotNull("authType", in.AuthType != nil)
	}
	if in.AuthType != nil {
		v.Enum("authType", *in.AuthType, function.AuthNone, function.AuthIAM)
	}
	if c := in.Cors; c != nil {
		checkCorsList(v, "cors.allowHeaders", c.AllowHeaders, maxCorsItems, 0, maxCorsHeader)
		checkCorsList(v, "cors.allowMethods", c.AllowMethods, maxCorsMethods, 0, maxCorsMethod)
		checkCorsList(v, "cors.allowOrigins", c.AllowOrigins, maxCorsItems, 1, maxCorsOrigin)
		checkCorsList(v, "cors.exposeHeaders", c.ExposeHeaders, maxCorsItems, 0, maxCorsHeader)
		if c.MaxAge != nil {
			v.Max("cors.maxAge", int64(*c.MaxAge), maxCorsMaxAge)
			v.Min("cors.maxAge", int64(*c.MaxAge), 0)
		}
	}
	if in.InvokeMode != nil {
		v.Enum("invokeMode", *in.InvokeMode, function.ModeStream, function.ModeBuffer)
	}
}

// checkCorsList applies a Cors list's limits: its own length, then each
// element's (all of one element's rules in one bracket, api-common §5.3).
func checkCorsList(v *function.Violations, path string, items []string, maxItems, minLen, maxLen int) {
	shown := "'[" + strings.Join(items, ", ") + "]'"
	if len(items) > maxItems {
		v.Add(path, shown, "Member must have length less than or equal to "+itoa(maxItems))
	}
	for _, s := range items {
		var rules []string
		if len(s) > maxLen {
			rules = append(rules, "Member must have length less than or equal to "+itoa(maxLen))
		}
		if len(s) < minLen {
			rules = append(rules, "Member must have length greater than or equal to "+itoa(minLen))
		}
		if len(rules) > 0 {
			v.Add(path, shown, "Member must satisfy constraint: ["+strings.Join(rules, ", ")+"]")
			return
		}
	}
}

// newURLID is 32 random characters of [a-z0-9].
func newURLID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, urlIDLen)
	_, _ = rand.Read(b)
	for i := range b {
		// 256 % 36 = 4: a negligible bias for an identifier.
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// CreateURLConfig gives the function or one of its aliases a URL.
func (r *Registry) CreateURLConfig(ctx context.Context, rawName, queryQualifier string, in *URLConfigInput) (QualifiedURLConfig, error) {
	return r.editURLConfig(ctx, rawName, queryQualifier, in, true, func(f *function.Function, key string) (*function.URLConfig, error) {
		if _, ok := f.URLConfigs[key]; ok {
			return nil, awserr.Newf(awserr.ResourceConflict,
				"Failed to create function url config for [functionArn = %s]. Error message:  FunctionUrlConfig exists for this Lambda function",
				r.URLFunctionARN(f.Name, key))
		}
		now := r.now()
		c := &function.URLConfig{ID: newURLID(), AuthType: *in.AuthType, Cors: in.Cors, Created: now, Modified: now}
		if in.InvokeMode != nil {
			c.InvokeMode = *in.InvokeMode
		}
		if f.URLConfigs == nil {
			f.URLConfigs = map[string]*function.URLConfig{}
		}
		f.URLConfigs[key] = c
		return c, nil
	})
}

// editURLConfig is Create and Update's common part: the qualifier and the
// input checked, then edit run on the function inside one registry change,
// once an alias qualifier is known to name an alias.
func (r *Registry) editURLConfig(ctx context.Context, rawName, queryQualifier string, in *URLConfigInput, create bool,
	edit func(f *function.Function, key string) (*function.URLConfig, error)) (QualifiedURLConfig, error) {
	ref, err := r.urlRef(rawName, queryQualifier)
	if err != nil {
		return QualifiedURLConfig{}, err
	}
	var v function.Violations
	checkURLInput(&v, in, create)
	if err := v.Err(); err != nil {
		return QualifiedURLConfig{}, err
	}
	key := urlKey(ref.Qualifier)
	var out *function.URLConfig
	_, err = r.change(ctx, ref.Name, func(f *function.Function) error {
		if key != function.Latest {
			if _, ok := f.Aliases[key]; !ok {
				return urlNotFound(msgURLNoFunction)
			}
		}
		c, err := edit(f, key)
		out = c
		return err
	})
	if err != nil {
		return QualifiedURLConfig{}, urlMissing(err, msgURLNoFunction)
	}
	return QualifiedURLConfig{Name: ref.Name, Qualifier: key, Config: out}, nil
}

// urlMissing gives a missing function the operation's message.
func urlMissing(err error, msg string) error {
	if e := awserr.As(err); e.Code == awserr.ResourceNotFound && strings.HasPrefix(e.Message, "Function not found") {
		return urlNotFound(msg)
	}
	return err
}

// GetURLConfig returns the URL config of the function or alias.
func (r *Registry) GetURLConfig(rawName, queryQualifier string) (QualifiedURLConfig, error) {
	ref, err := r.urlRef(rawName, queryQualifier)
	if err != nil {
		return QualifiedURLConfig{}, err
	}
	f, ok := r.Function(ref.Name)
	if !ok {
		return QualifiedURLConfig{}, urlNotFound(msgURLNoResource)
	}
	key := urlKey(ref.Qualifier)
	c, ok := f.URLConfigs[key]
	if !ok {
		return QualifiedURLConfig{}, urlNotFound(msgURLNoResource)
	}
	return QualifiedURLConfig{Name: ref.Name, Qualifier: key, Config: c}, nil
}

// UpdateURLConfig changes the members given; LastModifiedTime always moves.
func (r *Registry) UpdateURLConfig(ctx context.Context, rawName, queryQualifier string, in *URLConfigInput) (QualifiedURLConfig, error) {
	return r.editURLConfig(ctx, rawName, queryQualifier, in, false, func(f *function.Function, key string) (*function.URLConfig, error) {
		c, ok := f.URLConfigs[key]
		if !ok {
			return nil, urlNotFound(msgURLNoResource)
		}
		if in.AuthType != nil {
			c.AuthType = *in.AuthType
		}
		if in.Cors != nil {
			c.Cors = in.Cors
		}
		if in.InvokeMode != nil {
			c.InvokeMode = *in.InvokeMode
		}
		c.Modified = r.now()
		return c, nil
	})
}

// DeleteURLConfig removes the URL of the function (only the $LATEST one
// without a qualifier) or of one alias.
func (r *Registry) DeleteURLConfig(ctx context.Context, rawName, queryQualifier string) error {
	ref, err := r.urlRef(rawName, queryQualifier)
	if err != nil {
		return err
	}
	key := urlKey(ref.Qualifier)
	_, err = r.change(ctx, ref.Name, func(f *function.Function) error {
		if _, ok := f.URLConfigs[key]; !ok {
			return urlNotFound(msgURLNoResource)
		}
		delete(f.URLConfigs, key)
		return nil
	})
	return urlMissing(err, msgURLNoResource)
}

// ListURLConfigs lists a function's URLs: $LATEST first, then aliases by
// name.
func (r *Registry) ListURLConfigs(rawName string, opt ListOptions) (Page[QualifiedURLConfig], error) {
	ref, err := r.urlRef(rawName, "")
	if err != nil {
		return Page[QualifiedURLConfig]{}, err
	}
	f, ok := r.Function(ref.Name)
	if !ok {
		return Page[QualifiedURLConfig]{}, urlNotFound(msgURLNoFunction)
	}
	items := make([]QualifiedURLConfig, 0, len(f.URLConfigs))
	for q, c := range f.URLConfigs {
		items = append(items, QualifiedURLConfig{Name: f.Name, Qualifier: q, Config: c})
	}
	key := func(c QualifiedURLConfig) string {
		if c.Qualifier == function.Latest {
			return "0"
		}
		return "1" + c.Qualifier
	}
	sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	return paginate(items, key, opt, maxURLPage)
}

// URL finds the function URL with this id (case-insensitive) in the view.
func (r *Registry) URL(id string) (URLTarget, bool) {
	id = strings.ToLower(id)
	r.mu.RLock()
	e, ok := r.urls[id]
	var f *function.Function
	if ok {
		f = r.funcs[e.name]
	}
	r.mu.RUnlock()
	if f == nil {
		return URLTarget{}, false
	}
	c, ok := f.URLConfigs[e.qualifier]
	if !ok || c.ID != id {
		return URLTarget{}, false
	}
	return URLTarget{Function: f, Qualifier: e.qualifier, Config: c}, true
}

// urlEntry is the view's index entry of one URL id.
type urlEntry struct{ name, qualifier string }

// indexURLs replaces old's URL ids by f's in the index; r.mu is held.
func (r *Registry) indexURLs(old, f *function.Function) {
	if old != nil {
		for _, c := range old.URLConfigs {
			delete(r.urls, c.ID)
		}
	}
	if f != nil {
		for q, c := range f.URLConfigs {
			r.urls[c.ID] = urlEntry{name: f.Name, qualifier: q}
		}
	}
}

// dropQualifierExtras removes what belongs to a qualifier that is being
// deleted (a version or an alias): its URL config and its policy.
func dropQualifierExtras(f *function.Function, qualifier string) {
	delete(f.URLConfigs, qualifier)
	delete(f.Policies, qualifier)
}

func itoa(n int) string { return strconv.Itoa(n) }
