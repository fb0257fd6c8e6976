package invoke

import "github.com/prometheus/client_golang/prometheus"

// concurrencyDesc is AWS's ConcurrentExecutions, read from the limiter at
// scrape time: this node's in-flight invocations per function at that
// moment (AWS reports the highest in the period; a scraper sees samples).
var concurrencyDesc = prometheus.NewDesc("lambada_concurrent_executions",
	"Invocations running on this node at scrape time (AWS metric ConcurrentExecutions).", []string{"function_name"}, nil)

type concurrencyCollector struct{ l *limiter }

func (c concurrencyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- concurrencyDesc }

func (c concurrencyCollector) Collect(ch chan<- prometheus.Metric) {
	for fn, n := range c.l.counts() {
		ch <- prometheus.MustNewConstMetric(concurrencyDesc, prometheus.GaugeValue, float64(n), fn)
	}
}

// counts copies the in-flight count per function.
func (l *limiter) counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.inflight))
	for fn, n := range l.inflight {
		out[fn] = n
	}
	return out
}
