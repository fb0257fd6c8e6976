// Package function holds lambada's plain shared values: function
// configurations, versions, aliases, names, qualifiers and ARNs, and the
// service limits. It does no I/O.
package function

import (
	"regexp"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// Shape is one of the service model's name shapes; each has its own pattern
// and length (docs/behaviour/api-common.md §6.1).
type Shape int

const (
	FunctionName            Shape = iota // 1–140, qualifier allowed
	NamespacedFunctionName               // 1–256, qualifier allowed, dots in names
	UnqualifiedFunctionName              // 1–140, no qualifier
)

// Patterns exactly as the service prints them in ValidationException texts.
const (
	PatternFunctionName            = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`
	PatternNamespacedFunctionName  = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?`
	PatternUnqualifiedFunctionName = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)`
	PatternQualifier               = `\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+`
	PatternAlias                   = `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`
	PatternVersion                 = `\$LATEST|[0-9]+`
	PatternRole                    = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`
)

// Latest is the unpublished version.
const Latest = "$LATEST"

// MaxNameLen is the longest bare function name.
const MaxNameLen = 64

type shapeInfo struct {
	pattern string
	re      *regexp.Regexp
	max     int
}

func whole(p string) *regexp.Regexp { return regexp.MustCompile(`^(?:` + p + `)$`) }

var shapes = map[Shape]shapeInfo{
	FunctionName:            {PatternFunctionName, whole(PatternFunctionName), 140},
	NamespacedFunctionName:  {PatternNamespacedFunctionName, whole(PatternNamespacedFunctionName), 256},
	UnqualifiedFunctionName: {PatternUnqualifiedFunctionName, whole(PatternUnqualifiedFunctionName), 140},
}

var (
	reQualifier = whole(PatternQualifier)
	reAliasBody = whole(`[a-zA-Z0-9-_]+`)
	reDigits    = regexp.MustCompile(`^[0-9]+$`)
	reRole      = whole(PatternRole)
	// reParts splits a name that already matched its shape's pattern. The
	// groups it keeps: region, account, name, qualifier.
	reParts = regexp.MustCompile(`^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?((?:eusc-)?[a-z]{2}(?:(?:-gov)|(?:-iso(?:[a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(?:function:)?([a-zA-Z0-9-_\.]+)(?::(\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9-_]+))?$`)
)

// Ref is a parsed FunctionName: what the caller addressed.
type Ref struct {
	Region    string // "" when not given
	Account   string // "" when not given
	Name      string
	Qualifier string // "" when not given
}

// ParseName checks raw against shape's length and pattern and splits it.
// Violations are ValidationExceptions at memberPath.
func ParseName(raw string, shape Shape, memberPath string) (Ref, error) {
	si := shapes[shape]
	var v Violations
	CheckName(&v, raw, shape, memberPath)
	if err := v.Err(); err != nil {
		return Ref{}, err
	}
	if bareName(raw) {
		return Ref{Name: raw}, nil
	}
	m := reParts.FindStringSubmatch(raw)
	if m == nil { // cannot happen once the shape matched
		return Ref{}, NewValidation(memberPath, raw, "Member must satisfy regular expression pattern: "+si.pattern)
	}
	return Ref{
		Region:    strings.TrimSuffix(m[1], ":"),
		Account:   strings.TrimSuffix(m[2], ":"),
		Name:      m[3],
		Qualifier: m[4],
	}, nil
}

// bareName reports whether raw is a plain function name: letters, digits,
// '-' and '_' only, no ARN parts or qualifier (no ':'). Every shape's
// pattern matches such a name whole as its name part, so the usual
// address of an invoke is checked and split without a regular expression.
func bareName(raw string) bool {
	if raw == "" {
		return false
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// CheckName records raw's violations of shape's length and pattern at
// memberPath, for operations that report them with other members'.
func CheckName(v *Violations, raw string, shape Shape, memberPath string) {
	si := shapes[shape]
	if bareName(raw) && len(raw) <= si.max {
		return // every shape's pattern takes a bare name whole
	}
	v.MaxLen(memberPath, raw, si.max)
	v.MinLen(memberPath, raw, 1)
	if raw != "" && !si.re.MatchString(raw) {
		v.Pattern(memberPath, raw, si.pattern)
	}
}

// Resolve parses a FunctionName label together with the ?Qualifier= query
// value, in the order of docs/behaviour/api-common.md §6.3: shape, region,
// account, qualifier agreement. The returned Ref has Region and Account
// filled with lambada's and the effective qualifier (or "").
//
// Model violations of the qualifier and the name are reported together in
// one ValidationException, the qualifier's first as AWS does
// (docs/behaviour/api-common.md §5.3).
func Resolve(raw, queryQualifier string, shape Shape, region, account string) (Ref, error) {
	var v Violations
	if queryQualifier != "" {
		CheckQualifierInto(&v, queryQualifier)
	}
	CheckName(&v, raw, shape, "functionName")
	if err := v.Err(); err != nil {
		return Ref{}, err
	}
	ref, err := ParseName(raw, shape, "functionName")
	if err != nil {
		return Ref{}, err
	}
	if ref.Region != "" && ref.Region != region {
		return Ref{}, awserr.Newf(awserr.ResourceNotFound,
			"Functions from '%s' are not reachable in this region ('%s')", ref.Region, region)
	}
	if ref.Account != "" && ref.Account != account {
		return Ref{}, awserr.New(awserr.AccessDenied, "")
	}
	if queryQualifier != "" {
		if ref.Qualifier != "" && ref.Qualifier != queryQualifier {
			return Ref{}, awserr.New(awserr.InvalidParameterValue,
				"The derived qualifier from the function name does not match the specified qualifier.")
		}
		ref.Qualifier = queryQualifier
	}
	ref.Region, ref.Account = region, account
	return ref, nil
}

// CheckQualifier validates a ?Qualifier= value against its shape.
func CheckQualifier(q string) error {
	var v Violations
	CheckQualifierInto(&v, q)
	return v.Err()
}

// CheckQualifierInto records q's violations of the Qualifier shape.
func CheckQualifierInto(v *Violations, q string) {
	v.MaxLen("qualifier", q, 128)
	v.MinLen("qualifier", q, 1)
	if q != "" && !reQualifier.MatchString(q) {
		v.Pattern("qualifier", q, PatternQualifier)
	}
}

// CheckAliasName validates an alias name (1–128, pattern, not all digits)
// at memberPath.
func CheckAliasName(memberPath, name string) error {
	var v Violations
	CheckAliasNameInto(&v, memberPath, name)
	return v.Err()
}

// CheckAliasNameInto records an alias name's violations at memberPath.
func CheckAliasNameInto(v *Violations, memberPath, name string) {
	v.MaxLen(memberPath, name, 128)
	v.MinLen(memberPath, name, 1)
	if name != "" && (!reAliasBody.MatchString(name) || reDigits.MatchString(name)) {
		v.Pattern(memberPath, name, PatternAlias)
	}
}

// IsVersionNumber reports whether q names a published version.
func IsVersionNumber(q string) bool { return reDigits.MatchString(q) }

// ValidRole reports whether role matches the IAM role ARN pattern.
func ValidRole(role string) bool { return reRole.MatchString(role) }

// ARN formats a function ARN, qualified when qualifier is not "".
func ARN(region, account, name, qualifier string) string {
	a := "arn:aws:lambda:" + region + ":" + account + ":function:" + name
	if qualifier != "" {
		a += ":" + qualifier
	}
	return a
}
