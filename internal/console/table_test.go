package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// TestFunctionsTable: the table filters and sorts, and shows the last
// hour's figures from the server's metrics series.
func TestFunctionsTable(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	for name, mem := range map[string]int32{"alpha": 512, "beta": 128, "gamma": 256} {
		// Only gamma runs: the others get a package that is never started.
		zip := servertest.Zip(t, map[string]string{"bootstrap": "never run"})
		if name == "gamma" {
			zip = servertest.GoFunction(t, "echo")
		}
		if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), Role: aws.String("arn:aws:iam::000000000000:role/r"), Runtime: types.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zip}, MemorySize: aws.Int32(mem),
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.Series().Sample()
	for range 3 {
		if _, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gamma"), Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gamma"), Payload: []byte(`{"op":"error"}`)}); err != nil {
		t.Fatal(err)
	}
	// An invocation is counted once its environment has finished it,
	// which may be just after the caller got its answer.
	waitfor.True(t, 10*time.Second, "the series to count gamma's four invocations", func() bool {
		s.Series().Sample()
		return s.Series().Summary("gamma", time.Hour).Invocations == 4
	})

	v := newVisitor(t, s)
	v.signIn(s.Creds.AccessKeyID, s.Creds.SecretAccessKey)
	type row struct {
		Name        string  `json:"name"`
		MemorySize  int     `json:"memorySize"`
		Invocations int64   `json:"invocations"`
		Errors      int64   `json:"errors"`
		P50         float64 `json:"p50Ms"`
	}
	list := func(query string) []row {
		t.Helper()
		resp, body := v.do("GET", "/console/api/functions"+query, nil, nil)
		var out struct {
			Functions []row `json:"functions"`
			Total     int   `json:"total"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil || out.Total != 3 {
			t.Fatalf("GET %s: %d %s", query, resp.StatusCode, body)
		}
		return out.Functions
	}
	names := func(rows []row) string {
		var n []string
		for _, r := range rows {
			n = append(n, r.Name)
		}
		return strings.Join(n, ",")
	}
	if got := names(list("")); got != "alpha,beta,gamma" {
		t.Errorf("default order %s", got)
	}
	if got := names(list("?sort=memory")); got != "beta,gamma,alpha" {
		t.Errorf("by memory %s", got)
	}
	if got := names(list("?sort=memory&dir=desc")); got != "alpha,gamma,beta" {
		t.Errorf("by memory, descending %s", got)
	}
	if got := names(list("?q=MM")); got != "gamma" {
		t.Errorf("search %s", got)
	}
	rows := list("?sort=invocations&dir=desc")
	if rows[0].Name != "gamma" || rows[0].Invocations != 4 || rows[0].Errors != 1 || rows[0].P50 <= 0 {
		t.Errorf("gamma's figures: %+v", rows[0])
	}
	// The page shows the same, sorted by the column asked for.
	_, page := v.do("GET", "/console/functions?sort=memory&dir=desc", nil, nil)
	if a, g, b := strings.Index(page, ">alpha<"), strings.Index(page, ">gamma<"), strings.Index(page, ">beta<"); a < 0 || !(a < g && g < b) {
		t.Errorf("page order alpha %d gamma %d beta %d", a, g, b)
	}
	if !strings.Contains(page, `aria-sort="descending"`) {
		t.Error("the sorted column is not marked")
	}
	// htmx's search asks for the rows alone.
	resp, rowsOnly := v.do("GET", "/console/functions?q=lph", nil, http.Header{"Hx-Request": {"true"}, "Hx-Target": {"fn-rows"}})
	if resp.StatusCode != http.StatusOK || strings.Contains(rowsOnly, "<nav") || !strings.Contains(rowsOnly, ">alpha<") || strings.Contains(rowsOnly, ">beta<") {
		t.Errorf("rows fragment: %s", rowsOnly)
	}
}
