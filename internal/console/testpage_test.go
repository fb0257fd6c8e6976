package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/console"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// TestTestTab: the Test tab's invocation types and saved events, without
// a browser.
func TestTestTab(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	if _, err := s.Client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String("tt"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
	v := newVisitor(t, s)
	v.signIn(s.Creds.AccessKeyID, s.Creds.SecretAccessKey)
	tok := http.Header{console.CSRFHeader: {v.token()}}
	post := func(path string, form url.Values) string {
		t.Helper()
		resp, body := v.do("POST", path, form, tok)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, body)
		}
		return body
	}

	for _, c := range []struct{ typ, want string }{
		{"RequestResponse", `id="r-status">200<`}, {"Event", `id="r-status">202<`}, {"DryRun", `id="r-status">204<`},
	} {
		if body := post("/console/functions/tt/test", url.Values{"type": {c.typ}, "payload": {`{"op":"echo"}`}, "qualifier": {"$LATEST"}}); !strings.Contains(body, c.want) {
			t.Errorf("%s: %s", c.typ, body)
		}
	}
	// Refusals come back as the service's error, on the page.
	if body := post("/console/functions/tt/test", url.Values{"payload": {`{}`}, "qualifier": {"nope"}}); !strings.Contains(body, "ResourceNotFoundException") {
		t.Errorf("unknown alias: %s", body)
	}
	if body := post("/console/functions/tt/test", url.Values{"payload": {`{"op":`}}); !strings.Contains(body, `id="r-error"`) {
		t.Errorf("invalid JSON: %s", body)
	}

	// Saved events: checked, at most ten, deleted.
	for _, c := range []struct{ name, payload, want string }{
		{"bad name!", `{}`, "An event name is"},
		{"", `{}`, "An event name is"},
		{"broken", `{"a":`, "not valid JSON"},
		{"huge", `{"a":"` + strings.Repeat("x", 65<<10) + `"}`, "at most 64 KiB"},
	} {
		if body := post("/console/functions/tt/events", url.Values{"event": {c.name}, "payload": {c.payload}}); !strings.Contains(body, c.want) {
			t.Errorf("saving %q: %s", c.name, body)
		}
	}
	for i := range 10 {
		if body := post("/console/functions/tt/events", url.Values{"event": {fmt.Sprintf("ev-%d", i)}, "payload": {fmt.Sprintf(`{"n":%d}`, i)}}); !strings.Contains(body, "Saved ev-") {
			t.Fatalf("saving ev-%d: %s", i, body)
		}
	}
	if body := post("/console/functions/tt/events", url.Values{"event": {"eleventh"}, "payload": {`{}`}}); !strings.Contains(body, "at most 10 saved events") {
		t.Errorf("an eleventh event: %s", body)
	}
	if body := post("/console/functions/tt/events", url.Values{"event": {"ev-3"}, "payload": {`{"n":33}`}}); !strings.Contains(body, "Saved ev-3") {
		t.Errorf("overwriting: %s", body)
	}
	if _, body := v.do("GET", "/console/functions/tt/events?saved=ev-3", nil, nil); !strings.Contains(body, `{&#34;n&#34;:33}`) {
		t.Errorf("loading ev-3: %s", body)
	}
	if body := post("/console/functions/tt/events/delete", url.Values{"saved": {"ev-3"}}); !strings.Contains(body, "Deleted ev-3") || strings.Contains(body, "<option>ev-3<") {
		t.Errorf("deleting: %s", body)
	}
	if _, body := v.do("GET", "/console/functions/tt/test", nil, nil); strings.Count(body, "<option>ev-") != 9 {
		t.Errorf("after deleting one of ten: %d saved", strings.Count(body, "<option>ev-"))
	}

	// The stream endpoint is behind the CSRF check; with it, it answers
	// server-sent events.
	if resp, _ := v.do("POST", "/console/api/functions/tt/stream", url.Values{"payload": {`{}`}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("stream without a token: %d", resp.StatusCode)
	}
	resp, body := v.do("POST", "/console/api/functions/tt/stream", url.Values{"payload": {`{"op":"stream","n":2}`}}, tok)
	var streamed string
	for _, frame := range strings.Split(body, "\n\n") {
		if data, ok := strings.CutPrefix(frame, "event: chunk\ndata: "); ok {
			var chunk string
			if err := json.Unmarshal([]byte(data), &chunk); err != nil {
				t.Fatal(err)
			}
			streamed += chunk
		}
	}
	if resp.Header.Get("Content-Type") != "text/event-stream" || streamed != "chunk-0;chunk-1;" || !strings.Contains(body, "event: end\ndata: {\"Status\":200") {
		t.Errorf("stream: %s %s", resp.Header.Get("Content-Type"), body)
	}

	if resp, _ := v.do("GET", "/console/functions/nope", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown function page: %d", resp.StatusCode)
	}
}
