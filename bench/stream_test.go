package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// streamBench is a lambada with the echo function, read through the Go
// SDK's InvokeWithResponseStream event reader.
func streamBench(b *testing.B) *lambda.Client {
	c, _ := streamServer(b)
	return c
}

func streamServer(b *testing.B) (*lambda.Client, *servertest.Server) {
	b.Helper()
	s := servertest.Start(b, servertest.Options{})
	if _, err := s.Client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String("echo"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Timeout: aws.Int32(300),
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(b, "echo")},
	}); err != nil {
		b.Fatal(err)
	}
	return s.Client, s
}

// rawStream reads one stream with aws-sdk-go-v2's eventstream decoder and
// a reused payload buffer (a careful client), returning the payload bytes.
func rawStream(b *testing.B, s *servertest.Server, sg *signer, hc *http.Client, payload []byte) int {
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/2021-11-15/functions/echo/response-streaming-invocations", bytes.NewReader(payload))
	sg.sign(b, req, payload)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d", resp.StatusCode)
	}
	br := bufio.NewReaderSize(resp.Body, 128<<10)
	dec := eventstream.NewDecoder()
	buf := make([]byte, 0, 128<<10)
	n := 0
	for {
		m, err := dec.Decode(br, buf[:0])
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		switch m.Headers.Get(":event-type").String() {
		case "PayloadChunk":
			n += len(m.Payload)
		case "InvokeComplete":
			if string(m.Payload) != "{}" {
				b.Fatalf("InvokeComplete %s", m.Payload)
			}
		}
	}
}

// stream invokes the echo function with payload and hands every
// PayloadChunk to each; it fails on anything but a clean InvokeComplete.
func stream(b *testing.B, c *lambda.Client, payload string, each func([]byte)) {
	out, err := c.InvokeWithResponseStream(context.Background(), &lambda.InvokeWithResponseStreamInput{
		FunctionName: aws.String("echo"), Payload: []byte(payload),
	})
	if err != nil {
		b.Fatal(err)
	}
	st := out.GetStream()
	defer st.Close()
	for ev := range st.Events() {
		switch v := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			each(v.Value.Payload)
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			if v.Value.ErrorCode != nil {
				b.Fatalf("InvokeComplete %s %s", aws.ToString(v.Value.ErrorCode), aws.ToString(v.Value.ErrorDetails))
			}
		}
	}
	if err := st.Err(); err != nil {
		b.Fatal(err)
	}
}

// stampLatencies turns "<unix ns>;" records into write-to-read delays.
type stampLatencies struct {
	partial string
	l       latencies
}

func (s *stampLatencies) add(now time.Time, b []byte) {
	recs := strings.Split(s.partial+string(b), ";")
	s.partial = recs[len(recs)-1]
	for _, r := range recs[:len(recs)-1] {
		ns, err := strconv.ParseInt(r, 10, 64)
		if err == nil {
			s.l = append(s.l, now.Sub(time.Unix(0, ns)))
		}
	}
}

// bareChunkLatency is the floor: a plain net/http handler on loopback
// writing the same stamped records with a flush each, read by a plain
// client.
func bareChunkLatency(b *testing.B, n int, gap time.Duration) latencies {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := w.(http.Flusher)
		for i := range n {
			if i > 0 {
				time.Sleep(gap)
			}
			fmt.Fprintf(w, "%d;", time.Now().UnixNano())
			f.Flush()
		}
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var s stampLatencies
	br := bufio.NewReader(resp.Body)
	for {
		rec, err := br.ReadBytes(';')
		if len(rec) > 0 {
			s.add(time.Now(), rec)
		}
		if err != nil {
			break
		}
	}
	return s.l
}

// BenchmarkStreamChunkLatency: how long a chunk the function writes takes
// to reach the SDK's event reader (function → Runtime API → PayloadChunk →
// client), against a bare loopback chunked response in the same run.
func BenchmarkStreamChunkLatency(b *testing.B) {
	c := streamBench(b)
	const perCall, gap = 200, 2 * time.Millisecond
	payload := fmt.Sprintf(`{"op":"stamps","n":%d,"ms":%d}`, perCall, gap/time.Millisecond)
	stream(b, c, `{"op":"stamps","n":2}`, func([]byte) {}) // cold start outside the clock
	var all stampLatencies
	b.ResetTimer()
	for range b.N {
		stream(b, c, payload, func(p []byte) { all.add(time.Now(), p) })
	}
	b.StopTimer()
	base := bareChunkLatency(b, perCall*b.N, gap)
	report(b, "chunk", all.l, base)
}

// BenchmarkStreamThroughput streams 100 MiB from the function to the SDK
// and reports MB/s against a bare loopback chunked copy of the same bytes
// (32 KiB writes with a flush each, as aws-lambda-go posts them) and
// against the function's own floor (its aws-lambda-go bootstrap posting
// the bytes to a stand-in Runtime API), plus the process's live heap while
// streaming (server and client are both in this process).
func BenchmarkStreamThroughput(b *testing.B) {
	const size = 100 << 20
	c, s := streamServer(b)
	sg, hc := newSigner(s.Creds), keepAliveClient()
	stream(b, c, `{"op":"bytes","n":10}`, func([]byte) {})
	mbps := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }

	runtime.GC()
	base := servertest.LiveHeap()
	stop := servertest.PeakLiveHeap()
	var lambada []time.Duration
	b.ResetTimer()
	for range b.N {
		got := 0
		t0 := time.Now()
		stream(b, c, fmt.Sprintf(`{"op":"bytes","n":%d}`, size), func(p []byte) { got += len(p) })
		lambada = append(lambada, time.Since(t0))
		if got != size {
			b.Fatalf("streamed %d bytes, want %d", got, size)
		}
	}
	b.StopTimer()
	peak := stop()
	var raw []time.Duration
	body := fmt.Appendf(nil, `{"op":"bytes","n":%d}`, size)
	for range b.N {
		t0 := time.Now()
		if got := rawStream(b, s, sg, hc, body); got != size {
			b.Fatalf("raw stream %d bytes", got)
		}
		raw = append(raw, time.Since(t0))
	}

	bare := bareChunkedCopy(b, size)
	// The function's own floor: the same aws-lambda-go bootstrap posting
	// the 100 MiB to a stand-in Runtime API that discards it.
	floor := runtimeLoop(b, bootstrapBinary(b), b.N, body)
	med := func(d []time.Duration) time.Duration { return latencies(d).pct(0.5) }
	b.ReportMetric(mbps(med(floor)), "function-floor-MB/s")
	b.ReportMetric(mbps(med(raw))/mbps(med(floor)), "decoder-x-floor")
	b.ReportMetric(mbps(med(lambada)), "lambada-MB/s")
	b.ReportMetric(mbps(med(bare)), "bare-MB/s")
	b.ReportMetric(mbps(med(raw)), "lambada-decoder-MB/s")
	b.ReportMetric(mbps(med(lambada))/mbps(med(bare)), "sdk-x-bare")
	b.ReportMetric(mbps(med(raw))/mbps(med(bare)), "decoder-x-bare")
	b.ReportMetric(float64(int64(peak)-int64(base))/(1<<20), "live-heap-growth-MiB")
}

// bareChunkedCopy is the throughput floor of the streaming benchmarks: b.N
// reads of size bytes from a plain loopback handler writing 32 KiB chunks,
// flushed one by one.
func bareChunkedCopy(b *testing.B, size int) latencies {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := w.(http.Flusher)
		buf := make([]byte, 32<<10)
		for left := size; left > 0; left -= len(buf) {
			_, _ = w.Write(buf[:min(left, len(buf))])
			f.Flush()
		}
	}))
	defer srv.Close()
	var bare latencies
	for range b.N {
		t0 := time.Now()
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		bare = append(bare, time.Since(t0))
		if n != int64(size) {
			b.Fatalf("bare copy %d bytes", n)
		}
	}
	return bare
}
