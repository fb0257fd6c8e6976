package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// floodLines and floodSize make one 10 MB flood of 100-byte lines.
const floodLines, floodSize = 100_000, 100

// BenchmarkLogPipe: a warm echo function writes 100,000 lines of 100 B,
// one write(2) each, through the environment's log pipe (read, split into
// lines, the newest 4 KB kept, every line handed to the log sink), against
// the same function writing the same lines to /dev/null, in the same run.
// Each iteration runs both once; MB/s is of the invocation's wall time.
func BenchmarkLogPipe(b *testing.B) {
	ib := newInvokeBench(b)
	if _, err := ib.s.Client.UpdateFunctionConfiguration(context.Background(), &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("echo"), Timeout: aws.Int32(120),
	}); err != nil {
		b.Fatal(err)
	}
	pipe := []byte(fmt.Sprintf(`{"op":"flood","n":%d,"size":%d}`, floodLines, floodSize))
	null := []byte(fmt.Sprintf(`{"op":"flood","n":%d,"size":%d,"to":"devnull"}`, floodLines, floodSize))
	ib.invoke(b, null, nil) // warm
	var tp, tn time.Duration
	b.ResetTimer()
	for range b.N {
		tn += ib.invoke(b, null, nil)
		tp += ib.invoke(b, pipe, nil)
	}
	b.StopTimer()
	mb := float64(floodLines*floodSize) / 1e6 * float64(b.N)
	b.ReportMetric(mb/tp.Seconds(), "pipe-MB/s")
	b.ReportMetric(mb/tn.Seconds(), "devnull-MB/s")
	b.ReportMetric(tn.Seconds()/tp.Seconds(), "pipe-x-devnull")
}
