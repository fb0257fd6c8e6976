package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/lambada-dev/lambada/internal/cli"
)

// The --nats-cluster companions are refused without it, and --nats-cluster
// without the key pair is refused before anything starts.
func TestServerNATSClusterFlags(t *testing.T) {
	t.Setenv("LAMBADA_ACCESS_KEY_ID", "")
	t.Setenv("LAMBADA_SECRET_ACCESS_KEY", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nats-listen", "127.0.0.1:4222"}, "--nats-listen needs --nats-cluster"},
		{[]string{"--nats-name", "n1"}, "--nats-name needs --nats-cluster"},
		{[]string{"--nats-cluster", " , "}, "--nats-cluster needs the cluster's route URLs"},
		{[]string{"--nats-cluster", "nats://127.0.0.1:6222"}, "LAMBADA_ACCESS_KEY_ID"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"server", "--data", t.TempDir()}, tc.args...)
		err := cli.Run(context.Background(), args, &out, &errb)
		if err == nil {
			t.Errorf("%v: accepted", tc.args)
			continue
		}
		if got := errb.String() + err.Error(); !strings.Contains(got, tc.want) {
			t.Errorf("%v: %q, want it to say %q", tc.args, got, tc.want)
		}
	}
}
