// Command lambada runs AWS Lambda functions on your own machines and speaks
// the Lambda API.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lambada-dev/lambada/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
