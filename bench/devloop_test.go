package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// BenchmarkEditToNewBehaviour: a function whose code is a host folder
// (hot reload, docs/behaviour/dev-loop.md §4). Each iteration writes a
// new version of the handler file and then invokes in a loop until an
// answer comes from the new code; the figure is file write → that answer.
// The baseline, in the same run, is the loop without hot reload: zip the
// same file, UpdateFunctionCode, first invoke (which starts a new
// environment on the new code).
func BenchmarkEditToNewBehaviour(b *testing.B) {
	for _, rt := range []struct {
		name, runtime, handler, file, src string
	}{
		{"python", string(types.RuntimePython312), "app.handler", "app.py", "def handler(event, context):\n    return 'V'\n"},
		{"node", string(types.RuntimeNodejs22x), "index.handler", "index.mjs", "export const handler = async () => 'V';\n"},
	} {
		b.Run(rt.name, func(b *testing.B) {
			s := servertest.Start(b, servertest.Options{})
			c := s.Client
			ctx := context.Background()
			dir := b.TempDir()
			src := func(v string) string { return replaceV(rt.src, v) }
			if err := os.WriteFile(filepath.Join(dir, rt.file), []byte(src("0")), 0o644); err != nil {
				b.Fatal(err)
			}
			for _, fn := range []struct {
				name string
				code *types.FunctionCode
			}{
				{"hot", &types.FunctionCode{S3Bucket: aws.String(server.DefaultHotReloadBucket), S3Key: aws.String(dir)}},
				{"zip", &types.FunctionCode{ZipFile: servertest.Zip(b, map[string]string{rt.file: src("0")})}},
			} {
				if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(fn.name),
					Role: aws.String("arn:aws:iam::000000000000:role/r"), Runtime: types.Runtime(rt.runtime),
					Handler: aws.String(rt.handler), Code: fn.code}); err != nil {
					b.Fatal(err)
				}
			}
			invoke := func(name string) string {
				out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name)})
				if err != nil {
					b.Fatal(err)
				}
				return string(out.Payload)
			}
			invoke("hot")
			invoke("zip")
			b.ResetTimer()
			hot := make(latencies, 0, b.N)
			zip := make(latencies, 0, b.N)
			for i := range b.N {
				v := strconv.Itoa(i + 1)
				want := strconv.Quote(v)
				start := time.Now()
				if err := os.WriteFile(filepath.Join(dir, rt.file), []byte(src(v)), 0o644); err != nil {
					b.Fatal(err)
				}
				for invoke("hot") != want {
					if time.Since(start) > 10*time.Second {
						b.Fatalf("iteration %d: no new behaviour after 10 s", i)
					}
				}
				hot = append(hot, time.Since(start))

				start = time.Now()
				if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("zip"),
					ZipFile: servertest.Zip(b, map[string]string{rt.file: src(v)})}); err != nil {
					b.Fatal(err)
				}
				if got := invoke("zip"); got != want {
					b.Fatalf("iteration %d: zip answers %s", i, got)
				}
				zip = append(zip, time.Since(start))
			}
			b.StopTimer()
			b.ReportMetric(us(hot.pct(0.50))/1e3, "edit-p50-ms")
			b.ReportMetric(us(hot.pct(0.90))/1e3, "edit-p90-ms")
			b.ReportMetric(us(zip.pct(0.50))/1e3, "zipupdate-p50-ms")
			b.ReportMetric(float64(hot.pct(0.50))/float64(zip.pct(0.50)), "edit-p50-x-zipupdate")
		})
	}
}

// replaceV puts v where the template has V.
func replaceV(tmpl, v string) string {
	out := []byte{}
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] == 'V' {
			out = append(out, v...)
			continue
		}
		out = append(out, tmpl[i])
	}
	return string(out)
}
