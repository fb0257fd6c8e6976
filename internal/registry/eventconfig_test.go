package registry

import (
	"sort"
	"testing"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
)

func TestEventConfigKeyOrder(t *testing.T) {
	qs := []string{"live", "10", "$LATEST", "2", "alpha", "1"}
	sort.Slice(qs, func(i, j int) bool { return eventConfigKey(qs[i]) < eventConfigKey(qs[j]) })
	want := []string{"$LATEST", "1", "2", "10", "alpha", "live"}
	for i := range want {
		if qs[i] != want[i] {
			t.Fatalf("order %v, want %v", qs, want)
		}
	}
}

func TestCheckDestinations(t *testing.T) {
	r := New(Config{Region: "us-east-1", AccountID: "000000000000"}, nil, nil)
	r.funcs["dest"] = &function.Function{
		Name:     "dest",
		Versions: []function.Config{{Name: "dest", Version: "1"}},
		Aliases:  map[string]*function.Alias{"blue": {Name: "blue", FunctionVersion: "1"}},
	}
	r.funcs["me"] = &function.Function{Name: "me"}
	const fn = "arn:aws:lambda:us-east-1:000000000000:function:"
	d := func(s string) *DestinationInput { return &DestinationInput{Destination: &s} }
	for _, tc := range []struct {
		name      string
		dc        *DestinationConfigInput
		code, msg string
	}{
		{"none", nil, "", ""},
		{"empty sides", &DestinationConfigInput{OnSuccess: &DestinationInput{}, OnFailure: d("")}, "", ""},
		{"sqs sns", &DestinationConfigInput{OnSuccess: d("arn:aws:sqs:us-east-1:000000000000:q"), OnFailure: d("arn:aws:sns:us-east-1:000000000000:t")}, "", ""},
		{"events, s3 on failure", &DestinationConfigInput{OnSuccess: d("arn:aws:events:us-east-1:000000000000:event-bus/b"), OnFailure: d("arn:aws:s3:::b")}, "", ""},
		{"lambda forms", &DestinationConfigInput{OnSuccess: d(fn + "dest:blue"), OnFailure: d(fn + "dest:$LATEST")}, "", ""},
		{"lambda version", &DestinationConfigInput{OnSuccess: d(fn + "dest:1")}, "", ""},
		{"s3 on success", &DestinationConfigInput{OnSuccess: d("arn:aws:s3:::b"), OnFailure: &DestinationInput{}},
			awserr.InvalidParameterValue, "The provided destination config DestinationConfig(onSuccess=OnSuccess(destination=arn:aws:s3:::b), onFailure=OnFailure(destination=null)) is invalid."},
		{"kafka", &DestinationConfigInput{OnFailure: d("kafka://b")},
			awserr.InvalidParameterValue, "The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination=kafka://b)) is invalid."},
		{"service before lambda", &DestinationConfigInput{OnSuccess: d(fn + "nope"), OnFailure: d("arn:aws:kinesis:us-east-1:000000000000:stream/s")},
			awserr.InvalidParameterValue, "The provided destination config DestinationConfig(onSuccess=OnSuccess(destination=" + fn + "nope), onFailure=OnFailure(destination=arn:aws:kinesis:us-east-1:000000000000:stream/s)) is invalid."},
		{"self", &DestinationConfigInput{OnFailure: d(fn + "me:7")}, awserr.InvalidParameterValue, "You can't specify the function as a destination for itself."},
		{"missing", &DestinationConfigInput{OnFailure: d(fn + "dest:2")}, awserr.InvalidParameterValue, "The destination ARN " + fn + "dest:2 is invalid."},
		{"other account", &DestinationConfigInput{OnFailure: d("arn:aws:lambda:us-east-1:111111111111:function:dest")},
			awserr.InvalidParameterValue, "The destination ARN arn:aws:lambda:us-east-1:111111111111:function:dest is invalid."},
		{"lambda layer", &DestinationConfigInput{OnFailure: d("arn:aws:lambda:us-east-1:000000000000:layer:l")},
			awserr.InvalidParameterValue, "The destination ARN arn:aws:lambda:us-east-1:000000000000:layer:l is invalid."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := r.checkDestinations("me", tc.dc)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e := awserr.As(err)
			if err == nil || e.Code != tc.code || e.Message != tc.msg {
				t.Fatalf("got %v\nwant %s: %s", err, tc.code, tc.msg)
			}
		})
	}
}

func TestDestinationPattern(t *testing.T) {
	for s, ok := range map[string]bool{
		"":                         true,
		"kafka://broker-1.example": true,
		"arn:aws:s3:::bucket":      true,
		"arn:aws:sqs:eusc-de-east-1:000000000000:q": true,
		"arn:aws:sqs:us-east-1:12345:q":             false,
		"queue":                                     false,
		"kafka://.x":                                false,
	} {
		if got := reDestinationArn.MatchString(s); got != ok {
			t.Errorf("%q: match %v, want %v", s, got, ok)
		}
	}
}
