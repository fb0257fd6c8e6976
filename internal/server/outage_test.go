package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/servertest"
)

const outageRole = "arn:aws:iam::000000000000:role/lambda-role"

// recorder counts the async attempts the echo function reports.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	runs map[string]int
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{runs: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var h struct {
			RequestID string `json:"requestId"`
		}
		_ = json.Unmarshal(b, &h)
		r.mu.Lock()
		r.runs[h.RequestID]++
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) ran(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[id] > 0
}

func health(t *testing.T, s *servertest.Server) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(s.URL() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&h)
	return resp.StatusCode, h
}

func pollUntil(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s", what, timeout)
		}
	}
}

// While the NATS cluster has no quorum, sync invokes of known functions
// are served from the view, management writes and Event invokes fail
// fast with ServiceException, /health says the storage is unavailable;
// once the cluster is back everything works again without a restart.
func TestStorageOutage(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	s := servertest.Start(t, servertest.Options{NATSURL: c.URLs()})
	client := servertest.NoRetry(s.Client)
	rec := newRecorder(t)
	ctx := context.Background()
	if _, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("fn"), Role: aws.String(outageRole), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
	syncInvoke := func() error {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: []byte(`{"op":"echo"}`)})
		if err == nil && out.FunctionError != nil {
			t.Fatalf("function error %s: %s", *out.FunctionError, out.Payload)
		}
		return err
	}
	if err := syncInvoke(); err != nil {
		t.Fatal(err)
	}
	event := func() (string, error) {
		payload, _ := json.Marshal(map[string]any{"op": "record", "url": rec.URL})
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), InvocationType: types.InvocationTypeEvent, Payload: payload})
		if err != nil {
			return "", err
		}
		id, _ := middlewareRequestID(out)
		return id, nil
	}

	// Two of three servers gone: JetStream has no quorum.
	c.Kill(0)
	c.Kill(1)
	pollUntil(t, 45*time.Second, "unavailable storage on /health", func() bool {
		code, h := health(t, s)
		return code == http.StatusServiceUnavailable && h["storage"] == "unavailable"
	})
	for range 3 {
		if err := syncInvoke(); err != nil {
			t.Fatalf("sync invoke during the outage: %v", err)
		}
	}
	wantServiceException := func(what string, call func(context.Context) error) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		start := time.Now()
		err := call(cctx)
		code, _, status := servertest.APIError(err)
		if code != "ServiceException" || status != 500 {
			t.Fatalf("%s during the outage: %v (code %q, status %d), want ServiceException 500", what, err, code, status)
		}
		t.Logf("%s during the outage: ServiceException after %s", what, time.Since(start).Round(time.Millisecond))
	}
	wantServiceException("CreateFunction", func(ctx context.Context) error {
		_, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String("fn2"), Role: aws.String(outageRole), Runtime: types.RuntimeProvidedal2023,
			Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
		})
		return err
	})
	wantServiceException("UpdateFunctionConfiguration", func(ctx context.Context) error {
		_, err := client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("fn"), Description: aws.String("during"),
		})
		return err
	})
	wantServiceException("Event invoke", func(ctx context.Context) error {
		_, err := event()
		return err
	})

	c.Restart(0)
	c.Restart(1)
	pollUntil(t, 30*time.Second, "healthy storage", func() bool {
		code, h := health(t, s)
		return code == http.StatusOK && h["storage"] == "external"
	})
	var id string
	pollUntil(t, 30*time.Second, "an accepted event", func() bool {
		var err error
		id, err = event()
		return err == nil
	})
	pollUntil(t, 30*time.Second, "the event's run", func() bool { return rec.ran(id) })
	pollUntil(t, 30*time.Second, "a management write", func() bool {
		_, err := client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("fn"), Description: aws.String("after"),
		})
		return err == nil
	})
	if err := syncInvoke(); err != nil {
		t.Fatal(err)
	}
}

func middlewareRequestID(out *lambda.InvokeOutput) (string, bool) {
	return middleware.GetRequestIDMetadata(out.ResultMetadata)
}
