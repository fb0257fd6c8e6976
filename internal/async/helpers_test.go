package async_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

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

// sendEvents sends events Event invokes of fn with payload from senders
// goroutines at once, sender w through clients[w%len(clients)], and
// returns the request ids accepted; any refusal fails t (after every
// sender stopped).
func sendEvents(t *testing.T, clients []*lambda.Client, senders, events int, fn string, payload []byte) map[string]bool {
	t.Helper()
	var mu sync.Mutex
	accepted := map[string]bool{}
	var wg sync.WaitGroup
	for w := range senders {
		client := clients[w%len(clients)]
		wg.Go(func() {
			for range events / senders {
				out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(fn), InvocationType: types.InvocationTypeEvent, Payload: payload})
				if err != nil {
					t.Error(err)
					return
				}
				id, _ := middleware.GetRequestIDMetadata(out.ResultMetadata)
				mu.Lock()
				accepted[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return accepted
}

// ranTwice counts the request ids of hits that ran more than once.
func ranTwice(hits []hit) int {
	runs := map[string]int{}
	for _, h := range hits {
		runs[h.RequestID]++
	}
	dups := 0
	for _, n := range runs {
		if n > 1 {
			dups++
		}
	}
	return dups
}
