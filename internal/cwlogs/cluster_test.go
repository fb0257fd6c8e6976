package cwlogs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// groupCopies waits until the stream of log group has want copies, all
// current.
func groupCopies(t *testing.T, js jetstream.JetStream, group string, want int) {
	t.Helper()
	waitfor.Eventually(t, 60*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l := js.ListStreams(ctx, jetstream.WithStreamListSubject("lambada.logs.>"))
		for si := range l.Info() {
			if si.Config.Metadata["lambada.log-group"] != group {
				continue
			}
			if si.Config.Replicas != want || si.Cluster == nil || len(si.Cluster.Replicas)+1 != want {
				return fmt.Errorf("%s: %d copies configured, %+v; want %d", group, si.Config.Replicas, si.Cluster, want)
			}
			for _, r := range si.Cluster.Replicas {
				if !r.Current {
					return fmt.Errorf("%s: copy on %s not current", group, r.Name)
				}
			}
			return nil
		}
		return fmt.Errorf("no stream for %s (%v)", group, l.Err())
	})
}

// While one of three NATS servers is down and the others have not heard
// from it since they started (no copy can be placed on it), a function's
// first log lines and a CreateLogGroup are kept: read back through
// FilterLogEvents and GetLogEvents during the outage and after it, and the
// groups have their three copies once the server is back
// (docs/behaviour/cluster.md §1).
func TestLogsWhileANATSServerIsDown(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	s := servertest.Start(t, servertest.Options{NATSURL: c.URLs()})
	create(t, s, "outage", nil)
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)

	start := time.Now()
	dead := c.KillForgotten()
	t.Logf("server %d down and forgotten after %s", dead, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	lc := s.LogsClient()
	const group, custom = "/aws/lambda/outage", "/custom/outage"
	waitfor.Eventually(t, 30*time.Second, func() error {
		_, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("outage"),
			Payload: []byte(`{"op":"log","lines":["during the outage"]}`)})
		return err
	})
	if _, err := lc.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(custom)}); err != nil {
		t.Fatalf("CreateLogGroup with a NATS server down: %v", err)
	}
	waitText(t, lc, group, "during the outage\n")
	groupCopies(t, js, group, 2)
	groupCopies(t, js, custom, 2)
	t.Logf("lines and group kept with two copies at %s", time.Since(start).Round(time.Millisecond))

	c.Restart(dead)
	groupCopies(t, js, group, 3)
	groupCopies(t, js, custom, 3)
	t.Logf("three copies at %s", time.Since(start).Round(time.Millisecond))
	evs := waitText(t, lc, group, "during the outage\n")
	out, err := lc.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String(group),
		LogStreamName: evs[0].LogStreamName, StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range out.Events {
		found = found || *e.Message == "during the outage\n"
	}
	if !found {
		t.Fatalf("GetLogEvents after the outage: the line written during it is missing (%d events)", len(out.Events))
	}
	if _, err := lc.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(custom)}); err == nil {
		t.Fatal("CreateLogGroup of the group created during the outage: no error")
	} else if code, _, _ := servertest.APIError(err); code != "ResourceAlreadyExistsException" {
		t.Fatalf("CreateLogGroup again: %v, want ResourceAlreadyExistsException", err)
	}
}
