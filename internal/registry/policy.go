package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
)

// Resource-based policies: AddPermission, RemovePermission, GetPolicy
// (docs/behaviour/function-urls.md §5).

// PermissionInput is AddPermission's body.
type PermissionInput struct {
	StatementID           *string `json:"StatementId"`
	Action                *string `json:"Action"`
	Principal             *string `json:"Principal"`
	SourceArn             *string `json:"SourceArn"`
	SourceAccount         *string `json:"SourceAccount"`
	EventSourceToken      *string `json:"EventSourceToken"`
	PrincipalOrgID        *string `json:"PrincipalOrgID"`
	RevisionID            *string `json:"RevisionId"`
	FunctionURLAuthType   *string `json:"FunctionUrlAuthType"`
	InvokedViaFunctionURL *bool   `json:"InvokedViaFunctionUrl"`
}

// Patterns of AddPermission's members as the service prints them.
const (
	PatternStatementID      = `([a-zA-Z0-9-_]+)`
	PatternAction           = `(lambda:[*]|lambda:[a-zA-Z]+|[*])`
	PatternPrincipal        = `[^\s]+`
	PatternSourceOwner      = `\d{12}`
	PatternEventSourceToken = `[a-zA-Z0-9._\-]+`
	PatternPrincipalOrgID   = `^o-[a-z0-9]{10,32}$`
	PatternPolicyQualifier  = `(|[a-zA-Z0-9$_-]+)`
	PatternSourceArn        = `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)`
)

var (
	reStatementID      = regexp.MustCompile(`^(?:` + PatternStatementID + `)$`)
	reAction           = regexp.MustCompile(`^(?:` + PatternAction + `)$`)
	rePrincipal        = regexp.MustCompile(`^(?:` + PatternPrincipal + `)$`)
	reSourceOwner      = regexp.MustCompile(`^(?:` + PatternSourceOwner + `)$`)
	reEventSourceToken = regexp.MustCompile(`^(?:` + PatternEventSourceToken + `)$`)
	rePrincipalOrgID   = regexp.MustCompile(PatternPrincipalOrgID)
	rePolicyQualifier  = regexp.MustCompile(`^(?:` + PatternPolicyQualifier + `)$`)
	reSourceArn        = regexp.MustCompile(`^(?:` + PatternSourceArn + `)$`)
	reIAMArn           = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:iam::\d{12}:.+$`)
	reServicePrincipal = regexp.MustCompile(`^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$`)
)

const (
	msgNoPolicy        = "No policy is associated with the given resource."
	msgPolicyNoLatest  = "We currently do not support adding policies for $LATEST."
	msgInvalidPrincpal = "The provided principal was invalid. Please check the principal and try again."
)

// Statement is one rendered policy statement, members in AWS's order.
type Statement struct {
	Sid       string          `json:"Sid"`
	Effect    string          `json:"Effect"`
	Principal any             `json:"Principal"`
	Action    string          `json:"Action"`
	Resource  string          `json:"Resource"`
	Condition json.RawMessage `json:"Condition,omitempty"`
}

// PolicyOutput is GetPolicy's answer.
type PolicyOutput struct {
	Policy     string
	RevisionID string
}

func checkPermissionModel(v *function.Violations, in *PermissionInput) {
	pattern := func(path string, s *string, re *regexp.Regexp, p string, maxLen int) {
		if s == nil {
			return
		}
		if maxLen > 0 {
			v.MaxLen(path, *s, maxLen)
		}
		if !re.MatchString(*s) {
			v.Pattern(path, *s, p)
		}
	}
	v.NotNull("statementId", in.StatementID != nil)
	if in.StatementID != nil {
		v.MinLen("statementId", *in.StatementID, 1)
	}
	pattern("statementId", in.StatementID, reStatementID, PatternStatementID, 100)
	v.NotNull("action", in.Action != nil)
	pattern("action", in.Action, reAction, PatternAction, 0)
	v.NotNull("principal", in.Principal != nil)
	pattern("principal", in.Principal, rePrincipal, PatternPrincipal, 0)
	pattern("sourceArn", in.SourceArn, reSourceArn, PatternSourceArn, 0)
	pattern("sourceAccount", in.SourceAccount, reSourceOwner, PatternSourceOwner, 12)
	pattern("eventSourceToken", in.EventSourceToken, reEventSourceToken, PatternEventSourceToken, 256)
	pattern("principalOrgID", in.PrincipalOrgID, rePrincipalOrgID, PatternPrincipalOrgID, 34)
	if in.FunctionURLAuthType != nil {
		v.Enum("functionUrlAuthType", *in.FunctionURLAuthType, function.AuthNone, function.AuthIAM)
	}
}

// policyRef resolves the FunctionName and ?Qualifier= of a policy
// operation; the qualifier is "" for the unqualified function.
func (r *Registry) policyRef(rawName, queryQualifier string, v *function.Violations) (function.Ref, error) {
	function.CheckName(v, rawName, function.FunctionName, "functionName")
	if queryQualifier != "" {
		v.MaxLen("qualifier", queryQualifier, 128)
		if !rePolicyQualifier.MatchString(queryQualifier) {
			v.Pattern("qualifier", queryQualifier, PatternPolicyQualifier)
		}
	}
	if err := v.Err(); err != nil {
		return function.Ref{}, err
	}
	return function.Resolve(rawName, queryQualifier, function.FunctionName, r.cfg.Region, r.cfg.AccountID)
}

// principal renders the Principal member (AWS's expansion of the short
// forms).
func principal(p string) (any, error) {
	switch {
	case p == "*":
		return "*", nil
	case reSourceOwner.MatchString(p):
		return map[string]string{"AWS": "arn:aws:iam::" + p + ":root"}, nil
	case reIAMArn.MatchString(p):
		return map[string]string{"AWS": p}, nil
	case reServicePrincipal.MatchString(p):
		return map[string]string{"Service": p}, nil
	}
	return nil, awserr.New(awserr.InvalidParameterValue, msgInvalidPrincpal)
}

// condition renders the Condition member: StringEquals, ArnLike, Bool, in
// that order, each with its keys in the order AddPermission lists them.
func condition(in *PermissionInput) json.RawMessage {
	type kv struct{ k, v string }
	var str, arn, boolean []kv
	if in.SourceAccount != nil {
		str = append(str, kv{"AWS:SourceAccount", *in.SourceAccount})
	}
	if in.EventSourceToken != nil {
		str = append(str, kv{"lambda:EventSourceToken", *in.EventSourceToken})
	}
	if in.PrincipalOrgID != nil {
		str = append(str, kv{"aws:PrincipalOrgID", *in.PrincipalOrgID})
	}
	if in.FunctionURLAuthType != nil {
		str = append(str, kv{"lambda:FunctionUrlAuthType", *in.FunctionURLAuthType})
	}
	if in.SourceArn != nil {
		arn = append(arn, kv{"AWS:SourceArn", *in.SourceArn})
	}
	if in.InvokedViaFunctionURL != nil && *in.InvokedViaFunctionURL {
		boolean = append(boolean, kv{"lambda:InvokedViaFunctionUrl", "true"})
	}
	var b bytes.Buffer
	block := func(op string, items []kv) {
		if len(items) == 0 {
			return
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		q, _ := json.Marshal(op)
		b.Write(q)
		b.WriteString(":{")
		for i, it := range items {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(it.k)
			val, _ := json.Marshal(it.v)
			b.Write(k)
			b.WriteByte(':')
			b.Write(val)
		}
		b.WriteByte('}')
	}
	b.WriteByte('{')
	block("StringEquals", str)
	block("ArnLike", arn)
	block("Bool", boolean)
	if b.Len() == 1 {
		return nil
	}
	b.WriteByte('}')
	return b.Bytes()
}

// policyTarget finds what a policy's revision id belongs to: the alias,
// or the version ($LATEST for the unqualified function).
func (r *Registry) policyTarget(f *function.Function, q string) (key string, rev *string, err error) {
	switch {
	case q == "" || q == function.Latest:
		return function.Latest, &f.Latest.RevisionID, nil
	case function.IsVersionNumber(q):
		c, ok := f.Version(q)
		if !ok {
			return "", nil, r.notFound(f.Name, q)
		}
		return q, &c.RevisionID, nil
	default:
		a, ok := f.Aliases[q]
		if !ok {
			return "", nil, awserr.New(awserr.ResourceNotFound, "Cannot find alias arn: "+r.aliasARN(f.Name, q))
		}
		return q, &a.RevisionID, nil
	}
}

// AddPermission adds a statement to the policy of the function, a version
// or an alias, and returns the statement's JSON.
func (r *Registry) AddPermission(ctx context.Context, rawName, queryQualifier string, in *PermissionInput) (string, error) {
	var v function.Violations
	checkPermissionModel(&v, in)
	ref, err := r.policyRef(rawName, queryQualifier, &v)
	if err != nil {
		return "", err
	}
	if ref.Qualifier == function.Latest {
		return "", awserr.New(awserr.InvalidParameterValue, msgPolicyNoLatest)
	}
	pr, err := principal(*in.Principal)
	if err != nil {
		return "", err
	}
	var out []byte
	_, err = r.change(ctx, ref.Name, func(f *function.Function) error {
		key, rev, err := r.policyTarget(f, ref.Qualifier)
		if err != nil {
			return err
		}
		if err := checkRevision(in.RevisionID, *rev); err != nil {
			return err
		}
		p := f.Policies[key]
		if p != nil {
			for _, s := range p.Statements {
				if statementID(s) == *in.StatementID {
					return awserr.Newf(awserr.ResourceConflict,
						"The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", *in.StatementID)
				}
			}
		} else {
			p = &function.Policy{}
		}
		st := Statement{
			Sid: *in.StatementID, Effect: "Allow", Principal: pr, Action: *in.Action,
			Resource: r.arn(f.Name, ref.Qualifier), Condition: condition(in),
		}
		b, err := json.Marshal(st)
		if err != nil {
			return awserr.Internal(err)
		}
		p.Statements = append(p.Statements, b)
		if f.Policies == nil {
			f.Policies = map[string]*function.Policy{}
		}
		f.Policies[key] = p
		*rev = newRevision()
		out = b
		return nil
	})
	if err != nil {
		return "", err
	}
	return string(out), nil
}

func statementID(raw json.RawMessage) string {
	var s struct{ Sid string }
	_ = json.Unmarshal(raw, &s)
	return s.Sid
}

// RemovePermission removes one statement; the last one takes the policy
// with it.
func (r *Registry) RemovePermission(ctx context.Context, rawName, sid, queryQualifier, revisionID string) error {
	var v function.Violations
	ref, err := r.policyRef(rawName, queryQualifier, &v)
	if err != nil {
		return err
	}
	_, err = r.change(ctx, ref.Name, func(f *function.Function) error {
		key, rev, err := r.policyTarget(f, ref.Qualifier)
		if err != nil {
			return err
		}
		p := f.Policies[key]
		if p == nil || len(p.Statements) == 0 {
			return awserr.New(awserr.ResourceNotFound, msgNoPolicy)
		}
		idx := -1
		for i, s := range p.Statements {
			if statementID(s) == sid {
				idx = i
			}
		}
		if idx < 0 {
			return awserr.Newf(awserr.ResourceNotFound, "Statement %s is not found in resource policy.", sid)
		}
		if revisionID != "" {
			if err := checkRevision(&revisionID, *rev); err != nil {
				return err
			}
		}
		p.Statements = append(p.Statements[:idx], p.Statements[idx+1:]...)
		if len(p.Statements) == 0 {
			delete(f.Policies, key)
		}
		*rev = newRevision()
		return nil
	})
	if e := awserr.As(err); err != nil && e.Code == awserr.ResourceNotFound && strings.HasPrefix(e.Message, "Function not found") {
		return awserr.New(awserr.ResourceNotFound, "No policy found for: "+r.arn(ref.Name, ""))
	}
	return err
}

// GetPolicy returns the policy document of the function, a version or an
// alias.
func (r *Registry) GetPolicy(rawName, queryQualifier string) (PolicyOutput, error) {
	var v function.Violations
	ref, err := r.policyRef(rawName, queryQualifier, &v)
	if err != nil {
		return PolicyOutput{}, err
	}
	f, ok := r.Function(ref.Name)
	if !ok {
		return PolicyOutput{}, r.notFound(ref.Name, "")
	}
	key, rev, err := r.policyTarget(f, ref.Qualifier)
	if err != nil {
		return PolicyOutput{}, err
	}
	p := f.Policies[key]
	if p == nil || len(p.Statements) == 0 {
		return PolicyOutput{}, awserr.New(awserr.ResourceNotFound, msgURLNoResource)
	}
	return PolicyOutput{Policy: PolicyDocument(p), RevisionID: *rev}, nil
}

// PolicyDocument renders a policy as AWS returns it.
func PolicyDocument(p *function.Policy) string {
	var b strings.Builder
	b.WriteString(`{"Version":"2012-10-17","Id":"default","Statement":[`)
	for i, s := range p.Statements {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(s)
	}
	b.WriteString("]}")
	return b.String()
}

// Policy returns the policy of a function's qualifier ($LATEST or an
// alias name) from the view; nil when none.
func PolicyOf(f *function.Function, qualifier string) *function.Policy {
	return f.Policies[qualifier]
}
