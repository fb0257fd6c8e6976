package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// urlBench is a lambada with the urlfn function behind a public function
// URL of the given mode, and a plain HTTP client that reaches the URL's
// host name on the server (as a resolver mapping *.localhost does).
type urlBench struct {
	s   *servertest.Server
	url string
	hc  *http.Client
}

func newURLBench(b *testing.B, mode types.InvokeMode) *urlBench {
	b.Helper()
	s := servertest.Start(b, servertest.Options{})
	ctx := context.Background()
	if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("urlfn"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Timeout: aws.Int32(300),
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(b, "urlfn")},
	}); err != nil {
		b.Fatal(err)
	}
	out, err := s.Client.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{
		FunctionName: aws.String("urlfn"), AuthType: types.FunctionUrlAuthTypeNone, InvokeMode: mode,
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range []*lambda.AddPermissionInput{
		{StatementId: aws.String("url"), Action: aws.String("lambda:InvokeFunctionUrl"), Principal: aws.String("*"), FunctionUrlAuthType: types.FunctionUrlAuthTypeNone},
		{StatementId: aws.String("invoke"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*"), InvokedViaFunctionUrl: aws.Bool(true)},
	} {
		in.FunctionName = aws.String("urlfn")
		if _, err := s.Client.AddPermission(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	d := &net.Dialer{}
	hc := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		MaxIdleConnsPerHost: 8, DisableCompression: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, s.Addr())
		},
	}}
	return &urlBench{s: s, url: aws.ToString(out.FunctionUrl), hc: hc}
}

// BenchmarkURLRoundTrip: a BUFFERED function URL request (plain HTTP, no
// SigV4, the urlfn function echoing its event as the inferred JSON answer)
// against a signed Invoke of the same function with that same event as
// its payload, alternated in the same run.
func BenchmarkURLRoundTrip(b *testing.B) {
	ub := newURLBench(b, types.InvokeModeBuffered)
	body := []byte(`{"op":"echo","id":"0123456789abcdef","items":[1,2,3,4,5]}`)
	urlReq := func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, ub.url+"bench?x=1", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return req
	}
	_, event, err := do(ub.hc, urlReq())
	if err != nil {
		b.Fatal(err)
	}
	sg, ic := newSigner(ub.s.Creds), keepAliveClient()
	invokeURL := ub.s.URL() + "/2015-03-31/functions/urlfn/invocations"
	invokeReq := func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, invokeURL, bytes.NewReader(event))
		sg.sign(b, req, event)
		return req
	}
	for range 200 { // warm both paths
		if _, _, err := do(ub.hc, urlReq()); err != nil {
			b.Fatal(err)
		}
		if _, _, err := do(ic, invokeReq()); err != nil {
			b.Fatal(err)
		}
	}
	const perOp = 200
	var viaURL, viaInvoke latencies
	b.ResetTimer()
	for range b.N {
		for range perOp {
			d, _, err := do(ub.hc, urlReq())
			if err != nil {
				b.Fatal(err)
			}
			viaURL = append(viaURL, d)
			req := invokeReq() // signing is client work, outside the clock
			d, _, err = do(ic, req)
			if err != nil {
				b.Fatal(err)
			}
			viaInvoke = append(viaInvoke, d)
		}
	}
	b.StopTimer()
	report(b, "url", viaURL, nil)
	report(b, "invoke", viaInvoke, nil)
	b.ReportMetric(float64(viaURL.pct(0.5))/float64(viaInvoke.pct(0.5)), "url-p50-x-invoke")
	b.ReportMetric(float64(viaURL.pct(0.99))/float64(viaInvoke.pct(0.99)), "url-p99-x-invoke")
}

// BenchmarkURLStreamChunkLatency: how long a chunk the function writes
// takes to reach a plain HTTP client reading a RESPONSE_STREAM URL
// (aws-lambda-go's chunked POST → Runtime API → HTTP chunk, flushed),
// against a bare loopback chunked response in the same run.
func BenchmarkURLStreamChunkLatency(b *testing.B) {
	ub := newURLBench(b, types.InvokeModeResponseStream)
	const perCall, gap = 200, 2 * time.Millisecond
	read := func(n int, each func(time.Time, []byte)) {
		resp, err := ub.hc.Get(fmt.Sprintf("%sstamps?n=%d&ms=%d", ub.url, n, gap/time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		br := bufio.NewReader(resp.Body)
		for {
			rec, err := br.ReadBytes(';')
			if len(rec) > 0 {
				each(time.Now(), rec)
			}
			if err != nil {
				return
			}
		}
	}
	read(2, func(time.Time, []byte) {}) // cold start outside the clock
	var all stampLatencies
	b.ResetTimer()
	for range b.N {
		read(perCall, all.add)
	}
	b.StopTimer()
	base := bareChunkLatency(b, perCall*b.N, gap)
	report(b, "chunk", all.l, base)
}

// BenchmarkURLStreamThroughput streams 100 MiB from the function through a
// RESPONSE_STREAM URL to a plain HTTP client, against a bare loopback
// chunked copy of the same bytes (32 KiB writes, a flush each).
func BenchmarkURLStreamThroughput(b *testing.B) {
	const size = 100 << 20
	ub := newURLBench(b, types.InvokeModeResponseStream)
	get := func(n int) int64 {
		resp, err := ub.hc.Get(fmt.Sprintf("%sbytes?n=%d", ub.url, n))
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.Copy(io.Discard, resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d, %v", resp.StatusCode, err)
		}
		return got
	}
	get(10)
	mbps := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
	var viaURL latencies
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if got := get(size); got != size {
			b.Fatalf("streamed %d bytes, want %d", got, size)
		}
		viaURL = append(viaURL, time.Since(t0))
	}
	b.StopTimer()
	bare := bareChunkedCopy(b, size)
	b.ReportMetric(mbps(viaURL.pct(0.5)), "url-MB/s")
	b.ReportMetric(mbps(bare.pct(0.5)), "bare-MB/s")
	b.ReportMetric(mbps(viaURL.pct(0.5))/mbps(bare.pct(0.5)), "url-x-bare")
}
