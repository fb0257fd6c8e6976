package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

const role = "arn:aws:iam::000000000000:role/bench"

// BenchmarkGetFunction: GetFunction through the full stack (SigV4 verify,
// routing, registry view, JSON) with raw signed requests, against a bare
// loopback round trip in the same run. Client-side signing happens before
// the clock starts; server-side verification is inside.
func BenchmarkGetFunction(b *testing.B) {
	s := servertest.Start(b, servertest.Options{})
	ctx := context.Background()
	if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("bench"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.Zip(b, map[string]string{"bootstrap": "x"})},
	}); err != nil {
		b.Fatal(err)
	}
	sg := newSigner(s.Creds)
	hc := &http.Client{}
	url := s.URL() + "/2015-03-31/functions/bench"
	one := func() time.Duration {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		sg.sign(b, req, nil)
		t0 := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return d
	}
	for range 200 { // warm connections and caches
		one()
	}
	b.ResetTimer()
	base := bareLoopback(b, b.N, http.MethodGet, nil)
	l := make(latencies, 0, b.N)
	for range b.N {
		l = append(l, one())
	}
	b.StopTimer()
	report(b, "bare", base, nil)
	report(b, "get", l, base)

	// The same through the aws-sdk-go-v2 client: the figure users see.
	sdk := make(latencies, 0, b.N)
	for range b.N {
		t0 := time.Now()
		if _, err := s.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("bench")}); err != nil {
			b.Fatal(err)
		}
		sdk = append(sdk, time.Since(t0))
	}
	report(b, "sdk", sdk, base)
}

// BenchmarkCreateFunction1MB: CreateFunction with a 1 MB zip (random bytes,
// stored uncompressed: the full megabyte travels and is hashed and stored).
func BenchmarkCreateFunction1MB(b *testing.B) {
	s := servertest.Start(b, servertest.Options{})
	ctx := context.Background()
	blob := make([]byte, 1<<20)
	_, _ = rand.Read(blob)
	l := make(latencies, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		// Distinct content per function so each upload is really stored.
		blob[0], blob[1], blob[2] = byte(i), byte(i>>8), byte(i>>16)
		zip := servertest.Zip(b, map[string]string{"bootstrap": "x", "data.bin": string(blob)})
		t0 := time.Now()
		if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(fmt.Sprintf("big-%d", i)), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
			Code: &types.FunctionCode{ZipFile: zip},
		}); err != nil {
			b.Fatal(err)
		}
		l = append(l, time.Since(t0))
	}
	total := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/total.Seconds(), "creates/s")
	report(b, "create", l, nil)
	_ = bytes.MinRead
}
