package console

import (
	"maps"
	"net/http"
	"slices"
)

func mountSettings(c *Console, m pageMux) {
	m.Handle("GET "+Prefix+"settings", c.settingsPage)
}

// protection is one line of the isolation report.
type protection struct {
	Name, Why string
	Active    bool
}

type settingsData struct {
	Status      Status
	Protections []protection
	Runtimes    []string
}

// settingsPage shows the isolation report, the runtimes found and the
// versions (docs/console.md §3).
func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request, s *Session) {
	var d settingsData
	if c.cfg.Status != nil {
		d.Status = c.cfg.Status()
	}
	for _, name := range slices.Sorted(maps.Keys(d.Status.Isolation.Active)) {
		d.Protections = append(d.Protections, protection{Name: name, Active: d.Status.Isolation.Active[name], Why: d.Status.Isolation.Missing[name]})
	}
	d.Runtimes = slices.Sorted(maps.Keys(d.Status.Runtimes))
	c.render(w, r, s, "settings.html", "", http.StatusOK, d)
}
