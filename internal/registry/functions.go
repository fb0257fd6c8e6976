package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/codezip"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/store"
)

// Resolved is what a FunctionName + Qualifier addressed.
type Resolved struct {
	Function *function.Function
	// Config is the version that serves: $LATEST, a number, or the alias's
	// primary target.
	Config *function.Config
	// Alias is set when the qualifier named an alias.
	Alias *function.Alias
	// Qualifier is the qualifier as addressed ("" for unqualified).
	Qualifier string
}

// ARN is the ARN as the caller addressed the function.
func (r *Registry) ResolvedARN(res Resolved) string {
	return r.arn(res.Function.Name, res.Qualifier)
}

// Resolve finds the function and qualifier of ref in the view. Missing →
// 404 with the qualifier appended when one was given.
func (r *Registry) Resolve(ref function.Ref) (Resolved, error) {
	f, ok := r.Function(ref.Name)
	if !ok {
		return Resolved{}, r.notFound(ref.Name, ref.Qualifier)
	}
	res := Resolved{Function: f, Qualifier: ref.Qualifier}
	switch q := ref.Qualifier; {
	case q == "":
		res.Config = &f.Latest
	case q == function.Latest || function.IsVersionNumber(q):
		c, ok := f.Version(q)
		if !ok {
			return Resolved{}, r.notFound(ref.Name, q)
		}
		res.Config = c
	default:
		a, ok := f.Aliases[q]
		if !ok {
			return Resolved{}, r.notFound(ref.Name, q)
		}
		c, ok := f.Version(a.FunctionVersion)
		if !ok {
			return Resolved{}, r.notFound(ref.Name, q)
		}
		res.Alias, res.Config = a, c
	}
	return res, nil
}

// code is what a Code member resolved to: a checked zip, or a host folder
// (dir set, zip nil).
type code struct {
	zip  []byte
	info codezip.Info
	dir  string
}

// decodeCode turns a Code member into a checked zip, or into a host folder
// when S3Bucket is the hot-reload marker (docs/behaviour/dev-loop.md §1).
func (r *Registry) decodeCode(in *CodeInput) (code, error) {
	if in.S3Bucket != nil && r.cfg.HotReloadBucket != "" && *in.S3Bucket == r.cfg.HotReloadBucket {
		dir, err := r.hostFolder(in.S3Key)
		return code{dir: dir}, err
	}
	zip, info, err := decodeZip(in)
	return code{zip: zip, info: info}, err
}

// hostFolder checks the S3Key of a hot-reload Code member: hot reload
// allowed on this server, an absolute path, an existing folder
// (docs/behaviour/dev-loop.md §2).
func (r *Registry) hostFolder(key *string) (string, error) {
	if !r.cfg.HostCode {
		return "", awserr.New(awserr.InvalidParameterValue, MsgHostCodeOff)
	}
	if key == nil || !filepath.IsAbs(*key) {
		k := ""
		if key != nil {
			k = *key
		}
		return "", awserr.Newf(awserr.InvalidParameterValue, MsgHotReloadRelative, k)
	}
	dir := filepath.Clean(*key)
	fi, err := os.Stat(dir)
	if err != nil {
		return "", awserr.Newf(awserr.InvalidParameterValue, MsgHotReloadMissing, dir)
	}
	if !fi.IsDir() {
		return "", awserr.Newf(awserr.InvalidParameterValue, MsgHotReloadNotDir, dir)
	}
	return dir, nil
}

// Messages of refused hot-reload Code members (docs/behaviour/dev-loop.md §2).
const (
	MsgHostCodeOff       = "Code from a host folder is off on this server: it listens beyond loopback. Start it with --allow-host-code to allow it."
	MsgHotReloadRelative = "When using hot reloading, the archive key has to be an absolute path! Your archive key: %s"
	MsgHotReloadMissing  = "The hot-reload folder %s does not exist on the lambada host."
	MsgHotReloadNotDir   = "The hot-reload path %s is not a folder."
)

// HotReloadSha256 and HotReloadSize are what a function whose code is a
// host folder reports as CodeSha256 and CodeSize, as LocalStack does
// (docs/behaviour/dev-loop.md §3).
const (
	HotReloadSha256 = "hot-reloading-hash-not-available"
	HotReloadSize   = 0
)

// decodeZip turns a ZipFile member into bytes and checks the package.
func decodeZip(in *CodeInput) ([]byte, codezip.Info, error) {
	switch {
	case in.S3Bucket != nil || in.S3Key != nil || in.S3ObjectVersion != nil:
		return nil, codezip.Info{}, notSupported("Code from S3 (S3Bucket, S3Key, S3ObjectVersion)")
	case in.ImageURI != nil:
		return nil, codezip.Info{}, notSupported("ImageUri")
	case in.ZipFile == nil:
		return nil, codezip.Info{}, awserr.New(awserr.InvalidParameterValue, "Please provide a source for function code.")
	}
	zip, err := base64.StdEncoding.DecodeString(*in.ZipFile)
	if err != nil {
		return nil, codezip.Info{}, awserr.New(awserr.InvalidParameterValue,
			"Could not unzip uploaded file. Please check your file, then try to upload again.")
	}
	info, err := codezip.Inspect(zip)
	if err != nil {
		return nil, codezip.Info{}, err
	}
	return zip, info, nil
}

func (r *Registry) putCode(ctx context.Context, zip []byte, info codezip.Info) error {
	if err := r.blobs.Put(ctx, info.Sha256Hex, bytes.NewReader(zip)); err != nil {
		return awserr.Internal(fmt.Errorf("storing code %s: %w", info.Sha256Hex, err))
	}
	return nil
}

// createName checks CreateFunction's FunctionName: an ARN of ours is
// accepted for its name, a qualifier or a name over 64 characters is not.
func (r *Registry) createName(raw string) (string, error) {
	ref, err := function.Resolve(raw, "", function.FunctionName, r.cfg.Region, r.cfg.AccountID)
	if err != nil {
		return "", err
	}
	if ref.Qualifier != "" {
		return "", awserr.New(awserr.InvalidParameterValue, "Unsupported function name parameter: a qualifier is not allowed here.")
	}
	if len(ref.Name) > function.MaxNameLen {
		return "", valueError("functionName", ref.Name, "Member must have length less than or equal to 64")
	}
	return ref.Name, nil
}

// CreateFunction stores a new function and returns its $LATEST (and, with
// Publish, version 1).
func (r *Registry) CreateFunction(ctx context.Context, in *CreateFunctionInput) (*function.Function, *function.Config, error) {
	var v function.Violations
	v.NotNull("functionName", in.FunctionName != nil)
	if in.FunctionName != nil {
		// Reported together with the other members' violations.
		function.CheckName(&v, *in.FunctionName, function.FunctionName, "functionName")
	}
	v.NotNull("role", in.Role != nil)
	v.NotNull("code", in.Code != nil)
	checkModel(&v, &in.ConfigInput)
	checkArchitectures(&v, in.Architectures)
	if in.PackageType != nil {
		v.Enum("packageType", *in.PackageType, "Zip", "Image")
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	name, err := r.createName(*in.FunctionName)
	if err != nil {
		return nil, nil, err
	}
	if in.PackageType != nil && *in.PackageType == "Image" {
		return nil, nil, notSupported("PackageType Image")
	}
	if in.CodeSigningConfigArn != nil && *in.CodeSigningConfigArn != "" {
		return nil, nil, notSupported("CodeSigningConfigArn")
	}
	arch, err := checkArchitecture(in.Architectures)
	if err != nil {
		return nil, nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, nil, err
	}
	now := r.now()
	c := function.Config{
		Name: name, Version: function.Latest,
		Timeout: function.DefaultTimeout, MemorySize: function.DefaultMemory,
		EphemeralStorage: function.DefaultEphemeral, Architecture: arch,
		TracingMode: "PassThrough", LastModified: now, RevisionID: newRevision(),
	}
	if err := applyConfig(&c, &in.ConfigInput); err != nil {
		return nil, nil, err
	}
	cd, err := r.decodeCode(in.Code)
	if err != nil {
		return nil, nil, err
	}
	zip, info := cd.zip, cd.info
	if _, exists := r.Function(name); exists {
		return nil, nil, awserr.New(awserr.ResourceConflict, "Function already exist: "+name)
	}
	setCode(&c, cd)
	if len(in.Layers) > 0 {
		if c.Layers, err = r.resolveLayers(in.Layers, info.UnzippedSize); err != nil {
			return nil, nil, err
		}
	}
	f := &function.Function{Name: name, Latest: c, Created: now}
	if len(in.Tags) > 0 {
		f.Tags = in.Tags
	}
	if in.Publish {
		publish(f, nil, now)
	}
	if cd.dir == "" {
		if err := r.putCode(ctx, zip, info); err != nil {
			return nil, nil, err
		}
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, nil, awserr.Internal(err)
	}
	rev, err := r.kv.Create(ctx, keyPrefix+name, b)
	if errors.Is(err, store.ErrExists) {
		return nil, nil, awserr.New(awserr.ResourceConflict, "Function already exist: "+name)
	}
	if err != nil {
		return nil, nil, awserr.Internal(fmt.Errorf("storing function %s: %w", name, err))
	}
	r.written(keyPrefix+name, b, rev, false)
	r.log.Info("function created", logkey.Function, name, logkey.Runtime, c.Runtime, logkey.CodeSHA256, c.CodeSha256)
	if in.Publish {
		return f, &f.Versions[0], nil
	}
	return f, &f.Latest, nil
}

// setCode points c at cd: a stored zip or a host folder.
func setCode(c *function.Config, cd code) {
	if cd.dir != "" {
		c.CodeDir, c.CodeHex, c.CodeSha256, c.CodeSize, c.UnzippedSize = cd.dir, "", HotReloadSha256, HotReloadSize, 0
		return
	}
	c.CodeDir = ""
	c.CodeHex, c.CodeSha256, c.CodeSize, c.UnzippedSize = cd.info.Sha256Hex, cd.info.Sha256Base64, cd.info.Size, cd.info.UnzippedSize
}

// publish appends a new version made from $LATEST, or returns the newest
// published version when nothing changed since it (docs/behaviour/management.md §7).
func publish(f *function.Function, description *string, now time.Time) (*function.Config, bool) {
	if last, ok := f.LatestPublished(); ok && last.SameContent(&f.Latest) {
		return last, false
	}
	f.LastVersion++
	c := f.Latest
	c.Version = strconv.Itoa(f.LastVersion)
	c.RevisionID = newRevision()
	c.LastModified = now
	if description != nil {
		c.Description = *description
	}
	c.Environment = cloneMap(f.Latest.Environment)
	c.Layers = slices.Clone(f.Latest.Layers)
	f.Versions = append(f.Versions, c)
	return &f.Versions[len(f.Versions)-1], true
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// unqualifiedName resolves a FunctionName that must not carry a qualifier
// (UpdateFunctionCode/Configuration, PublishVersion, aliases, concurrency).
func (r *Registry) unqualifiedName(raw string, shape function.Shape, qualifierErr string) (string, error) {
	ref, err := function.Resolve(raw, "", shape, r.cfg.Region, r.cfg.AccountID)
	if err != nil {
		return "", err
	}
	if ref.Qualifier != "" {
		return "", awserr.New(awserr.InvalidParameterValue, qualifierErr)
	}
	return ref.Name, nil
}

const errUpdateQualified = "Unsupported function name parameter: this operation is permitted on the unqualified function name or ARN only."

func checkRevision(given *string, current string) error {
	if given != nil && *given != current {
		return awserr.New(awserr.PreconditionFailed,
			"The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	return nil
}

// UpdateFunctionConfiguration changes $LATEST's configuration.
func (r *Registry) UpdateFunctionConfiguration(ctx context.Context, rawName string, in *UpdateFunctionConfigurationInput) (*function.Config, error) {
	var v function.Violations
	function.CheckName(&v, rawName, function.FunctionName, "functionName")
	checkModel(&v, &in.ConfigInput)
	if err := v.Err(); err != nil {
		return nil, err
	}
	name, err := r.unqualifiedName(rawName, function.FunctionName, errUpdateQualified)
	if err != nil {
		return nil, err
	}
	var dropped []string // the layer zips $LATEST used before a new Layers list
	f, err := r.change(ctx, name, func(f *function.Function) error {
		if err := checkRevision(in.RevisionID, f.Latest.RevisionID); err != nil {
			return err
		}
		c := f.Latest
		c.Environment = cloneMap(c.Environment)
		if err := applyConfig(&c, &in.ConfigInput); err != nil {
			return err
		}
		if in.Layers != nil {
			// The whole list is replaced; [] removes every layer.
			dropped = c.LayerHexes()
			refs, err := r.resolveLayers(in.Layers, c.UnzippedSize)
			if err != nil {
				return err
			}
			c.Layers = nil
			if len(refs) > 0 {
				c.Layers = refs
			}
		}
		c.LastModified = r.now()
		c.RevisionID = newRevision()
		f.Latest = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, hex := range dropped {
		if !slices.Contains(f.Latest.LayerHexes(), hex) {
			r.collect(ctx, hex)
		}
	}
	return &f.Latest, nil
}

// UpdateFunctionCode replaces $LATEST's code; with Publish it also
// publishes and returns the new version.
func (r *Registry) UpdateFunctionCode(ctx context.Context, rawName string, in *UpdateFunctionCodeInput) (*function.Config, error) {
	var v function.Violations
	function.CheckName(&v, rawName, function.FunctionName, "functionName")
	checkArchitectures(&v, in.Architectures)
	if err := v.Err(); err != nil {
		return nil, err
	}
	name, err := r.unqualifiedName(rawName, function.FunctionName, errUpdateQualified)
	if err != nil {
		return nil, err
	}
	if _, ok := r.Function(name); !ok {
		return nil, r.notFound(name, "")
	}
	arch, err := checkArchitecture(in.Architectures)
	if err != nil {
		return nil, err
	}
	cd, err := r.decodeCode(&in.CodeInput)
	if err != nil {
		return nil, err
	}
	zip, info := cd.zip, cd.info
	if f, ok := r.Function(name); ok {
		if err := checkTotalSize(info.UnzippedSize, f.Latest.Layers); err != nil {
			return nil, err
		}
	}
	if in.DryRun {
		f, ok := r.Function(name)
		if !ok {
			return nil, r.notFound(name, "")
		}
		if err := checkRevision(in.RevisionID, f.Latest.RevisionID); err != nil {
			return nil, err
		}
		return &f.Latest, nil
	}
	if cd.dir == "" {
		if err := r.putCode(ctx, zip, info); err != nil {
			return nil, err
		}
	}
	var old string
	var out *function.Config
	f, err := r.change(ctx, name, func(f *function.Function) error {
		if err := checkRevision(in.RevisionID, f.Latest.RevisionID); err != nil {
			return err
		}
		old = f.Latest.CodeHex
		now := r.now()
		setCode(&f.Latest, cd)
		f.Latest.Architecture = arch
		f.Latest.LastModified = now
		f.Latest.RevisionID = newRevision()
		out = nil
		if in.Publish {
			c, _ := publish(f, nil, now)
			out = c
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if old != info.Sha256Hex {
		r.collect(ctx, old)
	}
	if out == nil {
		return &f.Latest, nil
	}
	c, _ := f.Version(out.Version)
	return c, nil
}

// PublishVersion snapshots $LATEST as a new version.
func (r *Registry) PublishVersion(ctx context.Context, rawName string, in *PublishVersionInput) (*function.Config, error) {
	var v function.Violations
	function.CheckName(&v, rawName, function.FunctionName, "functionName")
	if in.Description != nil {
		v.MaxLen("description", *in.Description, function.MaxDescription)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	name, err := r.unqualifiedName(rawName, function.FunctionName, errUpdateQualified)
	if err != nil {
		return nil, err
	}
	var version string
	f, err := r.change(ctx, name, func(f *function.Function) error {
		if err := checkRevision(in.RevisionID, f.Latest.RevisionID); err != nil {
			return err
		}
		if in.CodeSha256 != nil && *in.CodeSha256 != f.Latest.CodeSha256 {
			return awserr.Newf(awserr.InvalidParameterValue,
				"CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.",
				*in.CodeSha256, f.Latest.CodeSha256)
		}
		c, created := publish(f, in.Description, r.now())
		version = c.Version
		if !created {
			return errNoChange
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c, _ := f.Version(version)
	return c, nil
}

// DeleteFunction deletes the whole function, or one version with a
// numeric qualifier (docs/behaviour/management.md §6).
func (r *Registry) DeleteFunction(ctx context.Context, rawName, queryQualifier string) error {
	ref, err := function.Resolve(rawName, queryQualifier, function.NamespacedFunctionName, r.cfg.Region, r.cfg.AccountID)
	if err != nil {
		return err
	}
	switch q := ref.Qualifier; {
	case q == "":
	case q == function.Latest:
		return awserr.New(awserr.InvalidParameterValue, "$LATEST version cannot be deleted without deleting the function.")
	case !function.IsVersionNumber(q):
		return awserr.New(awserr.InvalidParameterValue, "Deletion of aliases is not currently supported.")
	}
	if ref.Qualifier == "" {
		return r.deleteWhole(ctx, ref.Name)
	}
	var gone []string
	_, err = r.change(ctx, ref.Name, func(f *function.Function) error {
		idx := -1
		for i := range f.Versions {
			if f.Versions[i].Version == ref.Qualifier {
				idx = i
			}
		}
		if idx < 0 {
			return errNoChange
		}
		var refs []string
		for _, n := range sortedKeys(f.Aliases) {
			if f.Aliases[n].References(ref.Qualifier) {
				refs = append(refs, n)
			}
		}
		if len(refs) > 0 {
			return awserr.Newf(awserr.ResourceConflict,
				"Unable to delete version because the following aliases reference it: [%s]", strings.Join(refs, ", "))
		}
		gone = append([]string{f.Versions[idx].CodeHex}, f.Versions[idx].LayerHexes()...)
		f.Versions = append(f.Versions[:idx], f.Versions[idx+1:]...)
		dropEventInvokeConfig(f, ref.Qualifier)
		dropQualifierExtras(f, ref.Qualifier)
		return nil
	})
	if awserr.Is(err, awserr.ResourceNotFound) {
		return r.notFound(ref.Name, "")
	}
	if err != nil {
		return err
	}
	for _, hex := range gone {
		r.collect(ctx, hex)
	}
	return nil
}

func (r *Registry) deleteWhole(ctx context.Context, name string) error {
	for range maxCASRetries {
		f, rev, err := r.load(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return r.notFound(name, "")
		}
		if err != nil {
			return awserr.Internal(err)
		}
		drev, err := r.kv.Delete(ctx, keyPrefix+name, rev)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return awserr.Internal(fmt.Errorf("deleting function %s: %w", name, err))
		}
		r.written(keyPrefix+name, nil, drev, true)
		r.log.Info("function deleted", logkey.Function, name)
		// Code and layer zips no one else uses (a layer version deleted
		// while this function used it is kept until now).
		seen := map[string]bool{}
		for _, c := range append([]function.Config{f.Latest}, f.Versions...) {
			for _, hex := range append([]string{c.CodeHex}, c.LayerHexes()...) {
				if !seen[hex] {
					seen[hex] = true
					r.collect(ctx, hex)
				}
			}
		}
		return nil
	}
	return awserr.Newf(awserr.ResourceConflict,
		"The operation cannot be performed at this time. An update is in progress for resource: %s", r.arn(name, ""))
}

// collect deletes a code blob no version in the view references any more.
// A concurrent upload of the same bytes on another node may race with it;
// the window is the watch delay, and such a function would fail to start
// with a clear error rather than run wrong code.
func (r *Registry) collect(ctx context.Context, hex string) {
	if hex == "" || r.UsesCode(hex) {
		return
	}
	if err := r.blobs.Delete(ctx, hex); err != nil {
		r.log.Warn("registry: deleting unused code", logkey.Code, hex, logkey.Err, err)
	}
}

func versionPtrs(f *function.Function) []*function.Config {
	out := make([]*function.Config, len(f.Versions))
	for i := range f.Versions {
		out[i] = &f.Versions[i]
	}
	return out
}

// UsesCode reports whether a function, version or layer version in the
// view uses the code (zip) whose hex SHA-256 is hex.
func (r *Registry) UsesCode(hex string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.layerUsesLocked(hex) {
		return true
	}
	for _, f := range r.funcs {
		for _, c := range append([]*function.Config{&f.Latest}, versionPtrs(f)...) {
			if c.CodeHex == hex || slices.ContainsFunc(c.Layers, func(l function.LayerRef) bool { return l.CodeHex == hex }) {
				return true
			}
		}
	}
	return false
}

// UsesFolder reports whether a function or version in the view runs from
// the host folder dir, as its code or a layer's (hot reload,
// docs/behaviour/dev-loop.md §1).
func (r *Registry) UsesFolder(dir string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, f := range r.funcs {
		if slices.Contains(f.Latest.Folders(), dir) || slices.ContainsFunc(f.Versions, func(c function.Config) bool { return slices.Contains(c.Folders(), dir) }) {
			return true
		}
	}
	return false
}

// Code opens a stored zip by its hex SHA-256; a missing one is a
// ResourceNotFoundException.
func (r *Registry) Code(ctx context.Context, hex string) (io.ReadCloser, error) {
	rc, err := r.blobs.Get(ctx, hex)
	if errors.Is(err, store.ErrNotFound) {
		return nil, awserr.New(awserr.ResourceNotFound, "Code not found: "+hex)
	}
	if err != nil {
		return nil, awserr.Internal(fmt.Errorf("reading code %s: %w", hex, err))
	}
	return rc, nil
}
