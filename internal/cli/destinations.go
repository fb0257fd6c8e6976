package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/lambada-dev/lambada/internal/server"
)

// runDestinations prints the records lambada delivered to an SQS, SNS,
// EventBridge, S3 or dead-letter ARN, one JSON object per line. It is a
// client: it reads AWS_ENDPOINT_URL_LAMBDA (or --endpoint-url),
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION like an SDK.
func runDestinations(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("destinations", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arn := fs.String("arn", "", "the destination ARN (required)")
	after := fs.Uint64("after", 0, "print only records after this sequence")
	follow := fs.Bool("follow", false, "keep waiting for new records")
	endpoint := fs.String("endpoint-url", os.Getenv("AWS_ENDPOINT_URL_LAMBDA"), "lambada's URL")
	region := fs.String("region", envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", server.DefaultRegion)), "the region lambada serves")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if *arn == "" || *endpoint == "" {
		fmt.Fprintln(stderr, "lambada destinations: --arn and an endpoint (AWS_ENDPOINT_URL_LAMBDA or --endpoint-url) are required")
		return errUsage
	}
	creds := aws.Credentials{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: os.Getenv("AWS_SESSION_TOKEN")}
	signer := v4.NewSigner()
	next := *after
	for {
		q := url.Values{"Destination": {*arn}, "After": {strconv.FormatUint(next, 10)}}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(*endpoint, "/")+"/lambada/destinations?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		empty := sha256.Sum256(nil)
		if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(empty[:]), "lambda", *region, time.Now()); err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", resp.Header.Get("X-Amzn-ErrorType"), strings.TrimSpace(string(b)))
		}
		var page struct {
			Records []json.RawMessage
			Next    uint64
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return fmt.Errorf("decoding the answer: %w", err)
		}
		for _, r := range page.Records {
			fmt.Fprintln(stdout, string(r))
		}
		next = page.Next
		if len(page.Records) == 0 {
			if !*follow {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
