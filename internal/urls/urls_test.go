package urls_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/syncbuf"
)

func TestBufferedURL(t *testing.T) {
	f := start(t)
	f.function(t, "web", nil)
	u := f.url(t, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("web"), AuthType: types.FunctionUrlAuthTypeNone})
	f.public(t, "web", "")

	t.Run("event", func(t *testing.T) {
		req, _ := http.NewRequest("POST", u+"pa2%2Fth/1?multi=foo&multi=%2Fbar&plain=x+y", strings.NewReader(`{"k":"v"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("X-Rep", "a")
		req.Header.Add("X-Rep", "b")
		req.Header.Add("Cookie", "a=1; b=2")
		req.Header.Set("User-Agent", "url-test")
		resp, err := f.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		a := answer{status: resp.StatusCode, header: resp.Header, body: b.String()}
		if a.status != 200 || a.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%d %v %s", a.status, a.header, a.body)
		}
		ev := a.event(t)
		host := strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/")
		id, _, _ := strings.Cut(host, ".")
		rc := ev["requestContext"].(map[string]any)
		hd := ev["headers"].(map[string]any)
		qs := ev["queryStringParameters"].(map[string]any)
		httpc := rc["http"].(map[string]any)
		checks := map[string][2]any{
			"version":             {ev["version"], "2.0"},
			"routeKey":            {ev["routeKey"], "$default"},
			"rawPath":             {ev["rawPath"], "/pa2%2Fth/1"},
			"rawQueryString":      {ev["rawQueryString"], "multi=foo&multi=%2Fbar&plain=x+y"},
			"query multi":         {qs["multi"], "foo,/bar"},
			"query plain":         {qs["plain"], "x y"},
			"header joined":       {hd["x-rep"], "a,b"},
			"header host":         {hd["host"], host},
			"header proto":        {hd["x-forwarded-proto"], "http"},
			"no cookie header":    {hd["cookie"], nil},
			"body":                {ev["body"], `{"k":"v"}`},
			"isBase64Encoded":     {ev["isBase64Encoded"], false},
			"accountId":           {rc["accountId"], "anonymous"},
			"apiId":               {rc["apiId"], id},
			"domainPrefix":        {rc["domainPrefix"], id},
			"domainName":          {rc["domainName"], strings.Split(host, ":")[0]},
			"requestId":           {rc["requestId"], a.header.Get("X-Amzn-Requestid")},
			"stage":               {rc["stage"], "$default"},
			"method":              {httpc["method"], "POST"},
			"path":                {httpc["path"], "/pa2%2Fth/1"},
			"protocol":            {httpc["protocol"], "HTTP/1.1"},
			"sourceIp":            {httpc["sourceIp"], "127.0.0.1"},
			"userAgent":           {httpc["userAgent"], "url-test"},
			"trace header in/out": {hd["x-amzn-trace-id"], a.header.Get("X-Amzn-Trace-Id")},
		}
		for name, c := range checks {
			if c[0] != c[1] {
				t.Errorf("%s: got %#v, want %#v", name, c[0], c[1])
			}
		}
		if cs, _ := ev["cookies"].([]any); len(cs) != 2 || cs[0] != "a=1" || cs[1] != "b=2" {
			t.Errorf("cookies %v", ev["cookies"])
		}
		if _, ok := rc["authorizer"]; ok {
			t.Error("authorizer on a NONE URL")
		}
		if ms, _ := rc["timeEpoch"].(float64); time.Since(time.UnixMilli(int64(ms))) > time.Minute {
			t.Errorf("timeEpoch %v", rc["timeEpoch"])
		}
		if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc["time"].(string)); err != nil || !strings.HasSuffix(rc["time"].(string), "+0000") {
			t.Errorf("time %v", rc["time"])
		}
		if !strings.HasPrefix(a.header.Get("X-Amzn-Trace-Id"), "Root=1-") {
			t.Errorf("X-Amzn-Trace-Id %q", a.header.Get("X-Amzn-Trace-Id"))
		}
	})

	t.Run("no query, no body, no cookies", func(t *testing.T) {
		ev := f.do(t, "GET", u, nil, nil).event(t)
		for _, k := range []string{"queryStringParameters", "cookies", "body"} {
			if _, ok := ev[k]; ok {
				t.Errorf("%s present: %v", k, ev[k])
			}
		}
		if ev["rawPath"] != "/" || ev["rawQueryString"] != "" {
			t.Errorf("rawPath %v rawQueryString %v", ev["rawPath"], ev["rawQueryString"])
		}
	})

	t.Run("body encoding by content type", func(t *testing.T) {
		for _, c := range []struct {
			ct     string
			body   string
			base64 bool
		}{
			{"text/plain", "héllo", false},
			{"application/json", `{"a":1}`, false},
			{"application/xml", "<a/>", false},
			{"application/vnd.api+json", "{}", false},
			{"", "no type", true},
			{"application/x-www-form-urlencoded", "a=b", true},
			{"multipart/form-data; boundary=x", "--x--", true},
			{"text/plain", "\xff\xfe", true},
		} {
			hdr := map[string]string{}
			if c.ct != "" {
				hdr["Content-Type"] = c.ct
			}
			ev := f.do(t, "POST", u, hdr, strings.NewReader(c.body)).event(t)
			want := c.body
			if c.base64 {
				want = base64.StdEncoding.EncodeToString([]byte(c.body))
			}
			if ev["body"] != want || ev["isBase64Encoded"] != c.base64 {
				t.Errorf("%q: body %v base64 %v", c.ct, ev["body"], ev["isBase64Encoded"])
			}
		}
	})

	t.Run("response mapping", func(t *testing.T) {
		for _, c := range []struct {
			result string
			status int
			body   string
			ct     string
			check  func(t *testing.T, h http.Header)
		}{
			{`{"hello": "world"}`, 200, `{"hello":"world"}`, "application/json", nil},
			{`{"statusCode":200,"body":"body123"}`, 200, "body123", "application/json", nil},
			{`["hello", 3, true]`, 200, `["hello",3,true]`, "application/json", nil},
			{`"hello"`, 200, "hello", "application/json", nil},
			{`3.1`, 200, "3.1", "application/json", nil},
			{`true`, 200, "true", "application/json", nil},
			{`{"statusCode":"418","body":"teapot"}`, 418, "teapot", "application/json", nil},
			{`{"statusCode":201,"headers":{"My-Custom-Header":"Custom Value","Content-Type":"text/html"},"body":"<p>"}`, 201, "<p>", "text/html",
				func(t *testing.T, h http.Header) {
					if h.Get("my-custom-header") != "Custom Value" {
						t.Errorf("custom header: %v", h)
					}
				}},
			{`{"statusCode":200,"body":{"nested":[1, 2]}}`, 200, `{"nested":[1,2]}`, "application/json", nil},
			{`{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`, 200, "hi", "application/json", nil},
			{`{"statusCode":204}`, 204, "", "application/json", nil},
			{`{"statusCode":200,"cookies":["a=1; Path=/","b=2"],"body":"c"}`, 200, "c", "application/json",
				func(t *testing.T, h http.Header) {
					if got := h.Values("Set-Cookie"); len(got) != 2 || got[0] != "a=1; Path=/" || got[1] != "b=2" {
						t.Errorf("Set-Cookie %v", got)
					}
				}},
		} {
			a := f.do(t, "POST", u+"respond", map[string]string{"Content-Type": "application/json"}, strings.NewReader(c.result))
			if a.status != c.status || a.body != c.body || a.header.Get("Content-Type") != c.ct {
				t.Errorf("%s: got %d %q (%s), want %d %q (%s)", c.result, a.status, a.body, a.header.Get("Content-Type"), c.status, c.body, c.ct)
			}
			if a.header.Get("X-Amzn-Requestid") == "" {
				t.Errorf("%s: no x-amzn-RequestId", c.result)
			}
			if c.check != nil {
				c.check(t, a.header)
			}
		}
		// Results the URL cannot send: 502.
		for _, bad := range []string{`{"statusCode":"abc"}`, `{"statusCode":42}`, `{"statusCode":200,"headers":{"bad name":"x"}}`, `{"statusCode":200,"body":"!!","isBase64Encoded":true}`} {
			f.do(t, "POST", u+"respond", map[string]string{"Content-Type": "application/json"}, strings.NewReader(bad)).expect(t, 502, "Internal Server Error")
		}
	})

	t.Run("streaming handler behind a BUFFERED URL", func(t *testing.T) {
		a := f.do(t, "GET", u+"stream?n=2", nil, nil)
		if a.status != 201 || a.body != "chunk-0;chunk-1;" || a.header.Get("X-Streamed") != "yes" || len(a.header.Values("Set-Cookie")) != 2 {
			t.Fatalf("%d %q %v", a.status, a.body, a.header)
		}
	})

	t.Run("path-style address", func(t *testing.T) {
		a := f.do(t, "GET", pathStyle(f.s, u)+"some/where?x=1", nil, nil)
		ev := a.event(t)
		rc := ev["requestContext"].(map[string]any)
		if ev["rawPath"] != "/some/where" || ev["rawQueryString"] != "x=1" || !strings.HasSuffix(rc["domainName"].(string), ".lambda-url.us-east-1.localhost") {
			t.Fatalf("path-style event: %v %v %v", ev["rawPath"], ev["rawQueryString"], rc["domainName"])
		}
	})

	t.Run("the API still answers on the same port", func(t *testing.T) {
		if _, err := f.c.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("web")}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestURLErrorTable covers every row of the error table (§8).
func TestURLErrorTable(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	f.function(t, "e", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(1) })
	u := f.url(t, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("e"), AuthType: types.FunctionUrlAuthTypeNone})

	t.Run("no policy", func(t *testing.T) {
		f.do(t, "GET", u, nil, nil).errorRow(t, 403, "AccessDeniedException", bodyForbidden)
	})
	t.Run("only InvokeFunctionUrl", func(t *testing.T) {
		_, err := f.c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("e"), StatementId: aws.String("url"),
			Action: aws.String("lambda:InvokeFunctionUrl"), Principal: aws.String("*"), FunctionUrlAuthType: types.FunctionUrlAuthTypeNone})
		if err != nil {
			t.Fatal(err)
		}
		f.do(t, "GET", u, nil, nil).errorRow(t, 403, "AccessDeniedException", bodyForbidden)
		// A statement with a condition a public request cannot meet does not help.
		_, err = f.c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("e"), StatementId: aws.String("s3"),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*"), SourceArn: aws.String("arn:aws:s3:::b")})
		if err != nil {
			t.Fatal(err)
		}
		f.do(t, "GET", u, nil, nil).errorRow(t, 403, "AccessDeniedException", bodyForbidden)
		_, err = f.c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("e"), StatementId: aws.String("invoke"),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*"), InvokedViaFunctionUrl: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if a := f.do(t, "GET", u, nil, nil); a.status != 200 {
			t.Fatalf("with both statements: %d %s", a.status, a.body)
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		f.do(t, "GET", "http://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.localhost/", nil, nil).errorRow(t, 403, "AccessDeniedException", bodyUnknown)
		f.do(t, "GET", f.s.URL()+"/_lambda-url/nope/x", nil, nil).errorRow(t, 403, "AccessDeniedException", bodyUnknown)
		// The id is case-insensitive; the rest of the host is not looked at.
		up := strings.Replace(u, "http://", "http://", 1)
		host := strings.TrimSuffix(strings.TrimPrefix(up, "http://"), "/")
		id, _, _ := strings.Cut(host, ".")
		if a := f.do(t, "GET", "http://"+strings.ToUpper(id)+".LAMBDA-URL.elsewhere.example/", nil, nil); a.status != 200 {
			t.Fatalf("upper-case id: %d %s", a.status, a.body)
		}
	})
	t.Run("bad hosts reach the API", func(t *testing.T) {
		for _, h := range []string{"lambda-url.us-east-1.localhost", ".lambda-url.x", "abc.lambda-urls.x", "127.0.0.1"} {
			a := f.do(t, "GET", f.s.URL()+"/", map[string]string{"Host": h}, nil)
			if a.status != 404 && a.status != 403 || a.header.Get("X-Amzn-Errortype") == "AccessDeniedException" {
				t.Errorf("Host %q: %d %s %v", h, a.status, a.body, a.header)
			}
		}
	})
	t.Run("function error", func(t *testing.T) {
		a := f.do(t, "GET", u+"error", nil, nil)
		a.expect(t, 502, "Internal Server Error")
		if a.header.Get("X-Amzn-Requestid") == "" {
			t.Fatal("no request id")
		}
	})
	t.Run("timeout", func(t *testing.T) {
		f.do(t, "GET", u+"sleep?ms=3000", nil, nil).expect(t, 502, "Internal Server Error")
	})
	t.Run("response over 6 MB", func(t *testing.T) {
		f.do(t, "GET", u+"big?n=6300000", nil, nil).expect(t, 502, "Internal Server Error")
	})
	t.Run("request over 6 MB", func(t *testing.T) {
		f.do(t, "POST", u, map[string]string{"Content-Type": "text/plain"}, bytes.NewReader(make([]byte, 6291457))).errorRow(t, 413, "RequestEntityTooLargeException", bodyTooLarge)
		// Under the limit raw, over it once base64-encoded in the event.
		f.do(t, "POST", u, map[string]string{"Content-Type": "application/octet-stream"}, bytes.NewReader(make([]byte, 5<<20))).errorRow(t, 413, "RequestEntityTooLargeException", bodyTooLarge)
	})
	t.Run("throttled", func(t *testing.T) {
		if _, err := f.c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("e"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
			t.Fatal(err)
		}
		f.do(t, "GET", u, nil, nil).errorRow(t, 429, "TooManyRequestsException", bodyThrottled)
		if _, err := f.c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("e")}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("deleted URL", func(t *testing.T) {
		if _, err := f.c.DeleteFunctionUrlConfig(ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String("e")}); err != nil {
			t.Fatal(err)
		}
		f.do(t, "GET", u, nil, nil).errorRow(t, 403, "AccessDeniedException", bodyUnknown)
	})
}

func TestIAMURL(t *testing.T) {
	f := start(t)
	f.function(t, "iam", nil)
	u := f.url(t, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("iam"), AuthType: types.FunctionUrlAuthTypeAwsIam})
	f.do(t, "GET", u, nil, nil).errorRow(t, 403, "AccessDeniedException", bodyForbidden)

	sign := func(req *http.Request, body []byte, secret string) {
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: f.s.Creds.AccessKeyID, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	body := []byte(`{"x":1}`)
	req, _ := http.NewRequest("POST", u+"p%3Aq?a=b", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	sign(req, body, f.s.Creds.SecretAccessKey)
	resp, err := f.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header, body: b.String()}
	if a.status != 200 {
		t.Fatalf("signed: %d %s", a.status, a.body)
	}
	rc := a.event(t)["requestContext"].(map[string]any)
	iam, _ := rc["authorizer"].(map[string]any)["iam"].(map[string]any)
	if rc["accountId"] != "000000000000" || iam["accessKey"] != f.s.Creds.AccessKeyID || iam["accountId"] != "000000000000" {
		t.Fatalf("requestContext %v", rc)
	}
	for _, k := range []string{"cognitoIdentity", "principalOrgId"} {
		if v, ok := iam[k]; !ok || v != nil {
			t.Errorf("%s: %v", k, v)
		}
	}

	// A wrong secret is refused.
	req, _ = http.NewRequest("GET", u, nil)
	sign(req, nil, "wrong")
	resp, err = f.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("bad signature: %d", resp.StatusCode)
	}
}

func TestCORS(t *testing.T) {
	f := start(t)
	f.function(t, "cors", nil)
	u := f.url(t, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("cors"), AuthType: types.FunctionUrlAuthTypeNone,
		Cors: &types.Cors{AllowOrigins: []string{"https://app.example"}, AllowMethods: []string{"GET", "POST"}, AllowHeaders: []string{"x-custom"},
			ExposeHeaders: []string{"x-exposed"}, MaxAge: aws.Int32(300), AllowCredentials: aws.Bool(true)}})
	f.public(t, "cors", "")

	pre := f.do(t, "OPTIONS", u+"respond", map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}, nil)
	pre.expect(t, 200, "")
	for k, v := range map[string]string{
		"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": "GET,POST",
		"Access-Control-Allow-Headers": "x-custom", "Access-Control-Max-Age": "300", "Access-Control-Allow-Credentials": "true",
	} {
		if got := pre.header.Get(k); got != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}
	// The preflight did not invoke: the function would have failed on an empty body.
	other := f.do(t, "OPTIONS", u, map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, nil)
	other.expect(t, 200, "")
	if other.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("origin not allowed, yet %v", other.header)
	}

	// An actual request: configured headers replace the function's.
	a := f.do(t, "POST", u+"respond", map[string]string{"Origin": "https://app.example", "Content-Type": "application/json"},
		strings.NewReader(`{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"*"},"body":"ok"}`))
	if a.status != 200 || a.body != "ok" || a.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		len(a.header.Values("Access-Control-Allow-Origin")) != 1 || a.header.Get("Access-Control-Expose-Headers") != "x-exposed" {
		t.Fatalf("actual: %d %q %v", a.status, a.body, a.header)
	}
	// Without Origin: no CORS headers.
	if a := f.do(t, "GET", u, nil, nil); a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("no Origin, yet %v", a.header)
	}

	// Without a Cors config an OPTIONS request reaches the function.
	f.function(t, "nocors", nil)
	u2 := f.url(t, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("nocors"), AuthType: types.FunctionUrlAuthTypeNone})
	f.public(t, "nocors", "")
	ev := f.do(t, "OPTIONS", u2, map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}, nil).event(t)
	if ev["requestContext"].(map[string]any)["http"].(map[string]any)["method"] != "OPTIONS" {
		t.Fatalf("OPTIONS did not reach the function: %v", ev)
	}
}

// TestAliasURLAndRecursion: an alias URL is opened by the alias's own
// policy; a caller's trace header travels into the chain, so a loop
// through a URL is stopped like one through Invoke; failures are counted
// per URL.
func TestAliasURLAndRecursion(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	f.function(t, "al", nil)
	if _, err := f.c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("al")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("al"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	u := f.url(t, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("al"), Qualifier: aws.String("live"), AuthType: types.FunctionUrlAuthTypeNone})
	f.public(t, "al", "") // the unqualified function's policy does not open the alias URL
	f.do(t, "GET", u, nil, nil).errorRow(t, 403, "AccessDeniedException", bodyForbidden)
	f.public(t, "al", "live")
	if a := f.do(t, "GET", u, nil, nil); a.status != 200 {
		t.Fatalf("alias URL: %d %s", a.status, a.body)
	}

	// The 17th invocation of a function in one chain is stopped.
	sum := sha256.Sum256([]byte("arn:aws:lambda:us-east-1:000000000000:function:al"))
	trace := "Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=" + hex.EncodeToString(sum[:4]) + ":16"
	a := f.do(t, "GET", u, map[string]string{"X-Amzn-Trace-Id": trace}, nil)
	a.errorRow(t, 400, "RecursiveInvocationException",
		`{"Message":"Lambda has detected your function being invoked in a recursive loop with other AWS resources and stopped your function's invocation."}`)
	if a := f.do(t, "GET", u, map[string]string{"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793"}, nil); a.status != 200 ||
		!strings.Contains(a.body, `"x-amzn-trace-id":"Root=1-5759e988-bd862e3fe1be46a994272793"`) || a.header.Get("X-Amzn-Trace-Id") != "Root=1-5759e988-bd862e3fe1be46a994272793" {
		t.Fatalf("trace header: %d %v %s", a.status, a.header, a.body)
	}

	// Metrics per URL and status class.
	mfs, err := f.s.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "lambada_url_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["function"] == "al" {
				counts[l["status_class"]] += m.GetCounter().GetValue()
			}
		}
	}
	if counts["2xx"] != 2 || counts["4xx"] != 2 {
		t.Fatalf("url request counts %v", counts)
	}
}

// TestFailureLog: every failed URL request leaves one line in lambada's
// log naming the URL, the status and why.
func TestFailureLog(t *testing.T) {
	var logs syncbuf.Buffer
	f := startWith(t, servertest.Options{Config: func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}})
	f.function(t, "lg", nil)
	u := f.url(t, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("lg"), AuthType: types.FunctionUrlAuthTypeNone})
	f.do(t, "GET", u+"p", nil, nil).errorRow(t, 403, "AccessDeniedException", bodyForbidden)
	id := strings.SplitN(strings.TrimPrefix(u, "http://"), ".", 2)[0]
	want := []string{`msg="function url request failed"`, "url_id=" + id, "function=lg", "path=/p", "status=403", `reason="the resource policy does not allow public access"`}
	for _, w := range want {
		if !strings.Contains(logs.String(), w) {
			t.Fatalf("log lacks %s:\n%s", w, logs.String())
		}
	}
}
