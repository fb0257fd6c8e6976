package registry

import (
	"context"
	"encoding/base64"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
)

// FunctionEventInvokeConfig operations (docs/behaviour/async.md §3).

// EventInvokeConfigInput is Put/UpdateFunctionEventInvokeConfig's body.
type EventInvokeConfigInput struct {
	MaximumRetryAttempts     *int64                  `json:"MaximumRetryAttempts"`
	MaximumEventAgeInSeconds *int64                  `json:"MaximumEventAgeInSeconds"`
	DestinationConfig        *DestinationConfigInput `json:"DestinationConfig"`
}

// DestinationConfigInput is an event-invoke config's DestinationConfig.
type DestinationConfigInput struct {
	OnSuccess *DestinationInput `json:"OnSuccess"`
	OnFailure *DestinationInput `json:"OnFailure"`
}

// DestinationInput is one side of a DestinationConfig.
type DestinationInput struct {
	Destination *string `json:"Destination"`
}

func (d *DestinationInput) value() string {
	if d == nil || d.Destination == nil {
		return ""
	}
	return *d.Destination
}

// QualifiedEventInvokeConfig is a stored config with the function and
// qualifier it belongs to; Qualifier is never "" ($LATEST when none).
type QualifiedEventInvokeConfig struct {
	Name      string
	Qualifier string
	Config    *function.EventInvokeConfig
}

// Model bounds and the DestinationArn pattern as the service prints it.
const (
	minRetryAttempts   = 0
	maxRetryAttempts   = 2
	minEventAge        = 60
	maxEventAge        = 21_600
	maxDestinationLen  = 350
	maxEventConfigPage = 50

	PatternDestinationArn = `$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)`
)

var (
	reDestinationArn = regexp.MustCompile(`^(?:` + PatternDestinationArn + `)$`)
	reQualifier      = regexp.MustCompile(`^(?:` + function.PatternQualifier + `)$`)
	// reDestService splits an ARN that matched the pattern: service, region,
	// account, resource.
	reDestService = regexp.MustCompile(`^arn:aws[a-zA-Z0-9-]*:([a-zA-Z0-9\-]+):([^:]*):([^:]*):(.*)$`)
	// reDestFunction is a Lambda function resource: name and optional qualifier.
	reDestFunction = regexp.MustCompile(`^function:([a-zA-Z0-9-_\.]+)(?::(\$LATEST|[a-zA-Z0-9-_]+))?$`)
)

const (
	msgAtLeastOne = "You must specify at least one of error handling or destination setting."
	msgNoFunction = "The function doesn't exist."
	msgSelfDest   = "You can't specify the function as a destination for itself."
)

func errNoFunction() error { return awserr.New(awserr.ResourceNotFound, msgNoFunction) }

func (r *Registry) errNoEventConfig(name, qualifier string) error {
	return awserr.Newf(awserr.ResourceNotFound, "The function %s doesn't have an EventInvokeConfig", r.arn(name, qualifier))
}

// eventConfigRef resolves the FunctionName label and ?Qualifier= of an
// event-invoke-config operation; the qualifier defaults to $LATEST.
// Model violations of the qualifier, the name and the body members are
// reported together, in that order (as function.Resolve orders them).
func (r *Registry) eventConfigRef(rawName, queryQualifier string, in *EventInvokeConfigInput) (function.Ref, error) {
	var v function.Violations
	if queryQualifier != "" {
		v.MaxLen("qualifier", queryQualifier, 128)
		if !reQualifier.MatchString(queryQualifier) {
			v.Pattern("qualifier", queryQualifier, function.PatternQualifier)
		}
	}
	function.CheckName(&v, rawName, function.NamespacedFunctionName, "functionName")
	if in != nil {
		checkEventConfigModel(&v, in)
	}
	if err := v.Err(); err != nil {
		return function.Ref{}, err
	}
	ref, err := function.Resolve(rawName, queryQualifier, function.NamespacedFunctionName, r.cfg.Region, r.cfg.AccountID)
	if err != nil {
		return function.Ref{}, err
	}
	if ref.Qualifier == "" {
		ref.Qualifier = function.Latest
	}
	return ref, nil
}

func checkEventConfigModel(v *function.Violations, in *EventInvokeConfigInput) {
	if n := in.MaximumRetryAttempts; n != nil {
		v.Max("maximumRetryAttempts", *n, maxRetryAttempts)
		v.Min("maximumRetryAttempts", *n, minRetryAttempts)
	}
	if n := in.MaximumEventAgeInSeconds; n != nil {
		v.Max("maximumEventAgeInSeconds", *n, maxEventAge)
		v.Min("maximumEventAgeInSeconds", *n, minEventAge)
	}
	if dc := in.DestinationConfig; dc != nil {
		checkDestinationModel(v, "destinationConfig.onSuccess.destination", dc.OnSuccess)
		checkDestinationModel(v, "destinationConfig.onFailure.destination", dc.OnFailure)
	}
}

func checkDestinationModel(v *function.Violations, path string, d *DestinationInput) {
	s := d.value()
	if s == "" {
		return
	}
	v.MaxLen(path, s, maxDestinationLen)
	if !reDestinationArn.MatchString(s) {
		v.Pattern(path, s, PatternDestinationArn)
	}
}

func (in *EventInvokeConfigInput) empty() bool {
	return in.MaximumRetryAttempts == nil && in.MaximumEventAgeInSeconds == nil && in.DestinationConfig == nil
}

// checkDestinations applies the semantic destination rules to the sides
// given in dc, for function name: first the service of each side (which
// names the whole config in its message), then Lambda destinations.
func (r *Registry) checkDestinations(name string, dc *DestinationConfigInput) error {
	if dc == nil {
		return nil
	}
	type side struct {
		in *DestinationInput
		s3 bool // s3 buckets are valid only on failure
	}
	sides := []side{{dc.OnSuccess, false}, {dc.OnFailure, true}}
	var lambdas []string
	for _, s := range sides {
		arn := s.in.value()
		if arn == "" {
			continue
		}
		m := reDestService.FindStringSubmatch(arn)
		service := ""
		if m != nil {
			service = m[1]
		}
		switch {
		case service == "sqs" || service == "sns" || service == "events":
		case service == "s3" && s.s3:
		case service == "lambda":
			lambdas = append(lambdas, arn)
		default:
			return awserr.Newf(awserr.InvalidParameterValue,
				"The provided destination config DestinationConfig(onSuccess=%s, onFailure=%s) is invalid.",
				renderSide("OnSuccess", dc.OnSuccess), renderSide("OnFailure", dc.OnFailure))
		}
	}
	for _, arn := range lambdas {
		m := reDestService.FindStringSubmatch(arn)
		region, account := m[2], m[3]
		fm := reDestFunction.FindStringSubmatch(m[4])
		ours := fm != nil && region == r.cfg.Region && account == r.cfg.AccountID
		if ours && fm[1] == name {
			return awserr.New(awserr.InvalidParameterValue, msgSelfDest)
		}
		if !ours || !r.destinationExists(fm[1], fm[2]) {
			return awserr.Newf(awserr.InvalidParameterValue, "The destination ARN %s is invalid.", arn)
		}
	}
	return nil
}

func renderSide(label string, d *DestinationInput) string {
	if d == nil {
		return "null"
	}
	if d.Destination == nil {
		return label + "(destination=null)"
	}
	return label + "(destination=" + *d.Destination + ")"
}

// destinationExists reports whether function name (and qualifier, when
// given) exists in the view.
func (r *Registry) destinationExists(name, qualifier string) bool {
	f, ok := r.Function(name)
	if !ok {
		return false
	}
	return qualifierExists(f, qualifier)
}

func qualifierExists(f *function.Function, q string) bool {
	switch {
	case q == "" || q == function.Latest:
		return true
	case function.IsVersionNumber(q):
		_, ok := f.Version(q)
		return ok
	default:
		_, ok := f.Aliases[q]
		return ok
	}
}

// applyEventConfig writes the members given in in over c: each top-level
// member present replaces the stored one; inside DestinationConfig each
// side present replaces that side.
func applyEventConfig(c *function.EventInvokeConfig, in *EventInvokeConfigInput) {
	if n := in.MaximumRetryAttempts; n != nil {
		k := int(*n)
		c.MaximumRetryAttempts = &k
	}
	if n := in.MaximumEventAgeInSeconds; n != nil {
		k := int(*n)
		c.MaximumEventAgeInSeconds = &k
	}
	if dc := in.DestinationConfig; dc != nil {
		if dc.OnSuccess != nil {
			c.OnSuccess = dc.OnSuccess.value()
		}
		if dc.OnFailure != nil {
			c.OnFailure = dc.OnFailure.value()
		}
	}
}

// PutEventInvokeConfig creates or replaces the whole config of a
// function's qualifier.
func (r *Registry) PutEventInvokeConfig(ctx context.Context, rawName, queryQualifier string, in *EventInvokeConfigInput) (QualifiedEventInvokeConfig, error) {
	return r.writeEventInvokeConfig(ctx, rawName, queryQualifier, in, true)
}

// UpdateEventInvokeConfig merges in into the existing config of a
// function's qualifier.
func (r *Registry) UpdateEventInvokeConfig(ctx context.Context, rawName, queryQualifier string, in *EventInvokeConfigInput) (QualifiedEventInvokeConfig, error) {
	return r.writeEventInvokeConfig(ctx, rawName, queryQualifier, in, false)
}

func (r *Registry) writeEventInvokeConfig(ctx context.Context, rawName, queryQualifier string, in *EventInvokeConfigInput, replace bool) (QualifiedEventInvokeConfig, error) {
	ref, err := r.eventConfigRef(rawName, queryQualifier, in)
	if err != nil {
		return QualifiedEventInvokeConfig{}, err
	}
	if in.empty() {
		return QualifiedEventInvokeConfig{}, awserr.New(awserr.InvalidParameterValue, msgAtLeastOne)
	}
	name, qual := ref.Name, ref.Qualifier
	f, ok := r.Function(name)
	if !ok || !qualifierExists(f, qual) {
		return QualifiedEventInvokeConfig{}, errNoFunction()
	}
	if err := r.checkDestinations(name, in.DestinationConfig); err != nil {
		return QualifiedEventInvokeConfig{}, err
	}
	var out *function.EventInvokeConfig
	ran := false
	_, err = r.change(ctx, name, func(f *function.Function) error {
		ran = true
		if !qualifierExists(f, qual) {
			return errNoFunction()
		}
		c := &function.EventInvokeConfig{}
		if !replace {
			old, ok := f.EventInvokeConfigs[qual]
			if !ok {
				return r.errNoEventConfig(name, qual)
			}
			*c = *old
		}
		applyEventConfig(c, in)
		c.LastModified = r.now().Truncate(time.Millisecond)
		if f.EventInvokeConfigs == nil {
			f.EventInvokeConfigs = map[string]*function.EventInvokeConfig{}
		}
		f.EventInvokeConfigs[qual] = c
		out = c
		return nil
	})
	if err != nil {
		if !ran && awserr.Is(err, awserr.ResourceNotFound) {
			return QualifiedEventInvokeConfig{}, errNoFunction()
		}
		return QualifiedEventInvokeConfig{}, err
	}
	return QualifiedEventInvokeConfig{Name: name, Qualifier: qual, Config: out}, nil
}

// GetEventInvokeConfig returns the config of a function's qualifier. The
// function itself is not looked up: a missing function, version or alias
// simply has no config.
func (r *Registry) GetEventInvokeConfig(rawName, queryQualifier string) (QualifiedEventInvokeConfig, error) {
	ref, err := r.eventConfigRef(rawName, queryQualifier, nil)
	if err != nil {
		return QualifiedEventInvokeConfig{}, err
	}
	c := r.EventInvokeConfig(ref.Name, ref.Qualifier)
	if c == nil {
		return QualifiedEventInvokeConfig{}, r.errNoEventConfig(ref.Name, ref.Qualifier)
	}
	return QualifiedEventInvokeConfig{Name: ref.Name, Qualifier: ref.Qualifier, Config: c}, nil
}

// DeleteEventInvokeConfig removes the config of a function's qualifier; a
// missing config (or function) is a 404.
func (r *Registry) DeleteEventInvokeConfig(ctx context.Context, rawName, queryQualifier string) error {
	ref, err := r.eventConfigRef(rawName, queryQualifier, nil)
	if err != nil {
		return err
	}
	name, qual := ref.Name, ref.Qualifier
	if r.EventInvokeConfig(name, qual) == nil {
		return r.errNoEventConfig(name, qual)
	}
	ran := false
	_, err = r.change(ctx, name, func(f *function.Function) error {
		ran = true
		if _, ok := f.EventInvokeConfigs[qual]; !ok {
			return r.errNoEventConfig(name, qual)
		}
		dropEventInvokeConfig(f, qual)
		return nil
	})
	if !ran && awserr.Is(err, awserr.ResourceNotFound) {
		return r.errNoEventConfig(name, qual)
	}
	return err
}

// eventConfigKey orders $LATEST, then versions ascending, then aliases by
// name.
func eventConfigKey(qualifier string) string {
	switch {
	case qualifier == function.Latest:
		return "0"
	case function.IsVersionNumber(qualifier):
		return "1" + leftPad(qualifier)
	default:
		return "2" + qualifier
	}
}

// ListEventInvokeConfigs lists every config of a function in the order of
// eventConfigKey.
func (r *Registry) ListEventInvokeConfigs(rawName string, opt ListOptions) (Page[QualifiedEventInvokeConfig], error) {
	var none Page[QualifiedEventInvokeConfig]
	ref, err := r.eventConfigRef(rawName, "", nil)
	if err != nil {
		return none, err
	}
	if opt.MaxItems != 0 {
		if err := CheckMaxItems(opt.MaxItems, maxEventConfigPage); err != nil {
			return none, err
		}
	}
	if opt.Marker != "" {
		b, err := base64.RawURLEncoding.DecodeString(opt.Marker)
		if err != nil || len(b) < 1 || !strings.ContainsRune("012", rune(b[0])) {
			return none, awserr.New(awserr.InvalidParameterValue, "Invalid marker: "+opt.Marker)
		}
	}
	// The operation has no Qualifier of its own: a name-qualifier must
	// exist, and the list still holds every config of the function.
	f, ok := r.Function(ref.Name)
	if !ok || !qualifierExists(f, ref.Qualifier) {
		return none, errNoFunction()
	}
	keys := make([]string, 0, len(f.EventInvokeConfigs))
	byKey := make(map[string]string, len(f.EventInvokeConfigs))
	for q := range f.EventInvokeConfigs {
		k := eventConfigKey(q)
		keys = append(keys, k)
		byKey[k] = q
	}
	sort.Strings(keys)
	items := make([]QualifiedEventInvokeConfig, len(keys))
	for i, k := range keys {
		q := byKey[k]
		items[i] = QualifiedEventInvokeConfig{Name: ref.Name, Qualifier: q, Config: f.EventInvokeConfigs[q]}
	}
	return paginate(items, func(c QualifiedEventInvokeConfig) string { return eventConfigKey(c.Qualifier) }, opt, maxEventConfigPage)
}

// dropEventInvokeConfig removes the config of a qualifier that is being
// deleted (a version or an alias) from f.
func dropEventInvokeConfig(f *function.Function, qualifier string) {
	delete(f.EventInvokeConfigs, qualifier)
	if len(f.EventInvokeConfigs) == 0 {
		f.EventInvokeConfigs = nil
	}
}
