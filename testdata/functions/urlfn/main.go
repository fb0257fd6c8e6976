// Command urlfn is the function-URL test function: an unmodified
// aws-lambda-go function whose behaviour is chosen by the request path.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	q := ev.QueryStringParameters
	n, _ := strconv.Atoi(q["n"])
	ms, _ := strconv.Atoi(q["ms"])
	switch strings.TrimPrefix(ev.RawPath, "/") {
	case "respond":
		// The request body is the result, as JSON.
		body := ev.Body
		if ev.IsBase64Encoded {
			b, _ := base64.StdEncoding.DecodeString(body)
			body = string(b)
		}
		return json.RawMessage(body), nil
	case "error":
		return nil, errors.New("url function failed")
	case "sleep":
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return "slept", nil
	case "big":
		return strings.Repeat("x", n), nil
	case "stream":
		// n chunks "chunk-<i>;" ms apart behind a prelude.
		return &events.LambdaFunctionURLStreamingResponse{
			StatusCode: 201,
			Headers:    map[string]string{"Content-Type": "text/plain", "X-Streamed": "yes"},
			Cookies:    []string{"a=1", "b=2; Path=/"},
			Body:       chunks(n, ms, false, func(i int) string { return fmt.Sprintf("chunk-%d;", i) }),
		}, nil
	case "streamfail":
		return &events.LambdaFunctionURLStreamingResponse{
			StatusCode: 200,
			Body:       chunks(n, ms, true, func(i int) string { return fmt.Sprintf("chunk-%d;", i) }),
		}, nil
	case "plainstream":
		// A reader without a prelude.
		return chunks(n, ms, false, func(i int) string { return fmt.Sprintf("raw-%d;", i) }), nil
	case "stamps":
		// n chunks, ms apart, each the wall-clock time it was written.
		return &events.LambdaFunctionURLStreamingResponse{
			Headers: map[string]string{"Content-Type": "text/plain"},
			Body:    chunks(n, ms, false, func(int) string { return strconv.FormatInt(time.Now().UnixNano(), 10) + ";" }),
		}, nil
	case "bytes":
		return &events.LambdaFunctionURLStreamingResponse{
			Headers: map[string]string{"Content-Type": "application/octet-stream"},
			Body:    &digits{left: n},
		}, nil
	}
	return raw, nil
}

// chunks streams n pieces ms apart; fail ends it with an error.
func chunks(n, ms int, fail bool, piece func(int) string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < n; i++ {
			if i > 0 {
				time.Sleep(time.Duration(ms) * time.Millisecond)
			}
			if _, err := io.WriteString(pw, piece(i)); err != nil {
				return
			}
		}
		if fail {
			time.Sleep(time.Duration(ms) * time.Millisecond)
			pw.CloseWithError(errors.New("mid-stream failure"))
			return
		}
		pw.Close()
	}()
	return pr
}

// digits reads "0123456789" repeatedly, 32 KiB per read, left bytes in all.
type digits struct{ off, left int }

var pattern = []byte(strings.Repeat("0123456789", 32<<10/10+2))

func (d *digits) Read(p []byte) (int, error) {
	if d.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(len(p), 32<<10, d.left)]
	d.left -= len(p)
	copy(p, pattern[d.off%10:])
	d.off += len(p)
	return len(p), nil
}

func main() { lambda.Start(handle) }
