package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/chromedp/chromedp"

	"github.com/lambada-dev/lambada/internal/console/consoletest"
	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

const liveRole = "arn:aws:iam::000000000000:role/r"

// poll waits until the JavaScript expression is true in the page.
func poll(t *testing.T, c *consoletest.Console, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(c.Tab, consoletest.StepTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(consoletest.StepTimeout-time.Second))); err != nil {
		c.Screenshot("failure")
		t.Fatalf("waiting for %s: %v", expr, err)
	}
}

func createEcho(t *testing.T, s *servertest.Server, name string, mod func(*lambda.CreateFunctionInput)) {
	t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(liveRole), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}
	if mod != nil {
		mod(in)
	}
	if _, err := s.Client.CreateFunction(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// invokeEcho runs the echo function synchronously with ev and returns
// the request id.
func invokeEcho(t *testing.T, s *servertest.Server, name string, ev map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(ev)
	out, err := s.Client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: b})
	if err != nil {
		t.Error(err)
		return ""
	}
	id, _ := middleware.GetRequestIDMetadata(out.ResultMetadata)
	return id
}

// TestBrowserLogs: a line a function prints appears in the live tail
// (inert, though it holds markup); the jump to its request id shows the
// request's lines; a burst of 1,000 lines per second for 3 seconds all
// arrives while a page timer keeps firing and the view keeps its row cap
// (the figures are logged, docs/console.md §5).
func TestBrowserLogs(t *testing.T) {
	c := consoletest.Start(t, servertest.Options{})
	s := c.Server
	createEcho(t, s, "talker", nil)
	c.SignIn()
	c.Open("/console/logs?function=talker", "#logview")
	c.WaitText("#log-status", "Live")

	id := invokeEcho(t, s, "talker", map[string]any{"op": "log", "lines": []string{"hello from the tail <script>window.pwned=1</script><b>bold</b>"}})
	c.WaitText("#logview", "hello from the tail")
	if got := consoletest.Eval[bool](c, `window.pwned === undefined && document.querySelector("#logview b") === null`); !got {
		t.Fatal("a log line's markup was rendered")
	}
	c.Screenshot("logs-live")

	// Jump to the request: its START … REPORT lines.
	c.Run(chromedp.SetValue(chromedp.ID("log-request"), id), chromedp.Click(chromedp.CSS("#request-form button")))
	c.WaitText("#request-status", "lines in log stream")
	got := c.Text("#request-view")
	for _, want := range []string{"START RequestId: " + id, "hello from the tail", "REPORT RequestId: " + id} {
		if !strings.Contains(got, want) {
			t.Errorf("request view lacks %q:\n%s", want, got)
		}
	}
	c.Screenshot("logs-request")

	// The burst: 200 lines 5 times a second for 3 seconds (sync invokes
	// started on a ticker, so a slow one does not slow the rate).
	const perInvoke, ticks = 200, 15
	consoletest.Eval[bool](c, `(() => {
		window.burst = { ticks: [], start: performance.now(), received: lambadaLogs.received };
		window.burst.timer = setInterval(() => window.burst.ticks.push(performance.now()), 50);
		return true })()`)
	start := time.Now()
	var wg sync.WaitGroup
	ids := make([]string, ticks)
	tk := time.NewTicker(200 * time.Millisecond)
	for i := range ticks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = invokeEcho(t, s, "talker", map[string]any{"op": "flood", "n": perInvoke, "size": 100})
		}()
		if i < ticks-1 {
			<-tk.C
		}
	}
	tk.Stop()
	wg.Wait()
	sent := time.Since(start)
	consoletest.Eval[bool](c, `(window.burst.end = performance.now(), true)`)
	// Every flood line and each invocation's START, END and REPORT.
	want := ticks * (perInvoke + 3)
	poll(t, c, fmt.Sprintf(`lambadaLogs.received - window.burst.received >= %d && lambadaLogs.rendered >= lambadaLogs.received - lambadaLogs.skipped`, want))
	var m struct {
		Received, Rows, Frames, Events int
		RenderLag, MaxGap, Ticks       float64
	}
	m = consoletest.Eval[struct {
		Received, Rows, Frames, Events int
		RenderLag, MaxGap, Ticks       float64
	}](c, `(() => {
		const b = window.burst; clearInterval(b.timer);
		let gap = 0; for (let i = 1; i < b.ticks.length; i++) gap = Math.max(gap, b.ticks[i] - b.ticks[i-1]);
		return { Received: lambadaLogs.received - b.received, Rows: document.getElementById("logview").childElementCount,
			Frames: lambadaLogs.frames, Events: lambadaLogs.events,
			RenderLag: lambadaLogs.lastRender - b.end, MaxGap: gap, Ticks: b.ticks.length } })()`)
	_ = m
	t.Logf("burst: %d lines in %v (%.0f lines/s) → %d received in %d SSE events, %d frames; view %d rows; last line drawn %.0f ms after the last invocation returned; a 50 ms timer fired %.0f times, longest gap %.0f ms",
		want, sent.Round(time.Millisecond), float64(want)/sent.Seconds(), m.Received, m.Events, m.Frames, m.Rows, m.RenderLag, m.Ticks, m.MaxGap)
	if m.Received < want {
		t.Errorf("received %d lines, want %d", m.Received, want)
	}
	if m.Rows > 2000 || m.Rows < 1000 {
		t.Errorf("the view holds %d rows, want the newest 2,000", m.Rows)
	}
	if m.Ticks == 0 {
		t.Error("the page's timer never fired during the burst")
	}
	if last := ids[ticks-1]; last != "" {
		// The tail ends with the last invocation's REPORT line.
		c.WaitText("#logview", "REPORT RequestId: ")
	}
	c.Screenshot("logs-after-burst")
}

// TestBrowserAsyncRedrive: an event that fails shows its record (full
// invocation record) and its dead-letter message; Redrive queues it again
// and the new request runs — its REPORT line is in the function's log
// group, read through the CloudWatch Logs API.
func TestBrowserAsyncRedrive(t *testing.T) {
	c := consoletest.Start(t, servertest.Options{})
	s := c.Server
	ctx := context.Background()
	const failures = "arn:aws:sqs:us-east-1:000000000000:failures"
	const dlq = "arn:aws:sqs:us-east-1:000000000000:dead"
	createEcho(t, s, "flaky", func(in *lambda.CreateFunctionInput) {
		in.DeadLetterConfig = &types.DeadLetterConfig{TargetArn: aws.String(dlq)}
	})
	if _, err := s.Client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("flaky"), MaximumRetryAttempts: aws.Int32(0),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(failures)}},
	}); err != nil {
		t.Fatal(err)
	}
	flag := filepath.Join(t.TempDir(), "flag")
	payload, _ := json.Marshal(map[string]any{"op": "read", "msg": flag})
	out, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("flaky"), InvocationType: types.InvocationTypeEvent, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := middleware.GetRequestIDMetadata(out.ResultMetadata)

	c.SignIn()
	c.Open("/console/async", "#destinations")
	if got := c.Text("#destinations"); !strings.Contains(got, failures) || !strings.Contains(got, "flaky ($LATEST) on failure") || !strings.Contains(got, "dead-letter") {
		t.Fatalf("destinations table: %s", got)
	}
	c.Screenshot("async")
	// The record arrives once the attempt failed.
	waitfor.True(t, 30*time.Second, "the failure record", func() bool {
		c.Open("/console/async?destination="+url.QueryEscape(failures), "#records")
		return strings.Contains(c.Text("#records"), id)
	})
	rec := c.Text("#records .record-body")
	for _, want := range []string{`"condition": "RetriesExhausted"`, `"requestId": "` + id + `"`, `"requestPayload"`, flag, `"functionError": "Unhandled"`} {
		if !strings.Contains(rec, want) {
			t.Errorf("the record lacks %s:\n%s", want, rec)
		}
	}
	c.Screenshot("async-record")

	// Fixed: the file exists now. Redrive the failed event.
	if err := os.WriteFile(flag, []byte("fixed"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The click navigates (a form POST, then the redirect): it is made
	// after the evaluation returns.
	consoletest.Eval[bool](c, `(setTimeout(() => document.querySelector("#records form.redrive button").click(), 0), true)`)
	c.Run(chromedp.WaitVisible(chromedp.ID("redriven")))
	newID := strings.TrimPrefix(strings.TrimSpace(c.WaitText("#redriven", "request")), "Queued again as a new Event invocation: request ")
	newID = strings.TrimSuffix(newID, ".")
	if newID == "" || newID == id || strings.Contains(newID, " ") {
		t.Fatalf("redriven as %q", newID)
	}
	c.Screenshot("async-redriven")

	// The Lambda side: the new request ran and succeeded.
	logs := s.LogsClient()
	waitfor.Eventually(t, 30*time.Second, func() error {
		o, err := logs.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/flaky"), FilterPattern: aws.String(`"` + newID + `"`)})
		if err != nil {
			return err
		}
		for _, e := range o.Events {
			if strings.HasPrefix(aws.ToString(e.Message), "REPORT RequestId: "+newID) {
				return nil
			}
		}
		return fmt.Errorf("no REPORT line of %s yet (%d events)", newID, len(o.Events))
	})
	// It succeeded: no second failure record.
	c.Open("/console/async?destination="+url.QueryEscape(failures), "#records")
	if got := c.Text("#records"); strings.Contains(got, newID) {
		t.Errorf("the redriven event failed again: %s", got)
	}
	// The dead-letter message is there too, with its attributes.
	c.Open("/console/async?destination="+url.QueryEscape(dlq), "#records")
	if got := c.Text("#records"); !strings.Contains(got, "dead-letter message") || !strings.Contains(got, id) {
		t.Errorf("dead-letter records: %s", got)
	}
}

// TestBrowserMonitoringAndCluster: the charts draw the sampled series of
// a function that ran; the Cluster page lists this node and the storage.
func TestBrowserMonitoringAndCluster(t *testing.T) {
	c := consoletest.Start(t, servertest.Options{})
	s := c.Server
	createEcho(t, s, "busy", nil)
	for range 4 {
		invokeEcho(t, s, "busy", map[string]any{"op": "echo"})
	}
	invokeEcho(t, s, "busy", map[string]any{"op": "error", "msg": "no"})
	s.Series().Sample()
	invokeEcho(t, s, "busy", map[string]any{"op": "echo"})
	// An invocation is counted as its environment is given back, which
	// may be just after its caller was answered.
	waitfor.True(t, 10*time.Second, "the series to count 6 invocations", func() bool {
		s.Series().Sample()
		return s.Series().Summary("busy", time.Hour).Invocations == 6
	})

	c.SignIn()
	c.Open("/console/monitoring?function=busy", "#charts")
	if got := c.Text("#sum-invocations"); got != "6" {
		t.Errorf("invocations = %q, want 6", got)
	}
	if got := c.Text("#sum-errors"); got != "1" {
		t.Errorf("errors = %q, want 1", got)
	}
	poll(t, c, `window.lambadaCharts && lambadaCharts.samples >= 2 && document.querySelectorAll("#charts canvas").length === 5`)
	inv := consoletest.Eval[float64](c, `lambadaCharts.data.invocations.reduce((a, b) => a + (b || 0), 0)`)
	if inv != 6 {
		t.Errorf("charted invocations sum to %v, want 6", inv)
	}
	c.Screenshot("monitoring")
	c.Dark(true)
	c.Screenshot("monitoring-dark")
	c.Dark(false)

	c.Open("/console/cluster", "#nodes")
	if got := c.Text("#cluster-status"); got != "ok" {
		t.Errorf("cluster status %q", got)
	}
	if got := c.Text("#nodes"); !strings.Contains(got, "(this node)") || !strings.Contains(got, s.Addr()) {
		t.Errorf("nodes table: %s", got)
	}
	c.Screenshot("cluster")
	c.Narrow()
	c.Open("/console/logs?function=busy", "#logview")
	c.Screenshot("logs-narrow")
	c.Wide()
}

// TestLiveGuards: the live pages' API needs a session, the redrive form
// its CSRF token; a bad filter pattern is refused with the logs API's
// message; the tail's events are server-sent events.
func TestLiveGuards(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	createEcho(t, s, "g", nil)
	anon := newVisitor(t, s)
	for _, p := range []string{"/console/api/logs/tail?function=g", "/console/api/series", "/console/api/async", "/console/api/cluster", "/console/api/logs/request?function=g&id=x"} {
		if resp, _ := anon.do("GET", p, nil, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a session: %d, want 401", p, resp.StatusCode)
		}
	}
	v := newVisitor(t, s)
	if resp := v.signIn(s.Creds.AccessKeyID, s.Creds.SecretAccessKey); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	if resp, _ := v.do("POST", "/console/async/redrive", url.Values{"destination": {"arn:aws:sqs:us-east-1:000000000000:q"}, "seq": {"1"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("redrive without the CSRF token: %d, want 403", resp.StatusCode)
	}
	resp, body := v.do("POST", "/console/async/redrive", url.Values{"csrf": {v.token()}, "destination": {"arn:aws:sqs:us-east-1:000000000000:q"}, "seq": {"1"}}, nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "No record 1") {
		t.Errorf("redrive of a missing record: %d %.300s", resp.StatusCode, body)
	}
	resp, body = v.do("GET", "/console/api/logs/tail?function=g&filter="+url.QueryEscape("%regex%"), nil, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Invalid filter pattern") {
		t.Errorf("bad filter: %d %s", resp.StatusCode, body)
	}
	if resp, _ := v.do("GET", "/console/api/logs/tail?function=nope", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("tail of a missing function: %d", resp.StatusCode)
	}
	// The filter: only matching lines are sent.
	before := time.Now().Add(-time.Minute).UnixMilli()
	invokeEcho(t, s, "g", map[string]any{"op": "log", "lines": []string{"keep me", "drop me", "keep too"}})
	fctx, fcancel := context.WithTimeout(context.Background(), 20*time.Second)
	freq, _ := http.NewRequestWithContext(fctx, "GET", fmt.Sprintf("%s/console/api/logs/tail?function=g&filter=keep&since=%d", s.URL(), before), nil)
	ftail, err := v.c.Do(freq)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	sc := bufio.NewScanner(ftail.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for len(kept) < 2 && sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev struct{ Lines [][3]any }
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %s: %v", data, err)
		}
		for _, l := range ev.Lines {
			kept = append(kept, l[2].(string))
		}
	}
	fcancel()
	ftail.Body.Close()
	if strings.Join(kept, "|") != "keep me|keep too" {
		t.Errorf("filtered tail sent %q, want the two keep lines", kept)
	}

	// The tail answers an event stream at once (its first comment).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/console/api/logs/tail?function=g", nil)
	tail, err := v.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Body.Close()
	buf := make([]byte, 64)
	n, _ := tail.Body.Read(buf)
	if tail.StatusCode != 200 || tail.Header.Get("Content-Type") != "text/event-stream" || !strings.HasPrefix(string(buf[:n]), "retry: ") {
		t.Errorf("tail: %d %q %q", tail.StatusCode, tail.Header.Get("Content-Type"), buf[:n])
	}
	// Stopping the server ends the open tail instead of waiting for it
	// (Stop fails the test if the graceful stop runs out of time).
	s.Stop(t)
	if _, err := io.Copy(io.Discard, tail.Body); err != nil {
		t.Errorf("the tail ended with %v, want its end", err)
	}
}

// TestClusterPageListsNodes: two lambada nodes on one external NATS
// server; each one's Cluster page lists both, marks itself, and says the
// storage is external. The Async page's queue block answers htmx polls
// alone.
func TestClusterPageListsNodes(t *testing.T) {
	url := natstest.StartServer(t)
	cfg := func(c *server.Config) {
		c.AccessKeyID, c.SecretAccessKey = "AKIDCONSOLECLUSTER", "console-cluster-secret"
	}
	a := servertest.Start(t, servertest.Options{NATSURL: url, Config: cfg})
	b := servertest.Start(t, servertest.Options{NATSURL: url, Config: cfg})
	v := newVisitor(t, a)
	if resp := v.signIn(a.Creds.AccessKeyID, a.Creds.SecretAccessKey); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	var page string
	waitfor.True(t, 20*time.Second, "both nodes on the Cluster page", func() bool {
		_, page = v.do("GET", "/console/cluster", nil, nil)
		return strings.Contains(page, b.Addr()) && strings.Contains(page, a.Addr())
	})
	if !strings.Contains(page, "(this node)") || !strings.Contains(page, "external, available") || !strings.Contains(page, `<span class="count">2</span>`) {
		t.Errorf("cluster page:\n%s", page)
	}
	resp, body := v.do("GET", "/console/api/cluster", nil, nil)
	var cl struct {
		Status, Storage string
		Nodes           []struct{ ID, Address string }
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &cl) != nil || cl.Status != "ok" || cl.Storage != "external" || len(cl.Nodes) != 2 {
		t.Errorf("api/cluster: %d %s", resp.StatusCode, body)
	}
	resp, body = v.do("GET", "/console/async", nil, http.Header{"Hx-Request": {"true"}, "Hx-Target": {"queue"}})
	if resp.StatusCode != 200 || !strings.Contains(body, `id="queue-depth"`) || strings.Contains(body, "<html") {
		t.Errorf("async queue block: %d %.500s", resp.StatusCode, body)
	}
}
