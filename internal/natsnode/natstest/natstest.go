// Package natstest starts real NATS servers for tests: a listening
// nats-server with JetStream on a random loopback port, so "external NATS"
// modes are tested against the real thing reached by URL.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout is generous because CI machines run many tests at once.
const readyTimeout = 30 * time.Second

// StartServer starts nats-server with JetStream on 127.0.0.1 (random port)
// with its files in a temporary directory, and returns its client URL. The
// server is shut down when t ends.
func StartServer(t testing.TB) string {
	t.Helper()
	return start(t, true)
}

// StartServerNoJetStream is StartServer without JetStream, for testing
// what clients say about a misconfigured server.
func StartServerNoJetStream(t testing.TB) string {
	t.Helper()
	return start(t, false)
}

func start(t testing.TB, jetStream bool) string {
	t.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		NoSigs:    true,
		NoLog:     true,
		JetStream: jetStream,
	}
	if jetStream {
		opts.StoreDir = t.TempDir()
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("natstest: configure nats-server: %v", err)
	}
	srv.Start()
	// Registered after TempDir's cleanup, so it runs first and the files
	// are closed before the directory is removed.
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(readyTimeout) {
		t.Fatalf("natstest: nats-server not ready after %s", readyTimeout)
	}
	return srv.ClientURL()
}
