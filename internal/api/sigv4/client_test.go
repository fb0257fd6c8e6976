package sigv4

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// seen is one request as the verifying handler saw it.
type seen struct {
	method, requestURI string
	header             http.Header
	principal          string
	err                error
}

// verifyingServer is an httptest server on 127.0.0.1 whose handler runs v
// on every request and answers like lambada would: an AWS-shaped error, or
// a minimal valid reply for the operation.
type verifyingServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seen
}

func newVerifyingServer(t *testing.T, v *Verifier) *verifyingServer {
	s := &verifyingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		principal, verr := v.Verify(r, body)
		s.mu.Lock()
		s.seen = append(s.seen, seen{r.Method, r.RequestURI, r.Header.Clone(), principal, verr})
		s.mu.Unlock()
		if verr != nil {
			e := awserr.As(verr)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-ErrorType", e.Code)
			w.WriteHeader(e.Status)
			_ = json.NewEncoder(w).Encode(e.Body())
			return
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/invocations"):
			w.Header().Set("X-Amz-Executed-Version", "$LATEST")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
		case r.Method == http.MethodPost:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"FunctionName":"f"}`)
		case strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/functions"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"Functions":[]}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"Configuration":{"FunctionName":"f"}}`)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *verifyingServer) last(t *testing.T) seen {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		t.Fatal("server saw no request")
	}
	return s.seen[len(s.seen)-1]
}

func (s *verifyingServer) client(akid, secret, token, region string) *lambda.Client {
	cfg := aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, token),
		RetryMaxAttempts: 1,
		HTTPClient:       s.Server.Client(),
	}
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		o.BaseEndpoint = aws.String(s.URL)
	})
}

// tokenCreds stands for the temporary credentials lambada will mint.
type tokenCreds struct{ akid, secret, token string }

func (c tokenCreds) Lookup(akid, token string) (string, string, bool) {
	if akid == c.akid && token == c.token {
		return c.secret, "temp:" + akid, true
	}
	return "", "", false
}

// TestAWSSDKGoClient points the real aws-sdk-go-v2 Lambda client at a
// verifying server: every request it signs must verify.
func TestAWSSDKGoClient(t *testing.T) {
	srv := newVerifyingServer(t, &Verifier{Region: testRegion, Creds: StaticCredentials{testAKID: testSecret}})
	c := srv.client(testAKID, testSecret, "", testRegion)
	ctx := context.Background()

	tests := []struct {
		name    string
		call    func() error
		wantURI string // request-target on the wire, when worth pinning
	}{
		{"GetFunction name:alias", func() error {
			_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("my-fn:prod")})
			return err
		}, "/2015-03-31/functions/my-fn%3Aprod"},
		{"GetFunction ARN $LATEST", func() error {
			_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{
				FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST")})
			return err
		}, "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af%3A%24LATEST"},
		{"GetFunction qualifier query", func() error {
			_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{
				FunctionName: aws.String("my.fn"), Qualifier: aws.String("$LATEST")})
			return err
		}, "/2015-03-31/functions/my.fn?Qualifier=%24LATEST"},
		{"GetFunctionConfiguration odd bytes", func() error {
			_, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{
				FunctionName: aws.String("a b/c%d+é")})
			return err
		}, "/2015-03-31/functions/a%20b%2Fc%25d%2B%C3%A9/configuration"},
		{"ListFunctions Marker MaxItems", func() error {
			_, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{
				Marker: aws.String("next page+token/=&x"), MaxItems: aws.Int32(10), FunctionVersion: types.FunctionVersionAll})
			return err
		}, ""},
		{"ListFunctions plain", func() error {
			_, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
			return err
		}, ""},
		{"Invoke payload", func() error {
			_, err := c.Invoke(ctx, &lambda.InvokeInput{
				FunctionName: aws.String("my-fn:prod"), Payload: []byte(`{"k":"v"}`),
				LogType: types.LogTypeTail, ClientContext: aws.String("eyJjdXN0b20iOnt9fQ=="), Qualifier: aws.String("prod")})
			return err
		}, ""},
		{"Invoke empty payload", func() error {
			_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), InvocationType: types.InvocationTypeEvent})
			return err
		}, "/2015-03-31/functions/f/invocations"},
		{"CreateFunction body", func() error {
			_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
				FunctionName: aws.String("f"), Role: aws.String("arn:aws:iam::000000000000:role/r"),
				Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
				Code:        &types.FunctionCode{ZipFile: []byte("PK\x05\x06" + strings.Repeat("\x00", 18))},
				Environment: &types.Environment{Variables: map[string]string{"A": "b c"}},
			})
			return err
		}, "/2015-03-31/functions"},
		{"DeleteFunction", func() error {
			_, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("f")})
			return err
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatalf("call: %v", err)
			}
			got := srv.last(t)
			if got.err != nil || got.principal != testAKID {
				t.Fatalf("Verify = %q, %v", got.principal, got.err)
			}
			if tt.wantURI != "" && got.requestURI != tt.wantURI {
				t.Errorf("request-target %q, want %q", got.requestURI, tt.wantURI)
			}
			auth := got.header.Get("Authorization")
			if got.header.Get("X-Amz-Content-Sha256") != "" {
				t.Errorf("Go sent X-Amz-Content-Sha256; docs/behaviour/api-common.md §7.1 says it never does for Lambda")
			}
			t.Logf("%s %s SignedHeaders=%s all=%v", got.method, got.requestURI, signedHeadersOf(auth), keys(got.header))
		})
	}
}

// TestAWSSDKGoClientConcurrent runs the Go client from many goroutines
// against one Verifier (run with -race).
func TestAWSSDKGoClientConcurrent(t *testing.T) {
	srv := newVerifyingServer(t, &Verifier{Region: testRegion, Creds: StaticCredentials{testAKID: testSecret}})
	c := srv.client(testAKID, testSecret, "", testRegion)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			_, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("f:1"), Payload: []byte(`"x"`)})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAWSSDKGoClientSessionToken(t *testing.T) {
	creds := tokenCreds{akid: "ASIATEMP", secret: "tempsecret", token: "token/with+odd=chars"}
	srv := newVerifyingServer(t, &Verifier{Region: testRegion, Creds: creds})
	_, err := srv.client(creds.akid, creds.secret, creds.token, testRegion).
		GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("f")})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.last(t)
	if got.err != nil || got.principal != "temp:ASIATEMP" {
		t.Fatalf("Verify = %q, %v", got.principal, got.err)
	}
	if sh := signedHeadersOf(got.header.Get("Authorization")); !strings.Contains(sh, "x-amz-security-token") {
		t.Errorf("token not signed: %s", sh)
	}

	// The same key without the token, or with another, is unknown.
	_, err = srv.client(creds.akid, creds.secret, "other", testRegion).
		GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("f")})
	wantSDKError(t, err, awserr.UnrecognizedClient, msgUnknownKey)
}

// TestAWSSDKGoClientRefused checks refusals reach the real client as the
// typed code and message it parses.
func TestAWSSDKGoClientRefused(t *testing.T) {
	srv := newVerifyingServer(t, &Verifier{Region: testRegion, Creds: StaticCredentials{testAKID: testSecret}})
	get := func(c *lambda.Client) error {
		_, err := c.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("f")})
		return err
	}
	wantSDKError(t, get(srv.client(testAKID, "wrong", "", testRegion)), awserr.InvalidSignature, msgSignature)
	wantSDKError(t, get(srv.client(testAKID, testSecret, "", "eu-west-1")), awserr.InvalidSignature, msgRegion)
	wantSDKError(t, get(srv.client("AKIDUNKNOWN", testSecret, "", testRegion)), awserr.UnrecognizedClient, msgUnknownKey)
}

func wantSDKError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an API error", err)
	}
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != http.StatusForbidden {
		t.Errorf("status: %v", err)
	}
	if apiErr.ErrorCode() != code || apiErr.ErrorMessage() != msg {
		t.Errorf("got %s %q, want %s %q", apiErr.ErrorCode(), apiErr.ErrorMessage(), code, msg)
	}
}

func keys(h http.Header) []string {
	var ks []string
	for k := range h {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
