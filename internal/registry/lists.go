package registry

import (
	"encoding/base64"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
)

// Page is one page of a List operation.
type Page[T any] struct {
	Items      []T
	NextMarker string // "" on the last page
}

// ListOptions are the Marker/MaxItems of a List call; MaxItems 0 = absent.
type ListOptions struct {
	Marker   string
	MaxItems int
}

// CheckMaxItems validates MaxItems against [1, max] at memberPath.
func CheckMaxItems(n, max int) error {
	var v function.Violations
	v.Max("maxItems", int64(n), int64(max))
	v.Min("maxItems", int64(n), 1)
	return v.Err()
}

// paginate cuts items (already in order, each with a unique sort key) into
// the page after marker. The marker is opaque to callers: base64 of the key
// of the last item returned. A marker that does not decode is refused; one
// whose item has since gone continues after where it would sort.
func paginate[T any](items []T, key func(T) string, opt ListOptions, maxItems int) (Page[T], error) {
	if opt.MaxItems != 0 {
		if err := CheckMaxItems(opt.MaxItems, maxItems); err != nil {
			return Page[T]{}, err
		}
	}
	limit := function.MaxListPage
	if opt.MaxItems > 0 && opt.MaxItems < limit {
		limit = opt.MaxItems
	}
	start := 0
	if opt.Marker != "" {
		b, err := base64.RawURLEncoding.DecodeString(opt.Marker)
		if err != nil || len(b) == 0 {
			return Page[T]{}, awserr.New(awserr.InvalidParameterValue, "Invalid marker: "+opt.Marker)
		}
		last := string(b)
		start = len(items)
		for i, it := range items {
			if key(it) > last {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(items))
	p := Page[T]{Items: items[start:end]}
	if end < len(items) {
		p.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return p, nil
}

// Listed is one ListFunctions/ListVersions entry: a configuration and the
// qualifier its ARN carries ("" for unqualified).
type Listed struct {
	Config    *function.Config
	Qualifier string
}

// versionKey sorts $LATEST before numbered versions, numbers numerically.
func versionKey(name, version string) string {
	if version == function.Latest {
		return name + "\x00" + "0"
	}
	return name + "\x00" + "1" + leftPad(version)
}

func leftPad(v string) string {
	const width = 10
	for len(v) < width {
		v = "0" + v
	}
	return v
}

// ListFunctions lists functions by name; with all, every version of each.
func (r *Registry) ListFunctions(opt ListOptions, all bool) (Page[Listed], error) {
	var items []Listed
	for _, n := range r.names() {
		f, ok := r.Function(n)
		if !ok {
			continue
		}
		if !all {
			items = append(items, Listed{Config: &f.Latest})
			continue
		}
		items = append(items, Listed{Config: &f.Latest, Qualifier: function.Latest})
		for i := range f.Versions {
			items = append(items, Listed{Config: &f.Versions[i], Qualifier: f.Versions[i].Version})
		}
	}
	return paginate(items, func(l Listed) string { return versionKey(l.Config.Name, l.Config.Version) }, opt, function.MaxListItems)
}

// ListVersions lists $LATEST then the published versions of a function.
func (r *Registry) ListVersions(rawName string, opt ListOptions) (Page[Listed], error) {
	ref, err := function.Resolve(rawName, "", function.NamespacedFunctionName, r.cfg.Region, r.cfg.AccountID)
	if err != nil {
		return Page[Listed]{}, err
	}
	if ref.Qualifier != "" {
		return Page[Listed]{}, awserr.New(awserr.InvalidParameterValue, errUpdateQualified)
	}
	f, ok := r.Function(ref.Name)
	if !ok {
		return Page[Listed]{}, r.notFound(ref.Name, "")
	}
	items := []Listed{{Config: &f.Latest, Qualifier: function.Latest}}
	for i := range f.Versions {
		items = append(items, Listed{Config: &f.Versions[i], Qualifier: f.Versions[i].Version})
	}
	return paginate(items, func(l Listed) string { return versionKey("", l.Config.Version) }, opt, function.MaxListItems)
}

// AccountSettings are GetAccountSettings' figures.
type AccountSettings struct {
	ConcurrentExecutions           int
	UnreservedConcurrentExecutions int
	TotalCodeSize                  int64
	FunctionCount                  int
}

// AccountSettings computes the account's limits and usage from the view.
func (r *Registry) AccountSettings() AccountSettings {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := AccountSettings{ConcurrentExecutions: r.cfg.AccountConcurrency, FunctionCount: len(r.funcs)}
	codes := map[string]int64{}
	reserved := 0
	for _, f := range r.funcs {
		codes[f.Latest.CodeHex] = f.Latest.CodeSize
		for i := range f.Versions {
			codes[f.Versions[i].CodeHex] = f.Versions[i].CodeSize
		}
		if f.ReservedConcurrency != nil {
			reserved += *f.ReservedConcurrency
		}
	}
	for _, n := range codes {
		s.TotalCodeSize += n
	}
	s.UnreservedConcurrentExecutions = s.ConcurrentExecutions - reserved
	return s
}
