// Package bench holds lambada's benchmarks. Each reports percentiles and a
// ratio against a baseline measured in the same run, never a timed assert.
// Figures and the commands that made them are in README.md.
package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/lambada-dev/lambada/internal/server"
)

// latencies collects per-call durations and reports percentiles.
type latencies []time.Duration

func (l latencies) pct(p float64) time.Duration {
	s := append(latencies(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	i := int(p * float64(len(s)-1))
	return s[i]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// report writes p50/p90/p99 in µs and, with a baseline, the ratios.
func report(b *testing.B, name string, l, base latencies) {
	b.ReportMetric(us(l.pct(0.50)), name+"-p50-µs")
	b.ReportMetric(us(l.pct(0.90)), name+"-p90-µs")
	b.ReportMetric(us(l.pct(0.99)), name+"-p99-µs")
	if base != nil {
		b.ReportMetric(float64(l.pct(0.50))/float64(base.pct(0.50)), name+"-p50-x-bare")
		b.ReportMetric(float64(l.pct(0.99))/float64(base.pct(0.99)), name+"-p99-x-bare")
	}
}

// bareLoopback measures n plain HTTP round trips to a trivial handler on
// 127.0.0.1: the floor any HTTP API on this machine pays.
func bareLoopback(b *testing.B, n int, method string, body []byte) latencies {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	c := srv.Client()
	out := make(latencies, 0, n)
	for range n {
		req, _ := http.NewRequest(method, srv.URL+"/x", strings.NewReader(string(body)))
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, time.Since(t0))
	}
	return out
}

// signer signs raw requests the way aws-sdk-go-v2 does.
type signer struct {
	creds server.Credentials
	s     *v4.Signer
}

func newSigner(c server.Credentials) *signer { return &signer{creds: c, s: v4.NewSigner()} }

func (s *signer) sign(b *testing.B, req *http.Request, body []byte) {
	sum := sha256.Sum256(body)
	err := s.s.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: s.creds.AccessKeyID, SecretAccessKey: s.creds.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now())
	if err != nil {
		b.Fatal(err)
	}
}

// fanOut runs n calls of one(i) over c goroutines and returns the wall
// time, the latencies of the calls that succeeded and the first error.
func fanOut(n, c int, one func(i int) (time.Duration, error)) (time.Duration, latencies, error) {
	var next atomic.Int64
	per := make([]latencies, c)
	errs := make([]error, c)
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				d, err := one(i)
				if err != nil {
					if errs[g] == nil {
						errs[g] = err
					}
					continue
				}
				per[g] = append(per[g], d)
			}
		})
	}
	wg.Wait()
	total := time.Since(t0)
	var all latencies
	for _, p := range per {
		all = append(all, p...)
	}
	for _, err := range errs {
		if err != nil {
			return total, all, err
		}
	}
	return total, all, nil
}
