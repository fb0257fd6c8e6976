package cli

import "testing"

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
