//go:build unix

package invoke

import (
	"log/slog"
	"os"
	"syscall"
	"testing"
)

func inodeOf(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Ino)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
