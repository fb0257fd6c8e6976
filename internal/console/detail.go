package console

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambada-dev/lambada/internal/function"
)

func mountDetail(c *Console, m pageMux) {
	m.Handle("GET "+Prefix+"functions/{name}", c.detailPage)
	m.Handle("GET "+Prefix+"functions/{name}/env/{key}", c.envValue)
}

// aliasView is one alias with its routing: the primary version's weight
// is what the additional versions leave.
type aliasView struct {
	Name, Version, Description string
	Routes                     []route
}

type route struct {
	Version string
	Percent string
}

// eventConfigView is the async configuration of one qualifier.
type eventConfigView struct {
	Qualifier            string
	Retries, MaxAge      int
	OnSuccess, OnFailure string
}

type urlView struct {
	Qualifier, URL, AuthType, Mode string
}

type detailData struct {
	F            *function.Function
	Latest       *function.Config
	ARN          string
	EnvKeys      []string
	Aliases      []aliasView
	URLs         []urlView
	EventConfigs []eventConfigView
	Recursion    string
	Reserved     string
	TagKeys      []string
}

// detailPage shows one function (docs/console.md §3). Environment values
// are not in the page: each is fetched when revealed.
func (c *Console) detailPage(w http.ResponseWriter, r *http.Request, s *Session) {
	f, ok := c.cfg.Registry.Function(r.PathValue("name"))
	if !ok {
		c.render(w, r, s, "notfound.html", "", http.StatusNotFound, nil)
		return
	}
	d := detailData{F: f, Latest: &f.Latest, ARN: c.cfg.Registry.ARN(f.Name, ""), Recursion: f.RecursiveLoop, Reserved: "none (unreserved account concurrency)"}
	if d.Recursion == "" {
		d.Recursion = "Terminate"
	}
	if f.ReservedConcurrency != nil {
		d.Reserved = strconv.Itoa(*f.ReservedConcurrency)
	}
	d.EnvKeys = slices.Sorted(maps.Keys(f.Latest.Environment))
	d.TagKeys = slices.Sorted(maps.Keys(f.Tags))
	for _, name := range slices.Sorted(maps.Keys(f.Aliases)) {
		a := f.Aliases[name]
		av := aliasView{Name: a.Name, Version: a.FunctionVersion, Description: a.Description}
		rest := 1.0
		for _, v := range slices.Sorted(maps.Keys(a.Weights)) {
			rest -= a.Weights[v]
			av.Routes = append(av.Routes, route{Version: v, Percent: percent(a.Weights[v])})
		}
		av.Routes = append([]route{{Version: a.FunctionVersion, Percent: percent(rest)}}, av.Routes...)
		d.Aliases = append(d.Aliases, av)
	}
	for _, q := range slices.Sorted(maps.Keys(f.URLConfigs)) {
		u := f.URLConfigs[q]
		url := u.ID
		if c.cfg.FunctionURL != nil {
			url = c.cfg.FunctionURL(u.ID)
		}
		d.URLs = append(d.URLs, urlView{Qualifier: q, URL: url, AuthType: u.AuthType, Mode: u.Mode()})
	}
	for _, q := range slices.Sorted(maps.Keys(f.EventInvokeConfigs)) {
		e := f.EventInvokeConfigs[q]
		d.EventConfigs = append(d.EventConfigs, eventConfigView{
			Qualifier: q, Retries: e.Retries(), MaxAge: int(e.MaxAge() / time.Second), OnSuccess: e.OnSuccess, OnFailure: e.OnFailure,
		})
	}
	c.render(w, r, s, "function.html", "", http.StatusOK, d)
}

// percent renders a routing weight (0..1) as a percentage.
func percent(w float64) string {
	return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(w*100, 'f', 2, 64), "0"), ".") + "%"
}

// envValue reveals one environment value of $LATEST (?hide=1 masks it
// again): an htmx fragment.
func (c *Console) envValue(w http.ResponseWriter, r *http.Request, s *Session) {
	f, ok := c.cfg.Registry.Function(r.PathValue("name"))
	key := r.PathValue("key")
	v, found := "", false
	if ok {
		v, found = f.Latest.Environment[key]
	}
	if !found {
		http.Error(w, "no such variable", http.StatusNotFound)
		return
	}
	d := map[string]any{"Name": f.Name, "Key": key, "Value": v, "Shown": r.URL.Query().Get("hide") == ""}
	c.render(w, r, s, "function.html", "envvalue", http.StatusOK, d)
}
