package console_test

import (
	"testing"

	"github.com/lambada-dev/lambada/internal/console/consoletest"
)

// TestMain shares one chromium among the package's browser tests.
func TestMain(m *testing.M) { consoletest.Main(m) }
