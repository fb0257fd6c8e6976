package urls

import (
	"encoding/json"
	"strings"

	"github.com/lambada-dev/lambada/internal/function"
)

// Public URL access (docs/behaviour/function-urls.md §5): a NONE URL is
// served only when its policy allows the public both
// lambda:InvokeFunctionUrl (FunctionUrlAuthType NONE) and
// lambda:InvokeFunction (InvokedViaFunctionUrl true). A statement applies
// when its principal is "*", its action covers the call and every
// condition it names is met by a public URL request; a condition on a key
// such a request does not carry (SourceArn, SourceAccount …) is not met.

type statement struct {
	Effect    string
	Principal json.RawMessage
	Action    json.RawMessage
	Condition map[string]map[string]json.RawMessage
}

// publicContext holds the condition keys of a public URL request.
var publicContext = map[string]string{
	"lambda:functionurlauthtype":   function.AuthNone,
	"lambda:invokedviafunctionurl": "true",
}

// publicAllowed reports whether p lets the public invoke through a NONE URL.
func publicAllowed(p *function.Policy) bool {
	if p == nil {
		return false
	}
	var sts []statement
	for _, raw := range p.Statements {
		var s statement
		if json.Unmarshal(raw, &s) == nil {
			sts = append(sts, s)
		}
	}
	return decide(sts, "lambda:InvokeFunctionUrl") && decide(sts, "lambda:InvokeFunction")
}

// decide: some Allow applies and no Deny does.
func decide(sts []statement, action string) bool {
	allowed := false
	for _, s := range sts {
		if !public(s.Principal) || !covers(s.Action, action) || !conditionsMet(s.Condition) {
			continue
		}
		switch s.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

func public(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == "*"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		return values(m["AWS"]) != nil && contains(values(m["AWS"]), "*")
	}
	return false
}

func covers(raw json.RawMessage, action string) bool {
	for _, a := range values(raw) {
		if a == "*" || strings.EqualFold(a, "lambda:*") || strings.EqualFold(a, action) {
			return true
		}
	}
	return false
}

func conditionsMet(c map[string]map[string]json.RawMessage) bool {
	for op, kv := range c {
		for k, raw := range kv {
			have, ok := publicContext[strings.ToLower(k)]
			if !ok {
				return false
			}
			match := false
			for _, want := range values(raw) {
				switch op {
				case "StringEquals", "Bool":
					match = match || want == have
				case "StringEqualsIgnoreCase":
					match = match || strings.EqualFold(want, have)
				}
			}
			if !match {
				return false
			}
		}
	}
	return true
}

// values reads a JSON string, bool or list of them.
func values(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var one any
	if json.Unmarshal(raw, &one) != nil {
		return nil
	}
	var out []string
	add := func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case bool:
			if x {
				out = append(out, "true")
			} else {
				out = append(out, "false")
			}
		}
	}
	if list, ok := one.([]any); ok {
		for _, v := range list {
			add(v)
		}
	} else {
		add(one)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
