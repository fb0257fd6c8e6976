package sts_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/lambada-dev/lambada/internal/servertest"
)

func stsClient(s *servertest.Server, creds aws.CredentialsProvider) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL()),
		Credentials:  creds,
		Retryer:      aws.NopRetryer{},
	})
}

var (
	reUserID = regexp.MustCompile(`^AIDA[A-Z2-7]{17}$`)
	reRoleID = regexp.MustCompile(`^AROA[A-Z2-7]{17}:who$`)
)

func TestGetCallerIdentity(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()

	// The server's key pair is the IAM user "lambada".
	c := stsClient(s, credentials.NewStaticCredentialsProvider(s.Creds.AccessKeyID, s.Creds.SecretAccessKey, ""))
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if aws.ToString(out.Account) != "000000000000" || aws.ToString(out.Arn) != "arn:aws:iam::000000000000:user/lambada" ||
		!reUserID.MatchString(aws.ToString(out.UserId)) {
		t.Errorf("identity %s %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
	again, _ := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if again == nil || aws.ToString(again.UserId) != aws.ToString(out.UserId) {
		t.Errorf("UserId is not stable")
	}

	// A function's credentials are its role, assumed in a session named
	// after the function.
	role := "arn:aws:iam::000000000000:role/service/who-role"
	if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("who"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
	inv, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("who"), Payload: []byte(`{"op":"env"}`)})
	if err != nil || inv.FunctionError != nil {
		t.Fatalf("%v %s", err, inv.Payload)
	}
	var env map[string]string
	if err := json.Unmarshal(inv.Payload, &env); err != nil {
		t.Fatal(err)
	}
	if env["AWS_ENDPOINT_URL_STS"] != s.URL() {
		t.Errorf("the function's AWS_ENDPOINT_URL_STS is %q, want %s", env["AWS_ENDPOINT_URL_STS"], s.URL())
	}
	fc := stsClient(s, credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]))
	fo, err := fc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with the function's credentials: %v", err)
	}
	if aws.ToString(fo.Account) != "000000000000" || aws.ToString(fo.Arn) != "arn:aws:sts::000000000000:assumed-role/who-role/who" ||
		!reRoleID.MatchString(aws.ToString(fo.UserId)) {
		t.Errorf("function identity %s %s %s", aws.ToString(fo.Account), aws.ToString(fo.Arn), aws.ToString(fo.UserId))
	}
	// Once the function is gone, its credentials are too.
	if _, err := s.Client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("who")}); err != nil {
		t.Fatal(err)
	}
	_, err = fc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403)

	// Signature failures in the query protocol's words.
	bad := stsClient(s, credentials.NewStaticCredentialsProvider(s.Creds.AccessKeyID, s.Creds.SecretAccessKey+"x", ""))
	_, err = bad.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "SignatureDoesNotMatch", 403)
	unknown := stsClient(s, credentials.NewStaticCredentialsProvider("AKIANOTKNOWN", "secret", ""))
	_, err = unknown.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403)
	// The Lambda client still reaches the Lambda API at the same address.
	if _, err := s.Client.ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil {
		t.Fatalf("ListFunctions next to STS: %v", err)
	}
}

func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("%s: HTTP %d, want %d", code, re.HTTPStatusCode(), status)
	}
}

// raw sends a form-encoded query request signed for service.
func raw(t *testing.T, s *servertest.Server, service, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL()+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	h := sha256.Sum256([]byte(body))
	sum := hex.EncodeToString(h[:])
	creds := aws.Credentials{AccessKeyID: s.Creds.AccessKeyID, SecretAccessKey: s.Creds.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sum, service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	status, h, body := raw(t, s, "sts", "Action=GetSessionToken&Version=2011-06-15")
	if status != 400 || h.Get("Content-Type") != "text/xml" ||
		!strings.Contains(body, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>Could not find operation GetSessionToken for version 2011-06-15</Message></Error><RequestId>"+h.Get("x-amzn-RequestId")+"</RequestId></ErrorResponse>") {
		t.Errorf("unknown action: %d %s %s", status, h.Get("Content-Type"), body)
	}
	if status, _, body := raw(t, s, "sts", "Version=2011-06-15"); status != 400 || !strings.Contains(body, "<Code>MissingAction</Code>") {
		t.Errorf("no action: %d %s", status, body)
	}
	// Signed for Lambda, sent to STS.
	if status, _, body := raw(t, s, "lambda", "Action=GetCallerIdentity&Version=2011-06-15"); status != 403 ||
		!strings.Contains(body, "<Code>SignatureDoesNotMatch</Code><Message>Credential should be scoped to correct service: &#39;sts&#39;. </Message>") {
		t.Errorf("wrong service: %d %s", status, body)
	}
	if status, _, body := raw(t, s, "sts", "Action=GetCallerIdentity&Version=2011-06-15"); status != 200 ||
		!strings.Contains(body, "<Arn>arn:aws:iam::000000000000:user/lambada</Arn>") {
		t.Errorf("GetCallerIdentity: %d %s", status, body)
	}
}
