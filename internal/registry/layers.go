package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/codezip"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/store"
)

// Layers (docs/behaviour/layers.md): each layer is one document in the KV,
// holding its versions and the version counter; the zips live in the same
// content-addressed blob store as function code.

// layerPrefix namespaces layer documents in the KV.
const layerPrefix = "layer."

const (
	msgLayerNotFound = "The resource you requested does not exist."
	msgLayerBelowOne = "Layer Version Cannot be less than 1"
	archEnumRule     = "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]"
	archEnum         = "Member must satisfy enum value set: [x86_64, arm64]"
	msgLayerRevision = "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id"
)

// LayerContentInput is PublishLayerVersion's Content.
type LayerContentInput struct {
	ZipFile             *string `json:"ZipFile"`
	S3Bucket            *string `json:"S3Bucket"`
	S3Key               *string `json:"S3Key"`
	S3ObjectVersion     *string `json:"S3ObjectVersion"`
	S3ObjectStorageMode *string `json:"S3ObjectStorageMode"`
}

// PublishLayerVersionInput is PublishLayerVersion's body.
type PublishLayerVersionInput struct {
	Content                 *LayerContentInput `json:"Content"`
	Description             *string            `json:"Description"`
	CompatibleRuntimes      *[]string          `json:"CompatibleRuntimes"`
	CompatibleArchitectures *[]string          `json:"CompatibleArchitectures"`
	LicenseInfo             *string            `json:"LicenseInfo"`
}

// LayerPermissionInput is AddLayerVersionPermission's body.
type LayerPermissionInput struct {
	StatementID    *string `json:"StatementId"`
	Action         *string `json:"Action"`
	Principal      *string `json:"Principal"`
	OrganizationID *string `json:"OrganizationId"`
}

func (r *Registry) applyLayer(ev store.Event, name string) {
	var l *function.Layer
	if !ev.Deleted {
		l = new(function.Layer)
		if err := json.Unmarshal(ev.Value, l); err != nil {
			r.log.Error("registry: undecodable layer document", logkey.Key, ev.Key, logkey.Err, err)
			return
		}
	}
	r.mu.Lock()
	if r.stale(ev) {
		r.mu.Unlock()
		return
	}
	if l == nil {
		delete(r.layers, name)
	} else {
		r.layers[name] = l
	}
	r.moveLocked(ev)
	r.mu.Unlock()
}

// Layer returns the view's document of layer name (shared, read-only).
func (r *Registry) Layer(name string) (*function.Layer, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	l, ok := r.layers[name]
	return l, ok
}

// LayerARN formats a layer (version > 0: layer version) ARN of this
// registry's region and account.
func (r *Registry) LayerARN(name string, version int64) string {
	return function.LayerARN(r.cfg.Region, r.cfg.AccountID, name, version)
}

// layerName checks a {LayerName} label (a name or a layer ARN) and returns
// the name; ok is false for an ARN of another region or account (no such
// layer here).
func (r *Registry) layerName(v *function.Violations, raw string) (string, bool) {
	v.MaxLen("layerName", raw, function.MaxLayerNameLen)
	v.MinLen("layerName", raw, 1)
	if raw != "" && !function.ValidLayerName(raw) {
		v.Pattern("layerName", raw, function.PatternLayerName)
		return "", false
	}
	if strings.HasPrefix(raw, "arn:") {
		region, account, name, _, ok := function.LayerRefParts(raw)
		return name, ok && region == r.cfg.Region && account == r.cfg.AccountID
	}
	return raw, true
}

// layerVersionNumber parses a {VersionNumber} label.
func layerVersionNumber(raw string) (int64, error) {
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, function.NewValidation("versionNumber", raw, "Member must be a long")
	}
	if n < 1 {
		return 0, awserr.New(awserr.InvalidParameterValue, msgLayerBelowOne)
	}
	return n, nil
}

func layerNotFound() error { return awserr.New(awserr.ResourceNotFound, msgLayerNotFound) }

func quoteList(items []string) string { return "'[" + strings.Join(items, ", ") + "]'" }

// PublishLayerVersion stores a new version of a layer, creating the layer
// on its first version.
func (r *Registry) PublishLayerVersion(ctx context.Context, rawName string, in *PublishLayerVersionInput) (string, *function.LayerVersion, error) {
	var v function.Violations
	name, here := r.layerName(&v, rawName)
	if in.Description != nil {
		v.MaxLen("description", *in.Description, function.MaxDescription)
	}
	v.NotNull("content", in.Content != nil)
	if rts := in.CompatibleRuntimes; rts != nil {
		if len(*rts) > function.MaxCompatibleRuntimes {
			v.Add("compatibleRuntimes", quoteList(*rts), "Member must have length less than or equal to "+strconv.Itoa(function.MaxCompatibleRuntimes))
		}
		if slices.ContainsFunc(*rts, func(rt string) bool { return !function.IsModelRuntime(rt) }) {
			v.Add("compatibleRuntimes", quoteList(*rts), "Member must satisfy enum value set: ["+function.SupportedRuntimes()+"]")
		}
	}
	if in.LicenseInfo != nil {
		v.MaxLen("licenseInfo", *in.LicenseInfo, function.MaxLicenseInfo)
	}
	if as := in.CompatibleArchitectures; as != nil {
		if len(*as) > 2 {
			v.Add("compatibleArchitectures", quoteList(*as), "Member must have length less than or equal to 2")
		}
		if slices.ContainsFunc(*as, func(a string) bool { return a != "x86_64" && a != "arm64" }) {
			v.Add("compatibleArchitectures", quoteList(*as), archEnumRule)
		}
	}
	if err := v.Err(); err != nil {
		return "", nil, err
	}
	if !here {
		return "", nil, awserr.New(awserr.InvalidParameterValue,
			"Layers can only be published in this server's region and account: "+r.LayerARN(name, 0)+".")
	}
	c := in.Content
	var lv function.LayerVersion
	switch {
	case c.S3Bucket != nil && r.cfg.HotReloadBucket != "" && *c.S3Bucket == r.cfg.HotReloadBucket:
		// A host folder (docs/behaviour/dev-loop.md §1): nothing stored.
		dir, err := r.hostFolder(c.S3Key)
		if err != nil {
			return "", nil, err
		}
		lv = function.LayerVersion{CodeDir: dir, CodeSha256: HotReloadSha256, CodeSize: HotReloadSize, Created: r.now()}
	case c.S3Bucket != nil || c.S3Key != nil || c.S3ObjectVersion != nil || c.S3ObjectStorageMode != nil:
		return "", nil, notSupported("Content from S3 (S3Bucket, S3Key, S3ObjectVersion, S3ObjectStorageMode)")
	case c.ZipFile == nil:
		return "", nil, awserr.New(awserr.InvalidParameterValue, "Please provide a source for layer content.")
	default:
		zip, err := base64.StdEncoding.DecodeString(*c.ZipFile)
		if err != nil {
			return "", nil, awserr.New(awserr.InvalidParameterValue,
				"Could not unzip uploaded file. Please check your file, then try to upload again.")
		}
		info, err := codezip.Inspect(zip)
		if err != nil {
			return "", nil, err
		}
		if err := r.putCode(ctx, zip, info); err != nil {
			return "", nil, err
		}
		lv = function.LayerVersion{
			CodeHex: info.Sha256Hex, CodeSha256: info.Sha256Base64, CodeSize: info.Size, UnzippedSize: info.UnzippedSize,
			Created: r.now(),
		}
	}
	if in.Description != nil {
		lv.Description = *in.Description
	}
	if in.LicenseInfo != nil {
		lv.LicenseInfo = *in.LicenseInfo
	}
	if in.CompatibleRuntimes != nil {
		lv.CompatibleRuntimes = append([]string{}, *in.CompatibleRuntimes...)
	}
	if in.CompatibleArchitectures != nil {
		lv.CompatibleArchitectures = append([]string{}, *in.CompatibleArchitectures...)
	}
	l, err := r.changeLayer(ctx, name, true, func(l *function.Layer) error {
		l.LastVersion++
		lv.Version = l.LastVersion
		l.Versions = append(l.Versions, lv)
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	out, _ := l.Version(lv.Version)
	r.log.Info("layer version published", logkey.Layer, name, logkey.Version, lv.Version, logkey.CodeSHA256, lv.CodeSha256)
	return name, out, nil
}

// changeLayer applies fn to the stored document of layer name with
// compare-and-set (create: a missing document starts empty) and waits until
// the view has it. Without create a missing layer is errNoLayer.
func (r *Registry) changeLayer(ctx context.Context, name string, create bool, fn func(l *function.Layer) error) (*function.Layer, error) {
	key := layerPrefix + name
	for range maxCASRetries {
		l := &function.Layer{Name: name}
		var rev uint64
		e, err := r.kv.Get(ctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if !create {
				return nil, errNoLayer
			}
		case err != nil:
			return nil, awserr.Internal(err)
		default:
			rev = e.Revision
			if err := json.Unmarshal(e.Value, l); err != nil {
				return nil, awserr.Internal(fmt.Errorf("decoding layer %s: %w", name, err))
			}
		}
		if err := fn(l); err != nil {
			if errors.Is(err, errNoChange) {
				return l, nil
			}
			return nil, err
		}
		b, err := json.Marshal(l)
		if err != nil {
			return nil, awserr.Internal(err)
		}
		var nrev uint64
		if rev == 0 {
			nrev, err = r.kv.Create(ctx, key, b)
		} else {
			nrev, err = r.kv.Update(ctx, key, b, rev)
		}
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, awserr.Internal(fmt.Errorf("storing layer %s: %w", name, err))
		}
		r.written(key, b, nrev, false)
		return l, nil
	}
	return nil, awserr.Newf(awserr.ResourceConflict,
		"The operation cannot be performed at this time. An update is in progress for resource: %s", r.LayerARN(name, 0))
}

var errNoLayer = errors.New("no such layer")

// GetLayerVersion returns one version of a layer.
func (r *Registry) GetLayerVersion(rawName, rawVersion string) (string, *function.LayerVersion, error) {
	var v function.Violations
	name, here := r.layerName(&v, rawName)
	if err := v.Err(); err != nil {
		return "", nil, err
	}
	n, err := layerVersionNumber(rawVersion)
	if err != nil {
		return "", nil, err
	}
	lv, ok := r.layerVersion(name, n)
	if !here || !ok {
		return "", nil, layerNotFound()
	}
	return name, lv, nil
}

func (r *Registry) layerVersion(name string, n int64) (*function.LayerVersion, bool) {
	l, ok := r.Layer(name)
	if !ok {
		return nil, false
	}
	return l.Version(n)
}

// GetLayerVersionByArn returns the version a layer version ARN names.
func (r *Registry) GetLayerVersionByArn(arn string) (string, *function.LayerVersion, error) {
	var v function.Violations
	v.MaxLen("arn", arn, function.MaxLayerVersionArnLen)
	v.MinLen("arn", arn, 1)
	if arn != "" && !function.ValidLayerVersionArn(arn) {
		v.Pattern("arn", arn, function.PatternLayerVersionArn)
	}
	if err := v.Err(); err != nil {
		return "", nil, err
	}
	region, account, name, n, ok := function.LayerRefParts(arn)
	if !ok || region != r.cfg.Region || account != r.cfg.AccountID {
		return "", nil, layerNotFound()
	}
	lv, ok := r.layerVersion(name, n)
	if !ok {
		return "", nil, layerNotFound()
	}
	return name, lv, nil
}

// LayerFilter is ListLayers' and ListLayerVersions' filters.
type LayerFilter struct {
	Runtime, Architecture string // "" = no filter
}

func (f LayerFilter) check() error {
	var v function.Violations
	if f.Runtime != "" && !function.IsModelRuntime(f.Runtime) {
		v.Add("compatibleRuntime", function.Quote(f.Runtime), "Member must satisfy enum value set: ["+function.ModelRuntimes()+"]")
	}
	if f.Architecture != "" && f.Architecture != "x86_64" && f.Architecture != "arm64" {
		v.Add("compatibleArchitecture", function.Quote(f.Architecture), archEnum)
	}
	return v.Err()
}

func (f LayerFilter) matches(lv *function.LayerVersion) bool {
	return (f.Runtime == "" || slices.Contains(lv.CompatibleRuntimes, f.Runtime)) &&
		(f.Architecture == "" || slices.Contains(lv.CompatibleArchitectures, f.Architecture))
}

// ListedLayerVersion is one ListLayerVersions item.
type ListedLayerVersion struct {
	Name    string
	Version *function.LayerVersion
}

// ListLayerVersions lists a layer's versions newest first; an unknown layer
// has none.
func (r *Registry) ListLayerVersions(rawName string, f LayerFilter, opt ListOptions) (Page[ListedLayerVersion], error) {
	var v function.Violations
	name, here := r.layerName(&v, rawName)
	if err := v.Err(); err != nil {
		return Page[ListedLayerVersion]{}, err
	}
	if err := f.check(); err != nil {
		return Page[ListedLayerVersion]{}, err
	}
	var items []ListedLayerVersion
	if l, ok := r.Layer(name); ok && here {
		for i := len(l.Versions) - 1; i >= 0; i-- {
			if f.matches(&l.Versions[i]) {
				items = append(items, ListedLayerVersion{Name: name, Version: &l.Versions[i]})
			}
		}
	}
	// Newest first: the key counts down.
	key := func(it ListedLayerVersion) string {
		return leftPad(strconv.FormatInt(math.MaxInt64-it.Version.Version, 10))
	}
	return paginate(items, key, opt, function.MaxLayerListPage)
}

// ListLayers lists, by name, every layer with a version matching the
// filters, with its newest such version.
func (r *Registry) ListLayers(f LayerFilter, opt ListOptions) (Page[ListedLayerVersion], error) {
	if err := f.check(); err != nil {
		return Page[ListedLayerVersion]{}, err
	}
	r.mu.RLock()
	names := sortedKeys(r.layers)
	var items []ListedLayerVersion
	for _, n := range names {
		l := r.layers[n]
		for i := len(l.Versions) - 1; i >= 0; i-- {
			if f.matches(&l.Versions[i]) {
				items = append(items, ListedLayerVersion{Name: n, Version: &l.Versions[i]})
				break
			}
		}
	}
	r.mu.RUnlock()
	return paginate(items, func(it ListedLayerVersion) string { return it.Name }, opt, function.MaxLayerListPage)
}

// DeleteLayerVersion deletes a version; deleting what does not exist is
// not an error. Functions that use the version keep its content.
func (r *Registry) DeleteLayerVersion(ctx context.Context, rawName, rawVersion string) error {
	var v function.Violations
	name, here := r.layerName(&v, rawName)
	if err := v.Err(); err != nil {
		return err
	}
	n, err := layerVersionNumber(rawVersion)
	if err != nil {
		return err
	}
	if _, ok := r.layerVersion(name, n); !ok || !here {
		return nil
	}
	var gone string
	_, err = r.changeLayer(ctx, name, false, func(l *function.Layer) error {
		i := slices.IndexFunc(l.Versions, func(x function.LayerVersion) bool { return x.Version == n })
		if i < 0 {
			return errNoChange
		}
		gone = l.Versions[i].CodeHex
		l.Versions = slices.Delete(l.Versions, i, i+1)
		return nil
	})
	if errors.Is(err, errNoLayer) {
		return nil
	}
	if err != nil {
		return err
	}
	r.log.Info("layer version deleted", logkey.Layer, name, logkey.Version, n)
	r.collect(ctx, gone)
	return nil
}

// --- layer version permissions ---------------------------------------------

// LayerPolicy is a version's policy as GetLayerVersionPolicy returns it.
type LayerPolicy struct {
	Policy, RevisionID string
}

const (
	patternLayerAction  = `lambda:GetLayerVersion`
	patternLayerPrinc   = `\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root`
	patternOrganization = `o-[a-z0-9]{10,32}`
)

var (
	reLayerPrinc = regexp.MustCompile(`^(?:` + patternLayerPrinc + `)$`)
	reOrgID      = regexp.MustCompile(`^(?:` + patternOrganization + `)$`)
)

// layerVersionMissing is the policy operations' 404.
func (r *Registry) layerVersionMissing(name string, n int64) error {
	return awserr.New(awserr.ResourceNotFound, "Layer version "+r.LayerARN(name, n)+" does not exist.")
}

// policyTarget checks the labels of a policy operation and finds the version.
func (r *Registry) layerPolicyTarget(v *function.Violations, rawName, rawVersion string) (string, int64, error) {
	name, here := r.layerName(v, rawName)
	if err := v.Err(); err != nil {
		return "", 0, err
	}
	n, err := layerVersionNumber(rawVersion)
	if err != nil {
		return "", 0, err
	}
	if _, ok := r.layerVersion(name, n); !ok || !here {
		return "", 0, r.layerVersionMissing(name, n)
	}
	return name, n, nil
}

// AddLayerVersionPermission adds a statement to a version's policy and
// returns it as JSON text with the new revision.
func (r *Registry) AddLayerVersionPermission(ctx context.Context, rawName, rawVersion string, revision *string, in *LayerPermissionInput) (string, string, error) {
	var v function.Violations
	r.layerName(&v, rawName)
	if in.StatementID == nil {
		v.NotNull("statementId", false)
	} else {
		v.MaxLen("statementId", *in.StatementID, 100)
		v.MinLen("statementId", *in.StatementID, 1)
		if *in.StatementID != "" && !reStatementID.MatchString(*in.StatementID) {
			v.Pattern("statementId", *in.StatementID, PatternStatementID)
		}
	}
	if in.Action == nil {
		v.NotNull("action", false)
	} else {
		v.MaxLen("action", *in.Action, 22)
		if *in.Action != patternLayerAction {
			v.Pattern("action", *in.Action, patternLayerAction)
		}
	}
	if in.Principal == nil {
		v.NotNull("principal", false)
	} else if !reLayerPrinc.MatchString(*in.Principal) {
		v.Pattern("principal", *in.Principal, patternLayerPrinc)
	}
	if in.OrganizationID != nil {
		v.MaxLen("organizationId", *in.OrganizationID, 34)
		if !reOrgID.MatchString(*in.OrganizationID) {
			v.Pattern("organizationId", *in.OrganizationID, patternOrganization)
		}
	}
	if err := v.Err(); err != nil {
		return "", "", err
	}
	name, n, err := r.layerPolicyTarget(&v, rawName, rawVersion)
	if err != nil {
		return "", "", err
	}
	st := function.LayerStatement{Sid: *in.StatementID, Action: *in.Action, Principal: *in.Principal}
	if in.OrganizationID != nil {
		st.OrganizationID = *in.OrganizationID
	}
	var rev string
	_, err = r.changeLayer(ctx, name, false, func(l *function.Layer) error {
		lv, ok := l.Version(n)
		if !ok {
			return r.layerVersionMissing(name, n)
		}
		if revision != nil && *revision != lv.PolicyRevision {
			return awserr.New(awserr.PreconditionFailed, msgLayerRevision)
		}
		if slices.ContainsFunc(lv.Policy, func(s function.LayerStatement) bool { return s.Sid == st.Sid }) {
			return awserr.Newf(awserr.ResourceConflict,
				"The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", st.Sid)
		}
		lv.Policy = append(lv.Policy, st)
		lv.PolicyRevision = newRevision()
		rev = lv.PolicyRevision
		return nil
	})
	if errors.Is(err, errNoLayer) {
		return "", "", r.layerVersionMissing(name, n)
	}
	if err != nil {
		return "", "", err
	}
	b, _ := json.Marshal(r.statement(name, n, st))
	return string(b), rev, nil
}

// RemoveLayerVersionPermission removes one statement.
func (r *Registry) RemoveLayerVersionPermission(ctx context.Context, rawName, rawVersion, sid string, revision *string) error {
	var v function.Violations
	name, n, err := r.layerPolicyTarget(&v, rawName, rawVersion)
	if err != nil {
		return err
	}
	_, err = r.changeLayer(ctx, name, false, func(l *function.Layer) error {
		lv, ok := l.Version(n)
		if !ok {
			return r.layerVersionMissing(name, n)
		}
		if revision != nil && *revision != lv.PolicyRevision {
			return awserr.New(awserr.PreconditionFailed, msgLayerRevision)
		}
		i := slices.IndexFunc(lv.Policy, func(s function.LayerStatement) bool { return s.Sid == sid })
		if i < 0 {
			return awserr.Newf(awserr.ResourceNotFound, "Statement %s is not found in resource policy.", sid)
		}
		lv.Policy = slices.Delete(lv.Policy, i, i+1)
		lv.PolicyRevision = newRevision()
		return nil
	})
	if errors.Is(err, errNoLayer) {
		return r.layerVersionMissing(name, n)
	}
	return err
}

// GetLayerVersionPolicy returns a version's policy document.
func (r *Registry) GetLayerVersionPolicy(rawName, rawVersion string) (LayerPolicy, error) {
	var v function.Violations
	name, n, err := r.layerPolicyTarget(&v, rawName, rawVersion)
	if err != nil {
		return LayerPolicy{}, err
	}
	lv, _ := r.layerVersion(name, n)
	if len(lv.Policy) == 0 {
		return LayerPolicy{}, awserr.New(awserr.ResourceNotFound, "No policy is associated with the given resource.")
	}
	doc := map[string]any{"Version": "2012-10-17", "Id": "default"}
	var sts []any
	for _, s := range lv.Policy {
		sts = append(sts, r.statement(name, n, s))
	}
	doc["Statement"] = sts
	b, _ := json.Marshal(doc)
	return LayerPolicy{Policy: string(b), RevisionID: lv.PolicyRevision}, nil
}

// statement renders one grant as IAM policy JSON.
func (r *Registry) statement(name string, n int64, s function.LayerStatement) map[string]any {
	var principal any = "*"
	switch {
	case s.Principal == "*":
	case strings.HasPrefix(s.Principal, "arn:"):
		principal = map[string]string{"AWS": s.Principal}
	default:
		principal = map[string]string{"AWS": "arn:aws:iam::" + s.Principal + ":root"}
	}
	st := map[string]any{
		"Sid": s.Sid, "Effect": "Allow", "Principal": principal,
		"Action": s.Action, "Resource": r.LayerARN(name, n),
	}
	if s.OrganizationID != "" {
		st["Condition"] = map[string]any{"StringEquals": map[string]string{"aws:PrincipalOrgID": s.OrganizationID}}
	}
	return st
}

// --- a function's layers -----------------------------------------------------

const layerArnRule = "Member must satisfy constraint: [Member must have length less than or equal to 2048, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: " +
	function.PatternLayerVersionArn + ", Member must not be null]"

// checkLayersModel records the model's constraints on a Layers list.
func checkLayersModel(v *function.Violations, layers []string) {
	for _, a := range layers {
		if len(a) < 1 || len(a) > function.MaxLayerVersionArnLen || !function.ValidLayerVersionArn(a) {
			v.Add("layers", quoteList(layers), layerArnRule)
			return
		}
	}
}

// resolveLayers turns a Layers list into references, with the checks of
// docs/behaviour/layers.md §5 in order; codeUnzipped is the function's own
// unpacked size for the total limit.
func (r *Registry) resolveLayers(arns []string, codeUnzipped int64) ([]function.LayerRef, error) {
	if len(arns) > function.MaxLayers {
		return nil, awserr.New(awserr.InvalidParameterValue, "Cannot reference more than 5 layers.")
	}
	for _, a := range arns {
		if region, _, _, _, ok := function.LayerRefParts(a); ok && region != r.cfg.Region {
			return nil, awserr.Newf(awserr.InvalidParameterValue,
				"Layers are not in the same region as the function. Layers are expected to be in region %s.", r.cfg.Region)
		}
	}
	refs := make([]function.LayerRef, 0, len(arns))
	seen := map[string]string{}
	for _, a := range arns {
		_, account, name, n, ok := function.LayerRefParts(a)
		lv, found := r.layerVersion(name, n)
		if !ok || account != r.cfg.AccountID || !found {
			return nil, awserr.Newf(awserr.InvalidParameterValue, "Layer version %s does not exist.", a)
		}
		refs = append(refs, function.LayerRef{Arn: a, CodeHex: lv.CodeHex, CodeSize: lv.CodeSize, UnzippedSize: lv.UnzippedSize, CodeDir: lv.CodeDir})
	}
	for i, a := range arns {
		_, _, name, _, _ := function.LayerRefParts(a)
		if prev, dup := seen[name]; dup {
			return nil, awserr.Newf(awserr.InvalidParameterValue,
				"Two different versions of the same layer are not allowed to be referenced in the same function. %s and %s are versions of the same layer.", prev, arns[i])
		}
		seen[name] = a
	}
	if err := checkTotalSize(codeUnzipped, refs); err != nil {
		return nil, err
	}
	return refs, nil
}

// checkTotalSize applies the limit on code and layers unpacked together.
func checkTotalSize(codeUnzipped int64, refs []function.LayerRef) error {
	total := codeUnzipped
	for _, l := range refs {
		total += l.UnzippedSize
	}
	if len(refs) > 0 && total > function.MaxUnzippedTotal {
		return awserr.Newf(awserr.InvalidParameterValue,
			"Function code combined with layers exceeds the maximum allowed size of %d bytes. The actual size is %d bytes.",
			function.MaxUnzippedTotal, total)
	}
	return nil
}

// layerUsesLocked reports whether a layer version in the view stores blob
// hex; r.mu is held for reading.
func (r *Registry) layerUsesLocked(hex string) bool {
	for _, l := range r.layers {
		for i := range l.Versions {
			if l.Versions[i].CodeHex == hex {
				return true
			}
		}
	}
	return false
}
