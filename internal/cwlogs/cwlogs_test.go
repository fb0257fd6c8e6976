package cwlogs_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/cwlogs"
	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/syncbuf"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

const role = "arn:aws:iam::000000000000:role/lambda-role"

var streamName = regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$`)

func create(t *testing.T, s *servertest.Server, name string, env map[string]string) {
	t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}
	if env != nil {
		in.Environment = &types.Environment{Variables: env}
	}
	if _, err := s.Client.CreateFunction(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// events reads the whole group with FilterLogEvents, page by page.
func events(t *testing.T, c *cwl.Client, in cwl.FilterLogEventsInput) ([]cwltypes.FilteredLogEvent, int) {
	t.Helper()
	var out []cwltypes.FilteredLogEvent
	pages := 0
	seen := map[string]bool{}
	for {
		o, err := c.FilterLogEvents(context.Background(), &in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		out = append(out, o.Events...)
		if o.NextToken == nil {
			return out, pages
		}
		if seen[*o.NextToken] {
			t.Fatal("the same next token twice")
		}
		seen[*o.NextToken] = true
		in.NextToken = o.NextToken
	}
}

func text(ev []cwltypes.FilteredLogEvent) string {
	var b strings.Builder
	for _, e := range ev {
		b.WriteString(*e.Message)
	}
	return b.String()
}

// waitText polls the group until its text contains every want.
func waitText(t *testing.T, c *cwl.Client, group string, want ...string) []cwltypes.FilteredLogEvent {
	t.Helper()
	var events []cwltypes.FilteredLogEvent
	waitfor.Eventually(t, 20*time.Second, func() error {
		o, err := c.FilterLogEvents(context.Background(), &cwl.FilterLogEventsInput{LogGroupName: aws.String(group)})
		if err != nil {
			return fmt.Errorf("FilterLogEvents: %v", err)
		}
		got := text(o.Events)
		for _, w := range want {
			if !strings.Contains(got, w) {
				return fmt.Errorf("%q never arrived in %s:\n%s", w, group, got)
			}
		}
		events = o.Events
		return nil
	})
	return events
}

func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	c, m, status := servertest.APIError(err)
	if c != code || status != 400 || (msg != "" && m != msg) {
		t.Errorf("got %s %d %q (%v); want %s 400 %q", c, status, m, err, code, msg)
	}
}

// Every invocation's lines and platform records reach the log group — sync
// (also with Tail), Event, streamed and a failed init — and read back
// through the Go SDK's CloudWatch Logs client; the console prints them with
// function name and request id; a restart keeps them.
func TestLogsOfEveryInvocationKind(t *testing.T) {
	console := &syncbuf.Buffer{}
	dir := t.TempDir()
	cfgFn := func(c *server.Config) { c.FunctionLogs, c.FunctionLogsOutput = server.FunctionLogsStdout, console }
	s := servertest.Start(t, servertest.Options{DataDir: dir, Config: cfgFn})
	ctx := context.Background()
	lc := s.LogsClient()

	_, err := lc.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")

	create(t, s, "echo", nil)
	sync, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), LogType: types.LogTypeTail,
		Payload: []byte(`{"op":"log","lines":["hello-sync"]}`)})
	if err != nil || sync.FunctionError != nil {
		t.Fatal(err)
	}
	tail, _ := base64.StdEncoding.DecodeString(*sync.LogResult)
	if !strings.Contains(string(tail), "hello-sync\n") {
		t.Errorf("tail: %s", tail)
	}
	if _, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"op":"log","lines":["hello-event"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := servertest.ReadStream(t, s.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("echo"),
		Payload: []byte(`{"op":"log","lines":["hello-stream"]}`)}); err != nil {
		t.Fatal(err)
	}
	create(t, s, "badinit", map[string]string{"ECHO_INIT": "exit"})
	if out, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("badinit")}); err != nil || out.FunctionError == nil {
		t.Fatalf("badinit: %v", err)
	}

	evs := waitText(t, lc, "/aws/lambda/echo", "hello-sync\n", "hello-event\n", "hello-stream\n", "INIT_START Runtime Version: provided:al2023")
	reqs := regexp.MustCompile(`START RequestId: (\S+) Version: \$LATEST\n`).FindAllStringSubmatch(text(evs), -1)
	if len(reqs) < 3 {
		t.Fatalf("START records: %v", reqs)
	}
	all := text(waitText(t, lc, "/aws/lambda/echo", "REPORT RequestId: "+reqs[len(reqs)-1][1]))
	for _, r := range reqs {
		if !strings.Contains(all, "END RequestId: "+r[1]+"\n") || !strings.Contains(all, "REPORT RequestId: "+r[1]+"\tDuration: ") {
			t.Errorf("request %s lacks END/REPORT:\n%s", r[1], all)
		}
	}
	if i, j := strings.Index(all, "echo init line"), strings.Index(all, "START RequestId"); i < 0 || i > j {
		t.Errorf("init output not before the first START:\n%s", all)
	}
	ids := map[string]bool{}
	for _, e := range evs {
		if !streamName.MatchString(*e.LogStreamName) || e.Timestamp == nil || e.IngestionTime == nil || *e.IngestionTime < *e.Timestamp || ids[*e.EventId] {
			t.Fatalf("event fields: stream %q ts %v ingestion %v id %q", *e.LogStreamName, e.Timestamp, e.IngestionTime, *e.EventId)
		}
		ids[*e.EventId] = true
	}
	waitText(t, lc, "/aws/lambda/badinit", "INIT_REPORT Init Duration: ", "Status: error\tError Type: Runtime.ExitError", "END RequestId: ")
	if !strings.Contains(console.String(), "[echo "+reqs[0][1]+"] hello-") {
		t.Errorf("console output:\n%s", console.String())
	}

	// Pagination: pages of 2 give the same events as one page; the last
	// page has no token.
	whole, _ := events(t, lc, cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo")})
	paged, pages := events(t, lc, cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), Limit: aws.Int32(2)})
	if text(paged) != text(whole) || pages < len(whole)/2 {
		t.Errorf("paged %d events in %d pages, whole %d", len(paged), pages, len(whole))
	}
	// startTime is inclusive: the newest event comes back, with its id.
	newest := whole[len(whole)-1]
	again, _ := events(t, lc, cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), StartTime: newest.Timestamp})
	if len(again) == 0 || *again[len(again)-1].EventId != *newest.EventId {
		t.Errorf("startTime %d: %d events", *newest.Timestamp, len(again))
	}
	// Stream filters.
	stream := *whole[0].LogStreamName
	one, _ := events(t, lc, cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), LogStreamNames: []string{stream}})
	pre, _ := events(t, lc, cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), LogStreamNamePrefix: aws.String(stream[:20])})
	if len(one) == 0 || len(pre) < len(one) || *one[0].LogStreamName != stream {
		t.Errorf("stream filters: %d %d", len(one), len(pre))
	}

	// GetLogEvents: from the head in pages of 3 forward to the end, where
	// the token comes back unchanged.
	var fwd []string
	in := &cwl.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true), Limit: aws.Int32(3)}
	for range 100 {
		o, err := lc.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range o.Events {
			fwd = append(fwd, *e.Message)
		}
		if in.NextToken != nil && *o.NextForwardToken == *in.NextToken {
			break
		}
		if !strings.HasPrefix(*o.NextForwardToken, "f/") || !strings.HasPrefix(*o.NextBackwardToken, "b/") {
			t.Fatalf("tokens %s %s", *o.NextForwardToken, *o.NextBackwardToken)
		}
		in.NextToken = o.NextForwardToken
	}
	if strings.Join(fwd, "") != text(one) {
		t.Errorf("GetLogEvents forward:\n%s\nFilter:\n%s", strings.Join(fwd, ""), text(one))
	}
	// Default (startFromHead false): the newest events; backward from there.
	o, err := lc.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), LogStreamName: aws.String(stream), Limit: aws.Int32(2)})
	if err != nil || len(o.Events) != 2 || *o.Events[1].Message != *one[len(one)-1].Message {
		t.Fatalf("newest: %v %+v", err, o)
	}
	b, err := lc.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), LogStreamName: aws.String(stream), Limit: aws.Int32(2), NextToken: o.NextBackwardToken})
	if err != nil || len(b.Events) != 2 || *b.Events[1].Message != *one[len(one)-3].Message {
		t.Fatalf("backward: %v %+v", err, b)
	}

	// Describe*.
	groups, err := lc.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/")})
	if err != nil || len(groups.LogGroups) != 2 || *groups.LogGroups[0].LogGroupName != "/aws/lambda/badinit" ||
		*groups.LogGroups[1].Arn != "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/echo:*" || groups.LogGroups[1].RetentionInDays != nil {
		t.Fatalf("groups: %v %+v", err, groups)
	}
	page, err := lc.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{Limit: aws.Int32(1)})
	if err != nil || len(page.LogGroups) != 1 || page.NextToken == nil {
		t.Fatalf("group page: %v", err)
	}
	streams, err := lc.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/echo"),
		OrderBy: cwltypes.OrderByLastEventTime, Descending: aws.Bool(true), Limit: aws.Int32(1)})
	if err != nil || len(streams.LogStreams) != 1 || !streamName.MatchString(*streams.LogStreams[0].LogStreamName) ||
		streams.LogStreams[0].LastEventTimestamp == nil || streams.LogStreams[0].FirstEventTimestamp == nil {
		t.Fatalf("streams: %v %+v", err, streams)
	}

	// Retention policy.
	if _, err := lc.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/echo"), RetentionInDays: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	groups, _ = lc.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/echo")})
	if len(groups.LogGroups) != 1 || groups.LogGroups[0].RetentionInDays == nil || *groups.LogGroups[0].RetentionInDays != 3 {
		t.Fatalf("retention not set: %+v", groups.LogGroups)
	}
	_, err = lc.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/echo"), RetentionInDays: aws.Int32(2)})
	wantErr(t, err, "InvalidParameterException", "")
	if _, err := lc.DeleteRetentionPolicy(ctx, &cwl.DeleteRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/echo")}); err != nil {
		t.Fatal(err)
	}

	// Errors.
	_, err = lc.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), Limit: aws.Int32(10001)})
	wantErr(t, err, "InvalidParameterException", "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000")
	_, err = lc.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), NextToken: aws.String("bogus")})
	wantErr(t, err, "InvalidParameterException", "The specified nextToken is invalid.")
	_, err = lc.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), LogStreamNames: []string{"a"}, LogStreamNamePrefix: aws.String("a")})
	wantErr(t, err, "InvalidParameterException", "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	_, err = lc.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), FilterPattern: aws.String("[ip, user]")})
	wantErr(t, err, "InvalidParameterException", "")
	_, err = lc.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String(strings.Repeat("a", 513))})
	wantErr(t, err, "InvalidParameterException", "Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
	_, err = lc.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), LogStreamName: aws.String("nope")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	_, err = lc.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/echo"), LogGroupIdentifier: aws.String("/aws/lambda/echo")})
	wantErr(t, err, "ValidationException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	_, err = lc.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/none")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	_, err = lc.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("a"), LogGroupNamePattern: aws.String("b")})
	wantErr(t, err, "InvalidParameterException", "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	_, err = lc.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/aws/lambda/echo")})
	wantErr(t, err, "ResourceAlreadyExistsException", "The specified log group already exists")

	// A restart keeps the logs.
	s.Stop(t)
	s = servertest.Start(t, servertest.Options{DataDir: dir})
	lc = s.LogsClient()
	waitText(t, lc, "/aws/lambda/echo", "hello-sync\n", "hello-event\n")

	if _, err := lc.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/aws/lambda/echo")}); err != nil {
		t.Fatal(err)
	}
	_, err = lc.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	_, err = lc.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/aws/lambda/echo")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
}

// Filter patterns: a table of patterns × lines (docs/behaviour/logs.md §5).
func TestFilterPatterns(t *testing.T) {
	lines := []string{
		"ERROR disk full\n",
		"WARN Exception in thread\n",
		"Task timed out after 3.00 seconds\n",
		`{"level":"ERROR","msg":"x","n":5,"ok":true,"user":{"id":"u-17"}}` + "\n",
		`{"level":"INFO","msg":"y","n":50,"ok":false,"user":null}` + "\n",
		"plain info\n",
	}
	for _, c := range []struct {
		pattern string
		want    []int // indexes of lines that match
	}{
		{"", []int{0, 1, 2, 3, 4, 5}},
		{"ERROR", []int{0, 3}},
		{"ERROR disk", []int{0}},
		{"?disk ?Exception", []int{0, 1}},
		{"-ERROR", []int{1, 2, 4, 5}},
		{"info -ERROR", []int{5}},
		{`"Task timed out"`, []int{2}},
		{`"timed out" 3.00`, []int{2}},
		{`{ $.level = "ERROR" }`, []int{3}},
		{`{$.level != "ERROR"}`, []int{4}},
		{`{ $.n > 10 }`, []int{4}},
		{`{ $.n <= 5 && $.ok IS TRUE }`, []int{3}},
		{`{ $.level = "ERR*" || $.n = 50 }`, []int{3, 4}},
		{`{ $.user.id = "u-*" }`, []int{3}},
		{`{ $.user IS NULL }`, []int{4}},
		{`{ $.missing NOT EXISTS && $.msg EXISTS }`, []int{3, 4}},
		{`{ ($.n = 5 || $.n = 50) && $.level = INFO }`, []int{4}},
	} {
		m, err := cwlogs.CompileForTest(c.pattern)
		if err != nil {
			t.Errorf("%q: %v", c.pattern, err)
			continue
		}
		var got []int
		for i, l := range lines {
			if m(l) {
				got = append(got, i)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("%q matched %v, want %v", c.pattern, got, c.want)
		}
	}
	for _, bad := range []string{"[ip, user, status=404]", "%ERR.*%", `"unterminated`, `{ $.a = }`, `{ level = "x" }`, `{ $.a = "x"`, `{ $.a > "x" }`} {
		if _, err := cwlogs.CompileForTest(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if !awserr.Is(err, "InvalidParameterException") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// A function flooding its output neither grows the server's heap (its
// lines wait in bounded batches; the function waits for the store) nor
// keeps another function from answering; every line is stored.
func TestFloodIsBounded(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	create(t, s, "flood", nil)
	create(t, s, "other", nil)
	if _, err := s.Client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("flood"), Timeout: aws.Int32(120)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	const lines = 300_000 // 30 MB of 100-byte lines
	base := servertest.LiveHeap()
	peak := servertest.PeakLiveHeap()
	done := make(chan error, 1)
	go func() {
		_, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("flood"),
			Payload: []byte(fmt.Sprintf(`{"op":"flood","n":%d,"size":100}`, lines))})
		done <- err
	}()
	// The other function keeps answering while the flood runs.
	others := 0
	for flooding := true; flooding; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			flooding = false
		default:
			out, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("other"), Payload: []byte(`{"op":"echo"}`)})
			if err != nil || out.FunctionError != nil {
				t.Fatalf("other function during the flood: %v", err)
			}
			others++
		}
	}
	lc := s.LogsClient()
	last := fmt.Sprintf(`"%08d"`, lines-1)
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := lc.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/flood"), FilterPattern: aws.String(last)})
		if err == nil && len(out.Events) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flood's last line was not stored: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	grown := int64(peak()) - int64(base)
	t.Logf("other function answered %d times during the flood; live heap grew by %d KB at most", others, grown>>10)
	if grown > 48<<20 {
		t.Errorf("a 30 MB flood grew the live heap by %d MB", grown>>20)
	}
	groups, err := lc.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/flood")})
	if err != nil || len(groups.LogGroups) != 1 || aws.ToInt64(groups.LogGroups[0].StoredBytes) < lines*100 {
		t.Fatalf("stored: %v %+v", err, groups)
	}
	if others == 0 {
		t.Error("the other function never answered during the flood")
	}
}

// Two servers on one NATS JetStream write one log group: each node's
// environment is its own log stream, and either node reads both.
func TestTwoNodesOneGroup(t *testing.T) {
	url := natstest.StartServer(t)
	cfg := func(c *server.Config) { c.AccessKeyID, c.SecretAccessKey = "AKIDSHARED", "shared-secret" }
	a := servertest.Start(t, servertest.Options{NATSURL: url, Config: cfg})
	b := servertest.Start(t, servertest.Options{NATSURL: url, Config: cfg})
	create(t, a, "shared", nil)
	ctx := context.Background()
	waitfor.Eventually(t, 5*time.Second, func() error {
		_, err := b.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("shared")})
		return err
	})
	for _, s := range []*servertest.Server{a, b} {
		if _, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("shared"),
			Payload: []byte(`{"op":"log","lines":["from ` + s.URL() + `"]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*servertest.Server{a, b} {
		evs := waitText(t, s.LogsClient(), "/aws/lambda/shared", "from "+a.URL()+"\n", "from "+b.URL()+"\n")
		streams := map[string]bool{}
		for _, e := range evs {
			streams[*e.LogStreamName] = true
		}
		if len(streams) != 2 {
			t.Errorf("%d log streams, want one per node's environment", len(streams))
		}
	}
}

// LoggingConfig: JSON format and levels are stored with AWS's defaulting
// and partial updates, and honoured: JSON platform records (also in the
// tail), the Node and Python runtimes' JSON records filtered at
// ApplicationLogLevel, lines of a provided runtime filtered by their JSON
// "level" (anything else counts as INFO).
func TestLoggingConfigJSON(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	lc := s.LogsClient()
	mk := func(name string, rt types.Runtime, handler string, zip []byte, cfg *types.LoggingConfig) {
		t.Helper()
		if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Role: aws.String(role), Runtime: rt,
			Handler: aws.String(handler), Code: &types.FunctionCode{ZipFile: zip}, LoggingConfig: cfg}); err != nil {
			t.Fatal(err)
		}
	}
	mk("gojson", types.RuntimeProvidedal2023, "bootstrap", servertest.GoFunction(t, "echo"), &types.LoggingConfig{LogFormat: types.LogFormatJson})
	got, err := s.Client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("gojson")})
	if err != nil || got.LoggingConfig.LogFormat != types.LogFormatJson || got.LoggingConfig.ApplicationLogLevel != types.ApplicationLogLevelInfo ||
		got.LoggingConfig.SystemLogLevel != types.SystemLogLevelInfo || aws.ToString(got.LoggingConfig.LogGroup) != "/aws/lambda/gojson" {
		t.Fatalf("JSON defaults: %v %+v", err, got.LoggingConfig)
	}
	// A partial update keeps the format; a level changes alone.
	up, err := s.Client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("gojson"),
		LoggingConfig: &types.LoggingConfig{ApplicationLogLevel: types.ApplicationLogLevelWarn}})
	if err != nil || up.LoggingConfig.LogFormat != types.LogFormatJson || up.LoggingConfig.ApplicationLogLevel != types.ApplicationLogLevelWarn ||
		up.LoggingConfig.SystemLogLevel != types.SystemLogLevelInfo {
		t.Fatalf("partial update: %v %+v", err, up.LoggingConfig)
	}
	out, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gojson"), LogType: types.LogTypeTail,
		Payload: []byte(`{"op":"log","lines":["plain info line","{\"level\":\"ERROR\",\"msg\":\"kept\"}","{\"level\":\"DEBUG\",\"msg\":\"dropped\"}"]}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatal(err)
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.Contains(string(tail), `"type":"platform.start"`) || !strings.Contains(string(tail), `"type":"platform.report"`) ||
		!strings.Contains(string(tail), `"status":"success"`) || !strings.Contains(string(tail), `"msg":"kept"`) ||
		strings.Contains(string(tail), "plain info line") || strings.Contains(string(tail), "dropped") || strings.Contains(string(tail), "END RequestId") {
		t.Errorf("JSON tail:\n%s", tail)
	}
	waitText(t, lc, "/aws/lambda/gojson", `"type":"platform.initStart"`, `"msg":"kept"`, `"type":"platform.report"`)
	// Back to Text drops the levels; a level with Text is refused.
	up, err = s.Client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("gojson"),
		LoggingConfig: &types.LoggingConfig{LogFormat: types.LogFormatText}})
	if err != nil || up.LoggingConfig.LogFormat != types.LogFormatText || up.LoggingConfig.ApplicationLogLevel != "" || up.LoggingConfig.SystemLogLevel != "" {
		t.Fatalf("back to Text: %v %+v", err, up.LoggingConfig)
	}
	_, err = s.Client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("gojson"),
		LoggingConfig: &types.LoggingConfig{ApplicationLogLevel: types.ApplicationLogLevelError}})
	if c, m, st := servertest.APIError(err); c != "InvalidParameterValueException" || st != 400 ||
		m != `LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your request or change the LogFormat to "JSON" and try again.` {
		t.Errorf("level with Text: %s %d %q", c, st, m)
	}

	// Node: console.* become JSON records; below WARN they are not written.
	warn := &types.LoggingConfig{LogFormat: types.LogFormatJson, ApplicationLogLevel: types.ApplicationLogLevelWarn}
	mk("nodejson", types.RuntimeNodejs20x, "index.handler", servertest.FolderFunction(t, "node/basic"), warn)
	if _, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nodejson"), Payload: []byte(`{"op":"log"}`)}); err != nil {
		t.Fatal(err)
	}
	evs := waitText(t, lc, "/aws/lambda/nodejson", `"level":"WARN"`, `"message":"error line"`, `"type":"platform.report"`)
	if txt := text(evs); strings.Contains(txt, "info line") || strings.Contains(txt, "debug line") {
		t.Errorf("Node lines below WARN were written:\n%s", txt)
	}
	// Python: logging records become JSON; print stays as it is.
	mk("pyjson", types.RuntimePython312, "app.log_handler", servertest.FolderFunction(t, "python/basic"), warn)
	if _, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("pyjson"), Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	evs = waitText(t, lc, "/aws/lambda/pyjson", "hello from print\n", `"level": "WARNING"`, `"message": "warning from the root logger"`, `"logger": "root"`, `"requestId": "`)
	// (The function itself lowers the root logger's level later.)
	if txt := text(evs); strings.Contains(txt, "info before setLevel is dropped") {
		t.Errorf("Python records below WARN were written:\n%s", txt)
	}
}
