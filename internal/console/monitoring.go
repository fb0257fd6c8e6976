package console

import "net/http"

// mountMonitoring serves the Monitoring page (docs/console.md §3).
func mountMonitoring(c *Console, m pageMux) {
	m.Handle("GET "+Prefix+"monitoring", func(w http.ResponseWriter, r *http.Request, s *Session) {
		c.render(w, r, s, "pending.html", "", http.StatusOK, "Monitoring")
	})
}
