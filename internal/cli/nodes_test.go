package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/cli"
	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

type listedNode struct {
	ID, Address, Version string
	Started              time.Time
}

func listNodes(t *testing.T, endpoint string) []listedNode {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := cli.Run(context.Background(), []string{"nodes", "--endpoint-url", endpoint, "--json"}, &out, &errOut); err != nil {
		t.Fatalf("lambada nodes: %v\n%s", err, errOut.String())
	}
	var nodes []listedNode
	if err := json.Unmarshal(out.Bytes(), &nodes); err != nil {
		t.Fatalf("lambada nodes --json printed %q: %v", out.String(), err)
	}
	return nodes
}

// `lambada nodes` lists every node sharing the storage, asked of any of
// them; a stopped node leaves the list.
func TestNodesCommand(t *testing.T) {
	url := natstest.StartServer(t)
	cfg := func(c *server.Config) {
		c.AccessKeyID, c.SecretAccessKey = "AKIDNODES", "nodes-secret"
		c.Version = "v-test"
	}
	a := servertest.Start(t, servertest.Options{NATSURL: url, Config: cfg})
	b := servertest.Start(t, servertest.Options{NATSURL: url, Config: cfg})
	wait := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			nodes := listNodes(t, a.URL())
			var got []string
			for _, n := range nodes {
				got = append(got, n.Address)
				if n.Version != "v-test" || n.Started.IsZero() || n.ID == "" {
					t.Fatalf("listed %+v", n)
				}
			}
			if strings.Join(got, " ") == strings.Join(want, " ") || len(got) == len(want) && len(want) == 2 && got[0] == want[1] && got[1] == want[0] {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("nodes %v, want %v", got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait(a.URL(), b.URL())
	b.Stop(t)
	wait(a.URL())

	var out, errOut bytes.Buffer
	if err := cli.Run(context.Background(), []string{"nodes", "--endpoint-url", a.URL()}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "ID") || !strings.Contains(out.String(), a.URL()) {
		t.Fatalf("table:\n%s", out.String())
	}
}
