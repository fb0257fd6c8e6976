package invoke_test

// Every refusal of docs/behaviour/invoke.md §2/§3/§7/§9 with the real SDK (or a
// raw signed request where the SDK will not send the input or hides the
// body): exact type, status and message, and nothing run.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

func TestInvokeRefusals(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := noRetry(s)
	create(t, s, "fn", nil)
	if _, err := s.Client.PublishVersion(context.Background(), &lambda.PublishVersionInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b64 := func(s string) *string { return aws.String(base64.StdEncoding.EncodeToString([]byte(s))) }
	bigCC := `{"custom":{"k":"` + strings.Repeat("a", 2700) + `"}}` // base64 ≈ 3,628 bytes
	if n := len(*b64(bigCC)); n <= 3583 {
		t.Fatalf("client context only %d bytes", n)
	}
	fitCC := `{"custom":{"k":"` + strings.Repeat("a", 2660) + `"}}`
	if n := len(*b64(fitCC)); n > 3583 {
		t.Fatalf("fitting client context is %d bytes", n)
	}

	cases := []struct {
		name   string
		in     lambda.InvokeInput
		code   string
		status int
		msg    string
	}{
		{"unknown function", lambda.InvokeInput{FunctionName: aws.String("nope")},
			"ResourceNotFoundException", 404, "Function not found: " + arnPrefix + "nope:$LATEST"},
		{"unknown function by ARN", lambda.InvokeInput{FunctionName: aws.String(arnPrefix + "nope")},
			"ResourceNotFoundException", 404, "Function not found: " + arnPrefix + "nope:$LATEST"},
		{"unknown version", lambda.InvokeInput{FunctionName: aws.String("fn"), Qualifier: aws.String("7")},
			"ResourceNotFoundException", 404, "Function not found: " + arnPrefix + "fn:7"},
		{"unknown version in the name", lambda.InvokeInput{FunctionName: aws.String("fn:7")},
			"ResourceNotFoundException", 404, "Function not found: " + arnPrefix + "fn:7"},
		{"unknown alias", lambda.InvokeInput{FunctionName: aws.String("fn"), Qualifier: aws.String("live")},
			"ResourceNotFoundException", 404, "Function not found: " + arnPrefix + "fn:live"},
		{"$latest is an alias lookup", lambda.InvokeInput{FunctionName: aws.String("fn"), Qualifier: aws.String("$latest")},
			"ResourceNotFoundException", 404, "Function not found: " + arnPrefix + "fn:$latest"},
		{"bad InvocationType", lambda.InvokeInput{FunctionName: aws.String("fn"), InvocationType: "Sync"},
			"ValidationException", 400, enumMsg("Sync", "invocationType", "Event, RequestResponse, DryRun")},
		{"bad LogType", lambda.InvokeInput{FunctionName: aws.String("fn"), LogType: "All"},
			"ValidationException", 400, enumMsg("All", "logType", "None, Tail")},
		{"bad LogType on an unknown function (validation first)", lambda.InvokeInput{FunctionName: aws.String("nope"), LogType: "tail"},
			"ValidationException", 400, enumMsg("tail", "logType", "None, Tail")},
		{"qualifier mismatch", lambda.InvokeInput{FunctionName: aws.String("fn:1"), Qualifier: aws.String("2")},
			"InvalidParameterValueException", 400, msgMismatch},
		{"qualifier mismatch by ARN", lambda.InvokeInput{FunctionName: aws.String(arnPrefix + "fn:$LATEST"), Qualifier: aws.String("1")},
			"InvalidParameterValueException", 400, msgMismatch},
		{"payload not JSON", lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: []byte(`{"a":`)},
			"InvalidRequestContentException", 400, msgPayloadPrefix + "*"},
		{"payload two JSON values", lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: []byte(`{} {}`)},
			"InvalidRequestContentException", 400, msgPayloadPrefix + "*"},
		{"payload bare word", lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: []byte(`hello`)},
			"InvalidRequestContentException", 400, msgPayloadPrefix + "*"},
		{"ClientContext not base64", lambda.InvokeInput{FunctionName: aws.String("fn"), ClientContext: aws.String("not base64!")},
			"InvalidRequestContentException", 400, msgClientContext},
		{"ClientContext an array", lambda.InvokeInput{FunctionName: aws.String("fn"), ClientContext: b64(`[1,2]`)},
			"InvalidRequestContentException", 400, msgClientContext},
		{"ClientContext a string", lambda.InvokeInput{FunctionName: aws.String("fn"), ClientContext: b64(`"x"`)},
			"InvalidRequestContentException", 400, msgClientContext},
		{"ClientContext broken JSON", lambda.InvokeInput{FunctionName: aws.String("fn"), ClientContext: b64(`{"a":`)},
			"InvalidRequestContentException", 400, msgClientContext},
		{"ClientContext over 3583 bytes", lambda.InvokeInput{FunctionName: aws.String("fn"), ClientContext: b64(bigCC)},
			"InvalidRequestContentException", 400, msgClientContext},
		{"ClientContext checked before the payload", lambda.InvokeInput{FunctionName: aws.String("fn"), ClientContext: aws.String("!!"), Payload: []byte("nope")},
			"InvalidRequestContentException", 400, msgClientContext},
		{"TenantId", lambda.InvokeInput{FunctionName: aws.String("fn"), TenantId: aws.String("t1")},
			"InvalidParameterValueException", 400, ""},
		{"payload over 6 MB", lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: jsonString(maxSyncPayload + 1)},
			"RequestEntityTooLargeException", 413, msgTooLargeSync},
		{"DryRun payload over 6 MB", lambda.InvokeInput{FunctionName: aws.String("fn"), InvocationType: types.InvocationTypeDryRun, Payload: jsonString(maxSyncPayload + 1)},
			"RequestEntityTooLargeException", 413, msgTooLargeSync},
		{"Event payload over 1 MB", lambda.InvokeInput{FunctionName: aws.String("fn"), InvocationType: types.InvocationTypeEvent, Payload: jsonString(maxEventPayload + 1)},
			"RequestEntityTooLargeException", 413, "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nothingRan(t, s, func() {
				_, err := c.Invoke(ctx, &tc.in)
				wantErr(t, err, tc.code, tc.status, tc.msg)
			})
		})
	}

	t.Run("ClientContext of exactly the limit is fine", func(t *testing.T) {
		out := invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("fn"), ClientContext: b64(fitCC), Payload: []byte(`{"op":"echo"}`)})
		if out.FunctionError != nil {
			t.Fatalf("%s", out.Payload)
		}
	})
}

// TestInvokeLargePayloadRefusals: a body large enough for the API to check
// its JSON beside SigV4's hash (invoke.CheckEarly) is refused as a small
// one is, in the same order: the signature first (a body changed after
// signing), then the function, then the payload, with the same words; one
// that encoding/json accepts runs.
func TestInvokeLargePayloadRefusals(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "big", nil)
	pad := func(head, tail string) []byte {
		return []byte(head + strings.Repeat("x", 256<<10) + tail)
	}
	good := pad(`{"op":"echo","data":"`, `"}`)
	notJSON := pad(`{"op":"echo","data":"`, `"} x`)
	var v any
	jsonErr := json.Unmarshal(notJSON, &v)
	notUTF8 := pad(`{"op":"echo","data":"`, "\xff\"}")
	changed := bytes.Clone(good)
	changed[len(changed)/2] = 'y'
	nothingRan(t, s, func() {
		r := rawInvokeSigned(t, s, "big", "", nil, changed, good)
		if r.status != 403 || r.header.Get("X-Amzn-ErrorType") != "InvalidSignatureException" {
			t.Errorf("body changed after signing: HTTP %d %q %.200s", r.status, r.header.Get("X-Amzn-ErrorType"), r.body)
		}
		r = rawInvokeSigned(t, s, "big", "", nil, notJSON, good)
		if r.status != 403 || r.header.Get("X-Amzn-ErrorType") != "InvalidSignatureException" {
			t.Errorf("changed body, not JSON: HTTP %d %q %.200s", r.status, r.header.Get("X-Amzn-ErrorType"), r.body)
		}
		rawInvoke(t, s, "nope", "", nil, notJSON).awsError(t, 404, "ResourceNotFoundException", "Function not found: "+arnPrefix+"nope:$LATEST")
		rawInvoke(t, s, "big", "", nil, notJSON).awsError(t, 400, "InvalidRequestContentException", msgPayloadPrefix+jsonErr.Error())
		rawInvoke(t, s, "big", "", nil, notUTF8).awsError(t, 400, "InvalidRequestContentException", msgPayloadPrefix+"Invalid UTF-8 start byte 0xff")
		rawInvoke(t, s, "big", "", map[string]string{"X-Amz-Invocation-Type": "Event"}, notJSON).awsError(t, 400, "InvalidRequestContentException", msgPayloadPrefix+jsonErr.Error())
		if r := rawInvoke(t, s, "big", "", map[string]string{"X-Amz-Invocation-Type": "DryRun"}, notJSON); r.status != 204 {
			t.Errorf("DryRun, not JSON: HTTP %d %.200s", r.status, r.body)
		}
	})
	for _, p := range [][]byte{good, pad(`{"op":"echo","data":"\ud800`, `"}`)} {
		if r := rawInvoke(t, s, "big", "", nil, p); r.status != 200 || r.header.Get("X-Amz-Function-Error") != "" {
			t.Errorf("%.30s…: HTTP %d %q %.200s", p, r.status, r.header.Get("X-Amz-Function-Error"), r.body)
		}
	}
}

// jsonString is a JSON string literal of exactly n bytes.
func jsonString(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	b[0], b[n-1] = '"', '"'
	return b
}

func TestInvokeDryRun(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "dry", nil)
	nothingRan(t, s, func() {
		// §2: DryRun stops after resolving; payload and ClientContext are not inspected.
		for _, in := range []*lambda.InvokeInput{
			{FunctionName: aws.String("dry"), InvocationType: types.InvocationTypeDryRun},
			{FunctionName: aws.String("dry"), InvocationType: types.InvocationTypeDryRun, Payload: []byte("not json"),
				ClientContext: aws.String("not base64!"), LogType: types.LogTypeTail},
		} {
			out, err := s.Client.Invoke(context.Background(), in)
			if err != nil {
				t.Fatalf("DryRun: %v", err)
			}
			if out.StatusCode != 204 || len(out.Payload) != 0 || out.LogResult != nil || out.FunctionError != nil {
				t.Errorf("DryRun: %d %q log=%v", out.StatusCode, out.Payload, out.LogResult)
			}
		}
		r := rawInvoke(t, s, "dry", "", map[string]string{"X-Amz-Invocation-Type": "DryRun"}, []byte("{{{"))
		if r.status != 204 || len(r.body) != 0 || r.header.Get("X-Amzn-Requestid") == "" {
			t.Errorf("raw DryRun: %d %v %q", r.status, r.header, r.body)
		}
		// DryRun still resolves: an unknown function is a 404.
		_, err := s.Client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("dry"), Qualifier: aws.String("9"), InvocationType: types.InvocationTypeDryRun})
		wantErr(t, err, "ResourceNotFoundException", 404, "Function not found: "+arnPrefix+"dry:9")
	})
}

func TestInvokeRefusalsOnTheWire(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "wire", nil)
	nothingRan(t, s, func() {
		r := rawInvoke(t, s, "wire", "", nil, []byte(`{"a":`))
		r.awsError(t, 400, "InvalidRequestContentException", msgPayloadPrefix+"*")

		r = rawInvoke(t, s, "wire", "", map[string]string{"X-Amz-Client-Context": "%%%"}, []byte(`{}`))
		r.awsError(t, 400, "InvalidRequestContentException", msgClientContext)

		r = rawInvoke(t, s, "wire", "", map[string]string{"X-Amz-Durable-Execution-Name": "d"}, []byte(`{}`))
		r.awsError(t, 400, "InvalidParameterValueException", "*")

		r = rawInvoke(t, s, "wire", "Qualifier=%24latest", nil, []byte(`{}`))
		r.awsError(t, 404, "ResourceNotFoundException", "Function not found: "+arnPrefix+"wire:$latest")

		// The client writes the whole oversized body; the server drains it
		// and answers 413 (not a reset connection).
		r = rawInvoke(t, s, "wire", "", nil, jsonString(maxSyncPayload+1_000_000))
		r.awsError(t, 413, "RequestEntityTooLargeException", msgTooLargeSync)
		r = rawInvoke(t, s, "wire", "", map[string]string{"X-Amz-Invocation-Type": "Event"}, jsonString(maxEventPayload+10))
		r.awsError(t, 413, "RequestEntityTooLargeException", "1048586 byte payload is too large for the Event invocation type (limit 1048576 bytes)")
	})
	// Event: accepted with 202 and an empty body once durably queued (the
	// async tests follow it to the function).
	t.Run("Event", func(t *testing.T) {
		r := rawInvoke(t, s, "wire", "", map[string]string{"X-Amz-Invocation-Type": "Event"}, []byte(`{"op":"echo"}`))
		if r.status != 202 || len(r.body) != 0 || r.header.Get("X-Amzn-Requestid") == "" {
			t.Fatalf("Event: HTTP %d %q %s", r.status, r.header.Get("X-Amzn-ErrorType"), r.body)
		}
	})
	// Exactly at the limit is accepted (and runs).
	r := rawInvoke(t, s, "wire", "", nil, jsonString(maxSyncPayload))
	if r.status != 200 || r.header.Get("X-Amz-Executed-Version") != "$LATEST" {
		t.Errorf("payload of exactly the limit: %d %.200s", r.status, r.body)
	}
}
