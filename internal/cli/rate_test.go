package cli

import (
	"testing"

	"github.com/lambada-dev/lambada/internal/server"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int64{
		"2MB/s": 2_000_000, "2MB": 2_000_000, "512KiB/s": 512 << 10, "1.5MiB/s": 3 << 19,
		"1500000": 1_500_000, "10B/s": 10, "off": 0, "0": 0, " 3GB/s ": 3_000_000_000,
	} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fast", "-1MB", "MB/s", "0.1B", "Inf", "2 TB"} {
		if _, err := parseRate(bad); err == nil {
			t.Errorf("parseRate(%q): no error", bad)
		}
	}
}

func TestFormatRate(t *testing.T) {
	for in, want := range map[int64]string{2_000_000: "2MB/s", 512_000: "512KB/s", 1_500_000: "1500KB/s", 1234: "1234", 0: "off"} {
		if got := formatRate(in); got != want {
			t.Errorf("formatRate(%d) = %q; want %q", in, got, want)
		}
		if back, err := parseRate(formatRate(in)); err != nil || back != in {
			t.Errorf("parseRate(formatRate(%d)) = %d, %v", in, back, err)
		}
	}
	if got := formatRate(server.DefaultStreamRate); got != "2MB/s" {
		t.Errorf("--stream-rate's default shows as %q; the README says 2MB/s", got)
	}
}
