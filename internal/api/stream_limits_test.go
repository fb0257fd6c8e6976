package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// digitCounter checks a stream of the echo function's "bytes" op: the
// digits 0-9 over and over, in order, and counts them.
type digitCounter struct {
	n   int64
	bad bool
}

func (d *digitCounter) add(b []byte) {
	for i, c := range b {
		if c != '0'+byte((d.n+int64(i))%10) {
			d.bad = true
		}
	}
	d.n += int64(len(b))
}

// drain reads a stream to its end without keeping its chunks, calling
// each for every PayloadChunk.
func drain(t *testing.T, c *lambda.Client, in *lambda.InvokeWithResponseStreamInput, each func([]byte)) *types.InvokeWithResponseStreamCompleteEvent {
	t.Helper()
	out, err := c.InvokeWithResponseStream(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	st := out.GetStream()
	defer st.Close()
	var ic *types.InvokeWithResponseStreamCompleteEvent
	for ev := range st.Events() {
		switch v := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			if ic != nil {
				t.Fatal("PayloadChunk after InvokeComplete")
			}
			each(v.Value.Payload)
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			ic = &v.Value
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("stream error: %v", err)
	}
	if ic == nil {
		t.Fatal("no InvokeComplete")
	}
	return ic
}

func pidOf(t *testing.T, c *lambda.Client, name string) int {
	t.Helper()
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"op":"pid"}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("pid: %v %s", err, out.Payload)
	}
	var v struct{ Pid int }
	_ = json.Unmarshal(out.Payload, &v)
	return v.Pid
}

func TestStreamLimits(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	createEcho(t, c, "big")
	if _, err := c.UpdateFunctionConfiguration(context.Background(), &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("big"), Timeout: aws.Int32(120),
	}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, c, "big")

	t.Run("50 MB with flat memory", func(t *testing.T) {
		const size = 50 << 20
		// Warm up: the cold start's code download and unpacking are not
		// the stream's memory.
		pidOf(t, c, "big")
		runtime.GC()
		base := servertest.LiveHeap()
		stop := servertest.PeakLiveHeap()
		var d digitCounter
		chunks := 0
		ic := drain(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: aws.String("big"), Payload: fmt.Appendf(nil, `{"op":"bytes","n":%d}`, size),
		}, func(b []byte) {
			chunks++
			if len(b) > 64<<10 {
				t.Errorf("PayloadChunk of %d bytes, want ≤ 64 KiB", len(b))
			}
			d.add(b)
		})
		peak := stop()
		if d.n != size || d.bad || ic.ErrorCode != nil {
			t.Fatalf("got %d bytes (pattern broken: %v), InvokeComplete %v", d.n, d.bad, aws.ToString(ic.ErrorCode))
		}
		grew := int64(peak) - int64(base)
		t.Logf("50 MiB in %d chunks; live heap %d MiB before, peak %d MiB (+%.1f MiB)", chunks, base>>20, peak>>20, float64(grew)/(1<<20))
		if grew > 8<<20 {
			t.Fatalf("live heap grew by %d MiB while streaming 50 MiB: the response is being buffered", grew>>20)
		}
	})

	t.Run("200 MiB cap", func(t *testing.T) {
		if testing.Short() {
			t.Skip("streams 200 MiB")
		}
		before := pidOf(t, c, "big")
		var d digitCounter
		ic := drain(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: aws.String("big"), Payload: fmt.Appendf(nil, `{"op":"bytes","n":%d}`, 200<<20+1<<20),
		}, d.add)
		if d.n != 200<<20 || d.bad {
			t.Fatalf("forwarded %d bytes (pattern broken: %v), want exactly 200 MiB", d.n, d.bad)
		}
		if aws.ToString(ic.ErrorCode) != "Function.ResponseSizeTooLarge" {
			t.Fatalf("ErrorCode %q", aws.ToString(ic.ErrorCode))
		}
		var doc struct{ ErrorMessage, ErrorType string }
		if err := json.Unmarshal([]byte(aws.ToString(ic.ErrorDetails)), &doc); err != nil ||
			doc.ErrorType != "Function.ResponseSizeTooLarge" || !strings.Contains(doc.ErrorMessage, "(209715200 bytes)") {
			t.Fatalf("ErrorDetails %q", aws.ToString(ic.ErrorDetails))
		}
		if after := pidOf(t, c, "big"); after == before {
			t.Fatalf("environment kept (pid %d) after the size cap: want it replaced", after)
		}
	})

	t.Run("crash mid-stream", func(t *testing.T) {
		before := pidOf(t, c, "big")
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: aws.String("big"), Payload: []byte(`{"op":"streamexit"}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(r.Chunks, ""); got != "before-exit;" || r.Out.StatusCode != 200 {
			t.Fatalf("status %d chunks %q", r.Out.StatusCode, got)
		}
		var doc struct{ ErrorMessage, ErrorType string }
		_ = json.Unmarshal([]byte(aws.ToString(r.Complete.ErrorDetails)), &doc)
		if aws.ToString(r.Complete.ErrorCode) != "Runtime.ExitError" || doc.ErrorType != "Runtime.ExitError" ||
			!strings.Contains(doc.ErrorMessage, "Runtime exited with error: exit status 3") {
			t.Fatalf("InvokeComplete %s %s", aws.ToString(r.Complete.ErrorCode), aws.ToString(r.Complete.ErrorDetails))
		}
		if after := pidOf(t, c, "big"); after == before {
			t.Fatal("environment kept after a crash")
		}
	})

	t.Run("truncated body", func(t *testing.T) {
		before := pidOf(t, c, "big")
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: aws.String("big"), Payload: []byte(`{"op":"truncate","ms":5000}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(r.Chunks, ""); got != "partial;" {
			t.Fatalf("chunks %q", got)
		}
		if aws.ToString(r.Complete.ErrorCode) != "Runtime.TruncatedResponse" {
			t.Fatalf("ErrorCode %q %s", aws.ToString(r.Complete.ErrorCode), aws.ToString(r.Complete.ErrorDetails))
		}
		if after := pidOf(t, c, "big"); after == before {
			t.Fatal("environment kept after a truncated stream: want it replaced")
		}
	})
}

func TestStreamRate(t *testing.T) {
	const rate = 4_000_000
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.StreamRate = rate }})
	c := s.Client
	// 10 MB through the race detector on a busy machine can take longer
	// than the default 3 s timeout.
	if _, err := c.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String("paced"), Role: aws.String(role), Timeout: aws.Int32(60),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	// The first 6 MiB are free; the next 4 MB take a second at 4 MB/s.
	start := time.Now()
	var d digitCounter
	ic := drain(t, c, &lambda.InvokeWithResponseStreamInput{
		FunctionName: aws.String("paced"), Payload: fmt.Appendf(nil, `{"op":"bytes","n":%d}`, 6<<20+rate),
	}, d.add)
	took := time.Since(start)
	if d.n != 6<<20+rate || d.bad || ic.ErrorCode != nil {
		t.Fatalf("got %d bytes, ErrorCode %v", d.n, aws.ToString(ic.ErrorCode))
	}
	if took < 900*time.Millisecond {
		t.Fatalf("10 MB streamed in %v: the 4 MB/s cap after 6 MiB was not applied", took)
	}
	t.Logf("6 MiB + 4 MB at 4 MB/s in %v", took)
}

func TestStreamClientGoesAway(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	createEcho(t, c, "leaver")
	pid := pidOf(t, c, "leaver")
	// Let the warm-up call's connections settle before counting.
	time.Sleep(200 * time.Millisecond)
	baseline := runtime.NumGoroutine()

	const rounds = 5
	for i := range rounds {
		ctx, cancel := context.WithCancel(context.Background())
		// A client per stream: smithy-go's event decoder state is shared
		// by a client's streams, and the abandoned stream's reader may
		// still be running (a data race inside the SDK otherwise).
		sc := servertest.NewClient(s.URL(), s.Creds)
		out, err := sc.InvokeWithResponseStream(ctx, &lambda.InvokeWithResponseStreamInput{
			FunctionName: aws.String("leaver"), Payload: []byte(`{"op":"stream","n":6,"ms":100}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		st := out.GetStream()
		ev := <-st.Events()
		if chunk, ok := ev.(*types.InvokeWithResponseStreamResponseEventMemberPayloadChunk); !ok || string(chunk.Value.Payload) != "chunk-0;" {
			t.Fatalf("round %d: first event %T %v", i, ev, ev)
		}
		cancel()
		st.Close()
		for range st.Events() {
			// Wait for the SDK's reader goroutine to end.
		}
		// The function finishes its response (drained by the server) and
		// its environment serves the next call warm once it is done: the
		// environment goes back before the concurrency slot, so no slot
		// held means the warm one is idle.
		if err := waitfor.Until(30*time.Second, func() error {
			if n := s.ConcurrentExecutions(t, "leaver"); n != 0 {
				return fmt.Errorf("%d invocations of leaver still running", n)
			}
			return nil
		}); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if got := pidOf(t, c, "leaver"); got != pid {
			t.Fatalf("round %d: pid %d after the caller left, want the warm %d", i, got, pid)
		}
	}
	// Every stream's goroutines are gone (a leak would grow with rounds).
	if err := waitfor.Until(5*time.Second, func() error {
		if n := runtime.NumGoroutine(); n > baseline+2 {
			return fmt.Errorf("%d goroutines after %d abandoned streams, %d before", n, rounds, baseline)
		}
		return nil
	}); err != nil {
		buf := make([]byte, 1<<20)
		t.Fatalf("%v:\n%s", err, buf[:runtime.Stack(buf, true)])
	}
}

func TestStreamRequestRules(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	createEcho(t, c, "rules")

	t.Run("ClientContext reaches the function", func(t *testing.T) {
		cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"},"env":{"e":"1"},"client":{"installation_id":"i"}}`))
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: aws.String("rules"), ClientContext: aws.String(cc), Payload: []byte(`{"op":"context"}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			ClientContext struct {
				Custom map[string]string
				Env    map[string]string
			}
		}
		if err := json.Unmarshal([]byte(strings.Join(r.Chunks, "")), &got); err != nil || got.ClientContext.Custom["k"] != "v" || got.ClientContext.Env["e"] != "1" {
			t.Fatalf("function saw %q (%v)", strings.Join(r.Chunks, ""), err)
		}
	})

	t.Run("bad ClientContext", func(t *testing.T) {
		_, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: aws.String("rules"), ClientContext: aws.String("not base64!"), Payload: []byte(`{}`),
		})
		if code, _, status := servertest.APIError(err); code != "InvalidRequestContentException" || status != 400 {
			t.Fatalf("got %s %d (%v)", code, status, err)
		}
	})

	t.Run("payload over 6 MB", func(t *testing.T) {
		big := append(append([]byte(`{"x":"`), strings.Repeat("a", 6<<20)...), `"}`...)
		_, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("rules"), Payload: big})
		if code, _, status := servertest.APIError(err); code != "RequestEntityTooLargeException" || status != 413 {
			t.Fatalf("got %s %d (%v)", code, status, err)
		}
	})

	t.Run("throttled", func(t *testing.T) {
		createEcho(t, c, "none")
		if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
			FunctionName: aws.String("none"), ReservedConcurrentExecutions: aws.Int32(0),
		}); err != nil {
			t.Fatal(err)
		}
		nr := servertest.NoRetry(c)
		_, err := readStream(t, nr, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("none"), Payload: []byte(`{}`)})
		code, msg, status := servertest.APIError(err)
		if code != "TooManyRequestsException" || status != 429 || msg != "Rate Exceeded." {
			t.Fatalf("got %s %d %q (%v)", code, status, msg, err)
		}
	})

	t.Run("alias with weights", func(t *testing.T) {
		for range 2 {
			if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("rules")}); err != nil {
				t.Fatal(err)
			}
			// A config change makes the next publish a new version.
			if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
				FunctionName: aws.String("rules"), Environment: &types.Environment{Variables: map[string]string{"NONCE": time.Now().String()}},
			}); err != nil {
				t.Fatal(err)
			}
			waitActive(t, c, "rules")
		}
		if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{
			FunctionName: aws.String("rules"), Name: aws.String("live"), FunctionVersion: aws.String("1"),
			RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.5}},
		}); err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for range 40 {
			r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{
				FunctionName: aws.String("rules"), Qualifier: aws.String("live"), Payload: []byte(`{"op":"context"}`),
			})
			if err != nil {
				t.Fatal(err)
			}
			var got struct{ Version, InvokedArn string }
			_ = json.Unmarshal([]byte(strings.Join(r.Chunks, "")), &got)
			ev := aws.ToString(r.Out.ExecutedVersion)
			if got.Version != ev || !strings.HasSuffix(got.InvokedArn, ":rules:live") {
				t.Fatalf("ExecutedVersion %s but the function ran %s as %s", ev, got.Version, got.InvokedArn)
			}
			seen[ev]++
		}
		if seen["1"] == 0 || seen["2"] == 0 || seen["1"]+seen["2"] != 40 {
			t.Fatalf("versions run: %v", seen)
		}
	})

	t.Run("init error on a cold start", func(t *testing.T) {
		if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String("initfail"), Role: aws.String(role),
			Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Code:        &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
			Environment: &types.Environment{Variables: map[string]string{"ECHO_INIT": "error"}},
		}); err != nil {
			t.Fatal(err)
		}
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("initfail"), Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Out.StatusCode != 200 || len(r.Chunks) != 0 || aws.ToString(r.Complete.ErrorCode) != "Runtime.Custom" ||
			aws.ToString(r.Complete.ErrorDetails) != `{"errorMessage":"init broke","errorType":"Runtime.Custom"}` {
			t.Fatalf("status %d chunks %q InvokeComplete %s %s", r.Out.StatusCode, r.Chunks,
				aws.ToString(r.Complete.ErrorCode), aws.ToString(r.Complete.ErrorDetails))
		}
	})
}

func TestStreamingFunctionThroughInvoke(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	createEcho(t, c, "buffered")
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String("buffered"), Payload: []byte(`{"op":"stream","n":3,"ms":100}`),
	})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("%v %v", err, out)
	}
	if string(out.Payload) != "chunk-0;chunk-1;chunk-2;" {
		t.Fatalf("payload %q", out.Payload)
	}
	// A mid-stream failure through Invoke is a function error with the
	// trailer's document; the partial bytes are dropped.
	out, err = c.Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String("buffered"), Payload: []byte(`{"op":"stream","n":1,"fail":true}`),
	})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" ||
		string(out.Payload) != `{"errorMessage":"mid-stream failure","errorType":"errorString"}` {
		t.Fatalf("%v %v %s", err, aws.ToString(out.FunctionError), out.Payload)
	}
}

// waitActive waits until the function's last update is done.
func waitActive(t *testing.T, c *lambda.Client, name string) {
	t.Helper()
	if err := lambda.NewFunctionUpdatedV2Waiter(c).Wait(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 10*time.Second); err != nil {
		t.Fatalf("FunctionUpdatedV2 waiter: %v", err)
	}
}
