package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lambada-dev/lambada/internal/server"
)

// runNodes prints the live nodes a server knows of, from its /health.
func runNodes(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("nodes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint-url", envOr("AWS_ENDPOINT_URL_LAMBDA", "http://"+server.DefaultListen), "any lambada node's URL")
	asJSON := fs.Bool("json", false, "print the nodes as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(*endpoint, "/")+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking %s: %w", *endpoint, err)
	}
	defer resp.Body.Close()
	var h struct {
		Status  string `json:"status"`
		Storage string `json:"storage"`
		Nodes   []struct {
			ID           string    `json:"id"`
			Address      string    `json:"address"`
			Version      string    `json:"version"`
			Started      time.Time `json:"started"`
			Environments int       `json:"environments"`
		} `json:"nodes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return fmt.Errorf("reading %s/health: %w", *endpoint, err)
	}
	if h.Nodes == nil {
		return fmt.Errorf("%s is %s (storage %s) and lists no nodes", *endpoint, h.Status, h.Storage)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(h.Nodes)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tVERSION\tSTARTED\tENVIRONMENTS")
	for _, n := range h.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", n.ID, n.Address, n.Version, n.Started.Format(time.RFC3339), n.Environments)
	}
	return tw.Flush()
}
