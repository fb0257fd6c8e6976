package function

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// Violations collects model-constraint violations and renders them as AWS's
// ValidationException text (docs/behaviour/api-common.md §5.3).
type Violations struct{ items []string }

// Add records a violation of rule by value (already formatted as AWS prints
// it, quotes included, or "null") at memberPath.
func (v *Violations) Add(memberPath, value, rule string) {
	v.items = append(v.items, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", value, memberPath, rule))
}

// Quote formats a string or integer value as AWS prints it.
func Quote(s string) string { return "'" + s + "'" }

func (v *Violations) MaxLen(path, s string, n int) {
	if len(s) > n {
		v.Add(path, Quote(s), "Member must have length less than or equal to "+strconv.Itoa(n))
	}
}

func (v *Violations) MinLen(path, s string, n int) {
	if len(s) < n {
		v.Add(path, Quote(s), "Member must have length greater than or equal to "+strconv.Itoa(n))
	}
}

func (v *Violations) Pattern(path, s, pattern string) {
	v.Add(path, Quote(s), "Member must satisfy regular expression pattern: "+pattern)
}

func (v *Violations) Max(path string, n, max int64) {
	if n > max {
		v.Add(path, Quote(strconv.FormatInt(n, 10)), "Member must have value less than or equal to "+strconv.FormatInt(max, 10))
	}
}

func (v *Violations) Min(path string, n, min int64) {
	if n < min {
		v.Add(path, Quote(strconv.FormatInt(n, 10)), "Member must have value greater than or equal to "+strconv.FormatInt(min, 10))
	}
}

func (v *Violations) Enum(path, s string, values ...string) {
	for _, e := range values {
		if s == e {
			return
		}
	}
	v.Add(path, Quote(s), "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

func (v *Violations) NotNull(path string, present bool) {
	if !present {
		v.Add(path, "null", "Member must not be null")
	}
}

// Len reports how many violations were recorded.
func (v *Violations) Len() int { return len(v.items) }

// Err returns the ValidationException, or nil when nothing was recorded.
func (v *Violations) Err() error {
	switch len(v.items) {
	case 0:
		return nil
	case 1:
		return awserr.New(awserr.Validation, "1 validation error detected: "+v.items[0])
	default:
		return awserr.New(awserr.Validation, fmt.Sprintf("%d validation errors detected: %s", len(v.items), strings.Join(v.items, "; ")))
	}
}

// NewValidation is a single-violation ValidationException.
func NewValidation(path, value, rule string) error {
	var v Violations
	v.Add(path, Quote(value), rule)
	return v.Err()
}

// FormatFloat prints a floating-point member as AWS's Java service does:
// always with a fraction (1.0, 0.5).
func FormatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEN") {
		s += ".0"
	}
	return s
}
