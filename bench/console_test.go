package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// consoleFunctions is how many functions the console benchmark lists.
const consoleFunctions = 1000

// BenchmarkConsoleFunctionsPage: the web console's Functions page (the
// whole table, every function with its last hour's figures, rendered by
// html/template) with 1,000 functions, fetched by a signed-in visitor,
// against a bare loopback round trip in the same run. On loopback the
// round trip is the server's time plus a few tens of µs.
func BenchmarkConsoleFunctionsPage(b *testing.B) {
	s := servertest.Start(b, servertest.Options{})
	ctx := context.Background()
	zip := servertest.Zip(b, map[string]string{"bootstrap": "x"})
	if _, _, err := fanOut(consoleFunctions, 8, func(i int) (time.Duration, error) {
		_, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(fmt.Sprintf("fn-%04d", i)), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zip},
		})
		return 0, err
	}); err != nil {
		b.Fatal(err)
	}
	hc := consoleSignIn(b, s)
	page := s.URL() + "/console/functions"
	var size int
	one := func() time.Duration {
		t0 := time.Now()
		resp, err := hc.Get(page)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != http.StatusOK || strings.Count(string(body), `<th scope="row">`) != consoleFunctions {
			b.Fatalf("status %d, %d rows", resp.StatusCode, strings.Count(string(body), `<th scope="row">`))
		}
		size = len(body)
		return d
	}
	for range 5 {
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
	report(b, "page", l, base)
	b.ReportMetric(float64(size)/1024, "page-KiB")
}

var benchCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleSignIn returns a client holding a console session.
func consoleSignIn(b *testing.B, s *servertest.Server) *http.Client {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Get(s.URL() + "/console/signin")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := benchCSRF.FindStringSubmatch(string(page))
	if m == nil {
		b.Fatal("no sign-in form")
	}
	resp, err = hc.PostForm(s.URL()+"/console/signin", url.Values{
		"csrf": {m[1]}, "access_key_id": {s.Creds.AccessKeyID}, "secret_access_key": {s.Creds.SecretAccessKey},
	})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, "/console/functions") {
		b.Fatalf("sign-in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return hc
}
