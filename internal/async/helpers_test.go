package async_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/lambada-dev/lambada/internal/servertest"
)

func jsonReader(t *testing.T, v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func signGet(t *testing.T, s *servertest.Server, req *http.Request) {
	t.Helper()
	empty := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: s.Creds.AccessKeyID, SecretAccessKey: s.Creds.SecretAccessKey},
		req, hex.EncodeToString(empty[:]), "lambda", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}
