package console

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/metricseries"
)

// metricsWindow is the period of the Functions table's figures.
const metricsWindow = time.Hour

func mountFunctions(c *Console, m pageMux) {
	m.Handle("GET "+Prefix+"functions", c.functionsPage)
	m.Handle("GET "+Prefix+"api/functions", c.apiFunctions)
	mountDetail(c, m)
	mountInvoke(c, m)
}

// functionRow is one line of the Functions table.
type functionRow struct {
	Name, Runtime, State string
	Memory, Timeout      int
	LastModified         time.Time
	Invocations, Errors  int64
	Throttles            int64
	P50, P99             time.Duration
}

// functionsData is the Functions page's model.
type functionsData struct {
	Query, Sort, Dir string
	Rows             []functionRow
	Total            int
	Columns          []column
}

type column struct{ Key, Label string }

var functionColumns = []column{
	{"name", "Name"}, {"runtime", "Runtime"}, {"memory", "Memory (MB)"}, {"timeout", "Timeout (s)"},
	{"modified", "Last modified"}, {"state", "State"}, {"invocations", "Invocations"}, {"errors", "Errors"},
	{"throttles", "Throttles"}, {"p50", "p50"}, {"p99", "p99"},
}

// functionsPage lists the functions, filtered by ?q= (a substring of the
// name or the runtime) and sorted by ?sort= and ?dir=. An htmx request
// from the search box gets the table's body alone.
func (c *Console) functionsPage(w http.ResponseWriter, r *http.Request, s *Session) {
	q := r.URL.Query()
	d := functionsData{Query: strings.TrimSpace(q.Get("q")), Sort: q.Get("sort"), Dir: q.Get("dir"), Columns: functionColumns}
	if !slices.ContainsFunc(functionColumns, func(col column) bool { return col.Key == d.Sort }) {
		d.Sort = "name"
	}
	if d.Dir != "desc" {
		d.Dir = "asc"
	}
	d.Rows, d.Total = c.functionRows(d.Query, d.Sort, d.Dir == "desc")
	block := ""
	if r.Header.Get("HX-Request") != "" && r.Header.Get("HX-Target") == "fn-rows" {
		block = "rows"
	}
	c.render(w, r, s, "functions.html", block, http.StatusOK, d)
}

// functionRows builds the table: every function whose name or runtime
// contains query (case-insensitive), sorted by key.
func (c *Console) functionRows(query, key string, desc bool) ([]functionRow, int) {
	all := c.cfg.Registry.Functions()
	var sums map[string]metricseries.Summary
	if c.cfg.Series != nil {
		sums = c.cfg.Series.Summaries(metricsWindow)
	}
	query = strings.ToLower(query)
	rows := make([]functionRow, 0, len(all))
	for _, f := range all {
		l := &f.Latest
		if query != "" && !strings.Contains(strings.ToLower(f.Name), query) && !strings.Contains(strings.ToLower(l.Runtime), query) {
			continue
		}
		row := functionRow{
			Name: f.Name, Runtime: runtimeLabel(l), State: "Active", Memory: l.MemorySize, Timeout: l.Timeout,
			LastModified: l.LastModified,
		}
		if sum, ok := sums[f.Name]; ok {
			row.Invocations, row.Errors, row.Throttles = sum.Invocations, sum.Errors, sum.Throttles
			row.P50, row.P99 = sum.DurationP50, sum.DurationP99
		}
		rows = append(rows, row)
	}
	slices.SortStableFunc(rows, func(a, b functionRow) int {
		n := compareRows(a, b, key)
		if n == 0 {
			n = cmp.Compare(a.Name, b.Name)
		}
		if desc {
			return -n
		}
		return n
	})
	return rows, len(all)
}

func compareRows(a, b functionRow, key string) int {
	switch key {
	case "runtime":
		return cmp.Compare(a.Runtime, b.Runtime)
	case "memory":
		return cmp.Compare(a.Memory, b.Memory)
	case "timeout":
		return cmp.Compare(a.Timeout, b.Timeout)
	case "modified":
		return a.LastModified.Compare(b.LastModified)
	case "state":
		return cmp.Compare(a.State, b.State)
	case "invocations":
		return cmp.Compare(a.Invocations, b.Invocations)
	case "errors":
		return cmp.Compare(a.Errors, b.Errors)
	case "throttles":
		return cmp.Compare(a.Throttles, b.Throttles)
	case "p50":
		return cmp.Compare(a.P50, b.P50)
	case "p99":
		return cmp.Compare(a.P99, b.P99)
	}
	return cmp.Compare(a.Name, b.Name)
}

// runtimeLabel is the runtime, or "image"/"host folder" markers.
func runtimeLabel(c *function.Config) string {
	if c.Runtime == "" {
		return "-"
	}
	return c.Runtime
}

// apiFunctions is the Functions table as JSON (?q=, ?sort=, ?dir= as the
// page takes them).
func (c *Console) apiFunctions(w http.ResponseWriter, r *http.Request, s *Session) {
	q := r.URL.Query()
	rows, total := c.functionRows(strings.TrimSpace(q.Get("q")), q.Get("sort"), q.Get("dir") == "desc")
	type item struct {
		Name         string    `json:"name"`
		Runtime      string    `json:"runtime"`
		State        string    `json:"state"`
		MemorySize   int       `json:"memorySize"`
		Timeout      int       `json:"timeout"`
		LastModified time.Time `json:"lastModified"`
		Invocations  int64     `json:"invocations"`
		Errors       int64     `json:"errors"`
		Throttles    int64     `json:"throttles"`
		P50Millis    float64   `json:"p50Ms"`
		P99Millis    float64   `json:"p99Ms"`
	}
	out := make([]item, len(rows))
	for i, r := range rows {
		out[i] = item{r.Name, r.Runtime, r.State, r.Memory, r.Timeout, r.LastModified, r.Invocations, r.Errors, r.Throttles,
			float64(r.P50) / float64(time.Millisecond), float64(r.P99) / float64(time.Millisecond)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"functions": out, "total": total})
}
