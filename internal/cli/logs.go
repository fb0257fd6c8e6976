package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambada-dev/lambada/internal/server"
)

// followInterval is how often `lambada logs --follow` polls.
const followInterval = time.Second

// runLogs prints a function's log group (docs/behaviour/logs.md §6) with
// the CloudWatch Logs API, as `aws logs tail` does. It is a client: it
// reads AWS_ENDPOINT_URL_CLOUDWATCH_LOGS (or AWS_ENDPOINT_URL_LAMBDA, or
// --endpoint-url), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION.
func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	follow := fs.Bool("follow", false, "keep printing new lines")
	fs.BoolVar(follow, "f", false, "short for --follow")
	since := fs.String("since", "10m", "print lines newer than this (s, m, h, d, w)")
	filter := fs.String("filter", "", "a CloudWatch Logs filter pattern")
	endpoint := fs.String("endpoint-url", envOr("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", os.Getenv("AWS_ENDPOINT_URL_LAMBDA")), "lambada's URL")
	region := fs.String("region", envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", server.DefaultRegion)), "the region lambada serves")
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if name == "" || *endpoint == "" {
		fmt.Fprintln(stderr, "usage: lambada logs FUNCTION [--follow] [--since 10m] [--filter PATTERN]; an endpoint (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS or --endpoint-url) is required")
		return errUsage
	}
	window, err := parseSince(*since)
	if err != nil {
		fmt.Fprintf(stderr, "lambada logs: bad --since %q: %v\n", *since, err)
		return errUsage
	}
	creds := credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))
	return tailLogs(ctx, tailOptions{
		Name: name, Endpoint: *endpoint, LambdaEndpoint: envOr("AWS_ENDPOINT_URL_LAMBDA", *endpoint), Region: *region,
		Creds: creds, Start: time.Now().Add(-window), Filter: *filter, Follow: *follow,
	}, stdout)
}

// tailOptions say which log group tailLogs reads and how.
type tailOptions struct {
	Name                     string
	Endpoint, LambdaEndpoint string
	Region                   string
	Creds                    aws.CredentialsProvider
	Start                    time.Time
	Filter                   string
	Follow                   bool
}

// tailLogs prints the function's log events from o.Start on, and with
// o.Follow keeps polling until ctx ends.
func tailLogs(ctx context.Context, o tailOptions, stdout io.Writer) error {
	name, region, creds, endpoint, follow, filter := o.Name, &o.Region, o.Creds, &o.Endpoint, &o.Follow, &o.Filter
	group := "/aws/lambda/" + name
	if lambdaURL := o.LambdaEndpoint; lambdaURL != "" {
		lc := lambda.New(lambda.Options{Region: *region, BaseEndpoint: aws.String(lambdaURL), Credentials: creds})
		if out, err := lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)}); err == nil &&
			out.LoggingConfig != nil && out.LoggingConfig.LogGroup != nil {
			group = *out.LoggingConfig.LogGroup
		}
	}
	c := cwl.New(cwl.Options{Region: *region, BaseEndpoint: aws.String(*endpoint), Credentials: creds})
	in := &cwl.FilterLogEventsInput{LogGroupName: aws.String(group), StartTime: aws.Int64(o.Start.UnixMilli())}
	if *filter != "" {
		in.FilterPattern = filter
	}
	// As aws logs tail --follow: the start time is inclusive, so the
	// newest timestamp's events come again and are skipped by id.
	seen := map[string]bool{}
	var newest int64
	for {
		out, err := c.FilterLogEvents(ctx, in)
		var nf *cwltypes.ResourceNotFoundException
		switch {
		case err != nil && ctx.Err() != nil:
			return nil
		case errors.As(err, &nf) && *follow:
			// The group appears with the function's first line.
			out, err = &cwl.FilterLogEventsOutput{}, nil
		case err != nil:
			return err
		}
		for _, e := range out.Events {
			ts := aws.ToInt64(e.Timestamp)
			if seen[aws.ToString(e.EventId)] && ts == newest {
				continue
			}
			if ts > newest {
				newest = ts
				clear(seen)
			}
			if ts == newest {
				seen[aws.ToString(e.EventId)] = true
			}
			fmt.Fprintf(stdout, "%s %s %s\n", time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05.000Z"),
				aws.ToString(e.LogStreamName), strings.TrimRight(aws.ToString(e.Message), " \t\r\n"))
		}
		if out.NextToken != nil {
			in.NextToken = out.NextToken
			continue
		}
		if !*follow {
			return nil
		}
		in.NextToken = nil
		if newest > 0 {
			in.StartTime = aws.Int64(newest)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followInterval):
		}
	}
}

// parseSince reads a duration with the units aws logs tail accepts.
func parseSince(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, errors.New("want a number and s, m, h, d or w")
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 0 {
		return 0, errors.New("want a number and s, m, h, d or w")
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, errors.New("want a number and s, m, h, d or w")
	}
	return time.Duration(n) * unit, nil
}
