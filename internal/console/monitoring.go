package console

import (
	"net/http"
	"slices"
	"time"

	"github.com/lambada-dev/lambada/internal/metricseries"
)

// Windows the Monitoring page offers.
var monitoringWindows = []struct {
	Key   string
	Value time.Duration
}{{"15m", 15 * time.Minute}, {"1h", time.Hour}}

// mountMonitoring serves the Monitoring page (docs/console.md §6).
func mountMonitoring(c *Console, m pageMux) {
	m.Handle("GET "+Prefix+"monitoring", c.monitoringPage)
	m.Handle("GET "+Prefix+"api/series", c.apiSeries)
}

type monitoringData struct {
	Available bool
	Function  string // "" = all functions
	Functions []string
	Window    string
	Windows   []string
	// WindowSeconds spans the charts' time axis.
	WindowSeconds float64
	Summary       metricseries.Summary
	Step          time.Duration
	Samples       int
}

func window(key string) (string, time.Duration) {
	for _, w := range monitoringWindows {
		if w.Key == key {
			return w.Key, w.Value
		}
	}
	return "1h", time.Hour
}

// monitoringPage shows the charts of one function, or of all: the page
// holds the figures over the window, its script draws the series from
// api/series with uPlot and refreshes them every step.
func (c *Console) monitoringPage(w http.ResponseWriter, r *http.Request, s *Session) {
	q := r.URL.Query()
	d := monitoringData{Available: c.cfg.Series != nil, Function: q.Get("function")}
	var win time.Duration
	d.Window, win = window(q.Get("window"))
	d.WindowSeconds = win.Seconds()
	for _, w := range monitoringWindows {
		d.Windows = append(d.Windows, w.Key)
	}
	names := map[string]bool{}
	for _, f := range c.cfg.Registry.Functions() {
		names[f.Name] = true
	}
	if d.Available {
		for _, fn := range c.cfg.Series.Functions() {
			names[fn] = true
		}
		d.Step = c.cfg.Series.Step()
		if d.Function == "" {
			for _, sum := range c.cfg.Series.Summaries(win) {
				d.Summary.Invocations += sum.Invocations
				d.Summary.Errors += sum.Errors
				d.Summary.Throttles += sum.Throttles
			}
		} else {
			d.Summary = c.cfg.Series.Summary(d.Function, win)
		}
		d.Samples = len(c.cfg.Series.Series(d.Function, win).Times)
	}
	delete(names, "")
	d.Functions = slices.Sorted(mapsKeys(names))
	c.render(w, r, s, "monitoring.html", "", http.StatusOK, d)
}

// apiSeries answers the chart columns of ?function= (all when empty) over
// ?window=.
func (c *Console) apiSeries(w http.ResponseWriter, r *http.Request, s *Session) {
	if c.cfg.Series == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"message": "This server keeps no metrics series."})
		return
	}
	_, win := window(r.URL.Query().Get("window"))
	writeJSON(w, http.StatusOK, c.cfg.Series.Series(r.URL.Query().Get("function"), win))
}
