package bench

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// floodLines and floodSize make one 10 MB flood of 100-byte lines.
const floodLines, floodSize = 100_000, 100

// BenchmarkLogPipe: a warm echo function writes 100,000 lines of 100 B,
// one write(2) each, through the environment's log pipe (read, split into
// lines, the newest 4 KB kept, every line handed to the log sink), against
// the same function writing the same lines to /dev/null, in the same run.
// Each iteration runs both once; MB/s is of the invocation's wall time.
//
// The server runs without the log store (--log-retention 0): this is the
// pipe alone. With the store a flooding function is paced to what the store
// ingests (BenchmarkLogIngestion).
func BenchmarkLogPipe(b *testing.B) {
	ib := newInvokeBenchWith(b, servertest.Options{Config: func(c *server.Config) { c.LogRetention = -1 }})
	if _, err := ib.s.Client.UpdateFunctionConfiguration(context.Background(), &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("echo"), Timeout: aws.Int32(120),
	}); err != nil {
		b.Fatal(err)
	}
	pipe := []byte(fmt.Sprintf(`{"op":"flood","n":%d,"size":%d}`, floodLines, floodSize))
	null := []byte(fmt.Sprintf(`{"op":"flood","n":%d,"size":%d,"to":"devnull"}`, floodLines, floodSize))
	ib.invoke(b, null, nil) // warm
	var tp, tn time.Duration
	b.ResetTimer()
	for range b.N {
		tn += ib.invoke(b, null, nil)
		tp += ib.invoke(b, pipe, nil)
	}
	b.StopTimer()
	mb := float64(floodLines*floodSize) / 1e6 * float64(b.N)
	b.ReportMetric(mb/tp.Seconds(), "pipe-MB/s")
	b.ReportMetric(mb/tn.Seconds(), "devnull-MB/s")
	b.ReportMetric(tn.Seconds()/tp.Seconds(), "pipe-x-devnull")
}

// logPayload makes the echo function write one line (and aws-lambda-go's
// log line) per invoke, besides START, END and REPORT.
var logPayload = []byte(`{"op":"log","lines":["a line of the benchmark's function, about eighty bytes long, written once"]}`)

// BenchmarkLogsInvokeWarm: a warm synchronous Invoke of a function that
// writes two lines, with its log stored (the log store and the console,
// printed to io.Discard) against a server without either (--function-logs
// off, --log-retention 0), in the same run, invokes alternating between the
// two. Logging is off the invocation's path when the ratio is ~1.
func BenchmarkLogsInvokeWarm(b *testing.B) {
	on := newInvokeBenchWith(b, servertest.Options{Config: func(c *server.Config) {
		c.FunctionLogs, c.FunctionLogsOutput = server.FunctionLogsStdout, io.Discard
	}})
	off := newInvokeBenchWith(b, servertest.Options{Config: func(c *server.Config) { c.LogRetention = -1 }})
	for range 200 {
		on.invoke(b, logPayload, nil)
		off.invoke(b, logPayload, nil)
	}
	b.ResetTimer()
	lon, loff := make(latencies, 0, b.N), make(latencies, 0, b.N)
	for range b.N {
		lon = append(lon, on.invoke(b, logPayload, nil))
		loff = append(loff, off.invoke(b, logPayload, nil))
	}
	b.StopTimer()
	report(b, "off", loff, nil)
	report(b, "on", lon, nil)
	b.ReportMetric(float64(lon.pct(0.50))/float64(loff.pct(0.50)), "on-p50-x-off")
	b.ReportMetric(float64(lon.pct(0.99))/float64(loff.pct(0.99)), "on-p99-x-off")
}

// BenchmarkLogIngestion: the echo function writes 100,000 lines of 100 B
// per iteration; the clock runs from the invoke until the last line is in
// the log store (found by FilterLogEvents). lines/s is what one function
// can write while every line is stored. Then FilterLogEvents over the
// whole group (b.N × 100,000 lines; -benchtime 10x stores 1M): p50 of a
// pattern that matches one line per flood (a scan of every event) and of
// the first page without a pattern (1 MB: ~8,300 events of 100 B).
func BenchmarkLogIngestion(b *testing.B) {
	ib := newInvokeBench(b)
	if _, err := ib.s.Client.UpdateFunctionConfiguration(context.Background(), &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("echo"), Timeout: aws.Int32(120),
	}); err != nil {
		b.Fatal(err)
	}
	lc := ib.s.LogsClient()
	flood := []byte(fmt.Sprintf(`{"op":"flood","n":%d,"size":%d}`, floodLines, floodSize))
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		ib.invoke(b, flood, nil)
		b.StopTimer()
		// Each flood ends with the same line number; its REPORT follows
		// it, so the i-th REPORT marks the i-th flood stored.
		waitN(b, lc, "/aws/lambda/echo", `"REPORT RequestId"`, i+1)
		total += time.Since(t0)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(floodLines*b.N)/total.Seconds(), "lines/s")

	scan, page := make(latencies, 0, 10), make(latencies, 0, 10)
	for range 10 {
		t0 := time.Now()
		out, err := lc.FilterLogEvents(context.Background(), &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), FilterPattern: aws.String(`"00054321ffff"`)})
		scan = append(scan, time.Since(t0))
		if err != nil || len(out.Events) != b.N {
			b.Fatalf("scan: %v, %d events", err, len(out.Events))
		}
		t0 = time.Now()
		out, err = lc.FilterLogEvents(context.Background(), &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo")})
		page = append(page, time.Since(t0))
		if err != nil || len(out.Events) == 0 || out.NextToken == nil {
			b.Fatalf("page: %v, %d events", err, len(out.Events))
		}
	}
	b.ReportMetric(float64(floodLines*b.N), "stored-lines")
	report(b, "filter-scan", scan, nil)
	report(b, "filter-page", page, nil)
}

// waitN polls until the group holds at least n events matching pattern.
func waitN(b *testing.B, c *cwl.Client, group, pattern string, n int) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		got := 0
		in := &cwl.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(pattern)}
		var err error
		for {
			var out *cwl.FilterLogEventsOutput
			if out, err = c.FilterLogEvents(context.Background(), in); err != nil {
				break
			}
			got += len(out.Events)
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
		if err == nil && got >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d %s events in %s (%v)", got, n, pattern, group, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
