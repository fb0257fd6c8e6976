package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// FuzzRequestDecoding sends correctly signed requests with arbitrary
// methods, paths, queries and bodies through the whole server. Whatever
// arrives, the answer is a well-formed AWS response: never a 5xx (a caller's
// bad input is never lambada's fault), errors carry X-Amzn-ErrorType and a
// JSON body.
func FuzzRequestDecoding(f *testing.F) {
	s := servertest.Start(f, servertest.Options{})
	zip := servertest.Zip(f, map[string]string{"bootstrap": "x"})
	create, _ := json.Marshal(map[string]any{
		"FunctionName": "fz", "Role": "arn:aws:iam::000000000000:role/r", "Runtime": "provided.al2023",
		"Code": map[string]any{"ZipFile": zip},
	})
	seeds := []struct{ method, path, query, body string }{
		{"POST", "/2015-03-31/functions", "", string(create)},
		{"GET", "/2015-03-31/functions/", "MaxItems=5&Marker=abc", ""},
		{"GET", "/2015-03-31/functions/fz", "Qualifier=%24LATEST", ""},
		{"PUT", "/2015-03-31/functions/fz/configuration", "", `{"Timeout":7,"Environment":{"Variables":{"A":"b"}}}`},
		{"PUT", "/2015-03-31/functions/fz/code", "", `{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==","Publish":true}`},
		{"POST", "/2015-03-31/functions/fz/versions", "", `{}`},
		{"POST", "/2015-03-31/functions/fz/aliases", "", `{"Name":"live","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0.5}}}`},
		{"PUT", "/2015-03-31/functions/fz/aliases/live", "", `{"RevisionId":"x"}`},
		{"PUT", "/2017-10-31/functions/fz/concurrency", "", `{"ReservedConcurrentExecutions":-1}`},
		{"DELETE", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Afz%3A1", "", ""},
		{"GET", "/2016-08-19/account-settings/", "", ""},
		{"POST", "/2015-03-31/functions", "", `{"FunctionName":1}`},
		{"POST", "/2015-03-31/functions", "", `{"FunctionName":"x","Timeout":"3"`},
	}
	for _, sd := range seeds {
		f.Add(sd.method, sd.path, sd.query, []byte(sd.body))
	}
	signer := v4.NewSigner()
	hc := &http.Client{Timeout: 30 * time.Second}
	f.Fuzz(func(t *testing.T, method, path, query string, body []byte) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?# \r\n\t") || strings.ContainsAny(query, "# \r\n\t") {
			return // not an HTTP request-target a client can send
		}
		switch method {
		case "GET", "PUT", "POST", "DELETE", "PATCH":
		default:
			return
		}
		target := s.URL() + path
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequest(method, target, bytes.NewReader(body))
		if err != nil {
			return
		}
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: s.Creds.AccessKeyID, SecretAccessKey: s.Creds.SecretAccessKey},
			req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
			return
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: status %d %s", method, target, body, resp.StatusCode, b)
		}
		if resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Fatalf("no request id")
		}
		if resp.StatusCode >= 400 {
			if resp.Header.Get("X-Amzn-Errortype") == "" || !json.Valid(b) {
				t.Fatalf("%s %s: malformed error %d %q", method, target, resp.StatusCode, b)
			}
		} else if len(b) > 0 && !json.Valid(b) {
			t.Fatalf("%s %s: non-JSON success body %q", method, target, b)
		}
	})
}
