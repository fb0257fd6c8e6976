package function

import (
	"strings"
	"testing"

	"github.com/lambada-dev/lambada/internal/awserr"
)

func TestResolve(t *testing.T) {
	const region, account = "us-east-1", "000000000000"
	ok := []struct {
		raw, query, name, qualifier string
	}{
		{"my-function", "", "my-function", ""},
		{"my-function:v1", "", "my-function", "v1"},
		{"my-function:1", "", "my-function", "1"},
		{"my-function:$LATEST", "", "my-function", "$LATEST"},
		{"000000000000:function:my-function", "", "my-function", ""},
		{"000000000000:function:my-function:prod", "", "my-function", "prod"},
		{"arn:aws:lambda:us-east-1:000000000000:function:my-function", "", "my-function", ""},
		{"arn:aws:lambda:us-east-1:000000000000:function:my-function:$LATEST", "", "my-function", "$LATEST"},
		{"function:f", "", "f", ""},
		{"f", "prod", "f", "prod"},
		{"f:prod", "prod", "f", "prod"},
		{"f", "$latest", "f", "$latest"},
	}
	for _, c := range ok {
		ref, err := Resolve(c.raw, c.query, NamespacedFunctionName, region, account)
		if err != nil || ref.Name != c.name || ref.Qualifier != c.qualifier {
			t.Errorf("Resolve(%q, %q) = %+v, %v", c.raw, c.query, ref, err)
		}
	}
	bad := []struct {
		raw, query, code, msg string
	}{
		{"f:1:2", "", awserr.Validation, "1 validation error detected: Value 'f:1:2' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + PatternNamespacedFunctionName},
		{"f:$LATES", "", awserr.Validation, ""},
		{"f:$latest", "", awserr.Validation, ""},
		{"has space", "", awserr.Validation, ""},
		{"arn:aws:s3:::bucket", "", awserr.Validation, ""},
		{"", "", awserr.Validation, "1 validation error detected: Value '' at 'functionName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{strings.Repeat("a", 257), "", awserr.Validation, ""},
		{"arn:aws:lambda:eu-west-1:000000000000:function:f", "", awserr.ResourceNotFound, "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", "", awserr.AccessDenied, ""},
		{"f:prod", "dev", awserr.InvalidParameterValue, "The derived qualifier from the function name does not match the specified qualifier."},
		{"f", "bad qualifier", awserr.Validation, "1 validation error detected: Value 'bad qualifier' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: " + PatternQualifier},
	}
	for _, c := range bad {
		_, err := Resolve(c.raw, c.query, NamespacedFunctionName, region, account)
		e := awserr.As(err)
		if err == nil || e.Code != c.code || (c.msg != "" && e.Message != c.msg) {
			t.Errorf("Resolve(%q, %q) = %v; want %s %q", c.raw, c.query, err, c.code, c.msg)
		}
	}
}

func TestCheckAliasName(t *testing.T) {
	for _, n := range []string{"live", "v1", "a-b_c", "1a"} {
		if err := CheckAliasName("name", n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range []string{"123", "", "a b", "$LATEST", strings.Repeat("a", 129)} {
		if err := CheckAliasName("name", n); !awserr.Is(err, awserr.Validation) {
			t.Errorf("%q: %v", n, err)
		}
	}
}

func TestViolationsText(t *testing.T) {
	var v Violations
	v.Min("timeout", 0, 1)
	v.Enum("recursiveLoop", "x", "Terminate", "Allow")
	want := "2 validation errors detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1; Value 'x' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Terminate, Allow]"
	if e := awserr.As(v.Err()); e.Message != want || e.Status != 400 {
		t.Fatalf("got %q", e.Message)
	}
	if FormatFloat(1) != "1.0" || FormatFloat(0.5) != "0.5" {
		t.Fatal("FormatFloat")
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"f", "f:1", "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST", "f:1:2", "000000000000:function:x", "function:f", "a.b"} {
		f.Add(s, "")
		f.Add(s, "prod")
	}
	f.Fuzz(func(t *testing.T, raw, q string) {
		ref, err := Resolve(raw, q, NamespacedFunctionName, "us-east-1", "000000000000")
		if err != nil {
			if e := awserr.As(err); e.Status >= 500 {
				t.Fatalf("internal error for %q: %v", raw, err)
			}
			return
		}
		if ref.Name == "" || strings.ContainsAny(ref.Name, ":/ ") {
			t.Fatalf("bad name %q from %q", ref.Name, raw)
		}
		if ARN(ref.Region, ref.Account, ref.Name, ref.Qualifier) == "" {
			t.Fatal("empty ARN")
		}
	})
}

// TestBareNameAgreesWithPatterns: the regular-expression-free path for
// plain names accepts and splits exactly as the shapes' patterns do.
func TestBareNameAgreesWithPatterns(t *testing.T) {
	names := []string{"a", "-", "_", "echo", "my-Function_01", "0123456789", strings.Repeat("x", 64),
		strings.Repeat("y", 65), strings.Repeat("z", 140), strings.Repeat("w", 141), strings.Repeat("v", 257)}
	for _, raw := range names {
		if !bareName(raw) {
			t.Fatalf("%q is a bare name", raw)
		}
		m := reParts.FindStringSubmatch(raw)
		if m == nil || m[1] != "" || m[2] != "" || m[3] != raw || m[4] != "" {
			t.Errorf("%.20q: the pattern splits it as %q", raw, m)
		}
		for shape, si := range shapes {
			want := si.re.MatchString(raw) && len(raw) <= si.max
			var v Violations
			CheckName(&v, raw, shape, "functionName")
			if got := v.Err() == nil; got != want {
				t.Errorf("%.20q shape %d: accepted %v, the pattern and length say %v", raw, shape, got, want)
			}
		}
	}
	for _, raw := range []string{"", "a:1", "a.b", "arn:aws:lambda:us-east-1:123456789012:function:f", "a b", "é"} {
		if bareName(raw) {
			t.Errorf("%q is not a bare name", raw)
		}
	}
}
