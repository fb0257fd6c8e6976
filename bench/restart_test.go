package bench

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/codezip"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// BenchmarkRestartCodeCache: the time from starting a server to its first
// 200 on /health, on a data folder whose code cache holds a large unpacked
// function (restartBigFiles × restartFileSize, the echo bootstrap beside
// them) against one whose cache is empty, in the same run, and how long
// deleting that cache takes — what every start-up did before the cache was
// kept (issue 13: 9.6 s with 768 MB).
func BenchmarkRestartCodeCache(b *testing.B) {
	const restartBigFiles, restartFileSize = 2000, 100 << 10 // 200 MB unpacked
	ctx := context.Background()
	bootstrap := func() string {
		z := servertest.GoFunction(b, "echo")
		zr, _ := zip.NewReader(bytes.NewReader(z), int64(len(z)))
		f, err := zr.Open("bootstrap")
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		bin, _ := io.ReadAll(f)
		return string(bin)
	}()
	files := map[string]string{"bootstrap": bootstrap}
	for i := range restartBigFiles {
		files[fmt.Sprintf("node_modules/m%03d/f%d.js", i/20, i)] = strings.Repeat(fmt.Sprintf("// file %d\n", i), restartFileSize/12)
	}
	big := servertest.Zip(b, files)

	prepare := func(zipFile []byte) string {
		dir := b.TempDir()
		s := servertest.Start(b, servertest.Options{DataDir: dir})
		out, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String("f"), Role: aws.String("arn:aws:iam::000000000000:role/r"),
			Runtime: types.RuntimeProvidedal2023, Code: &types.FunctionCode{ZipFile: zipFile},
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`{"op":"echo"}`)}); err != nil {
			b.Fatal(err)
		}
		sum, _ := base64.StdEncoding.DecodeString(aws.ToString(out.CodeSha256))
		marker := filepath.Join(dir, "code", hex.EncodeToString(sum)+".ok")
		for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
			if _, err := os.Stat(marker); err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("the unpacked code was never marked complete")
			}
		}
		s.Stop(b)
		return dir
	}
	empty, full := b.TempDir(), prepare(big)
	restart := func(dir string) time.Duration {
		t0 := time.Now()
		s := servertest.Start(b, servertest.Options{DataDir: dir})
		d := time.Since(t0)
		s.Stop(b)
		return d
	}
	restart(empty) // the first start of a data folder creates its buckets
	var base, cached latencies
	b.ResetTimer()
	for range b.N {
		base = append(base, restart(empty))
		cached = append(cached, restart(full))
	}
	b.StopTimer()
	// What start-up did before the cache was kept: delete it.
	entries, _ := os.ReadDir(filepath.Join(full, "code"))
	t0 := time.Now()
	for _, e := range entries {
		if err := codezip.Remove(filepath.Join(full, "code", e.Name())); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "old-clear-ms")
	b.ReportMetric(float64(base.pct(0.5).Milliseconds()), "empty-p50-ms")
	b.ReportMetric(float64(cached.pct(0.5).Milliseconds()), "cached-p50-ms")
	b.ReportMetric(float64(cached.pct(0.5))/float64(base.pct(0.5)), "cached/empty")
	b.Logf("restart to ready: empty cache p50 %v max %v; 200 MB cache p50 %v max %v",
		base.pct(0.5), base.pct(1), cached.pct(0.5), cached.pct(1))
}
