package urls_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/waitfor"
)

func TestStreamingURL(t *testing.T) {
	f := start(t)
	f.function(t, "st", nil)
	u := f.url(t, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("st"), AuthType: types.FunctionUrlAuthTypeNone,
		InvokeMode: types.InvokeModeResponseStream, Cors: &types.Cors{AllowOrigins: []string{"*"}}})
	f.public(t, "st", "")

	t.Run("prelude and chunks as they are written", func(t *testing.T) {
		req, _ := http.NewRequest("GET", u+"stream?n=3&ms=300", nil)
		req.Header.Set("Origin", "https://x.example")
		start := time.Now()
		resp, err := f.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 201 || resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("X-Streamed") != "yes" ||
			resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Fatalf("head: %d %v", resp.StatusCode, resp.Header)
		}
		if got := resp.Header.Values("Set-Cookie"); len(got) != 2 || got[0] != "a=1" || got[1] != "b=2; Path=/" {
			t.Fatalf("Set-Cookie %v", got)
		}
		if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
			t.Fatalf("Transfer-Encoding %v", resp.TransferEncoding)
		}
		br := bufio.NewReader(resp.Body)
		first := make([]byte, len("chunk-0;"))
		if _, err := io.ReadFull(br, first); err != nil || string(first) != "chunk-0;" {
			t.Fatalf("first chunk %q %v", first, err)
		}
		firstAt := time.Since(start)
		rest, err := io.ReadAll(br)
		if err != nil || string(rest) != "chunk-1;chunk-2;" {
			t.Fatalf("rest %q %v", rest, err)
		}
		// The function sleeps 2×300 ms after its first chunk.
		if total := time.Since(start); total-firstAt < 400*time.Millisecond {
			t.Fatalf("first chunk at %v, end at %v: not streamed", firstAt, total)
		}
	})

	t.Run("mid-stream error truncates", func(t *testing.T) {
		resp, err := f.http.Get(u + "streamfail?n=1&ms=50")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "chunk-0;" || err == nil {
			t.Fatalf("%d %q err %v: want the first chunk, then a broken body", resp.StatusCode, b, err)
		}
	})

	t.Run("error before the first byte", func(t *testing.T) {
		f.do(t, "GET", u+"error", nil, nil).expect(t, 502, "Internal Server Error")
	})

	t.Run("plain handler: the raw payload", func(t *testing.T) {
		a := f.do(t, "POST", u+"respond", map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{"statusCode":201,"body":"x"}`))
		if a.status != 200 || a.body != `{"statusCode":201,"body":"x"}` {
			t.Fatalf("%d %q", a.status, a.body)
		}
		a = f.do(t, "GET", u+"plainstream?n=2", nil, nil)
		if a.status != 200 || a.body != "raw-0;raw-1;" || a.header.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("%d %q %v", a.status, a.body, a.header)
		}
	})

	t.Run("client leaves mid-stream", func(t *testing.T) {
		f.http.CloseIdleConnections()
		// The five invocations of the subtests above have all ended.
		const done = 5
		f.waitInvocations(t, "st", done)
		before := runtime.NumGoroutine()
		resp, err := f.http.Get(u + "stream?n=20&ms=20")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 8)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		f.http.CloseIdleConnections()
		// The function runs to its end (its response drained), and its
		// environment stays usable: the next request reuses it.
		f.waitInvocations(t, "st", done+1)
		a := f.do(t, "GET", u+"stream?n=2", nil, nil)
		if a.status != 201 || a.body != "chunk-0;chunk-1;" {
			t.Fatalf("after a disconnect: %d %q", a.status, a.body)
		}
		f.http.CloseIdleConnections()
		if err := waitfor.Until(10*time.Second, func() error {
			if n := runtime.NumGoroutine(); n > before+2 {
				return fmt.Errorf("goroutines %d, before %d", n, before)
			}
			return nil
		}); err != nil {
			buf := make([]byte, 1<<20)
			t.Fatalf("%v\n%s", err, buf[:runtime.Stack(buf, true)])
		}
		out, err := f.c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("st")})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("Invoke after a disconnect: %v %v", err, out)
		}
	})
}
