package console

import "net/http"

// mountLogs serves the Logs page (docs/console.md §3).
func mountLogs(c *Console, m pageMux) {
	m.Handle("GET "+Prefix+"logs", func(w http.ResponseWriter, r *http.Request, s *Session) {
		c.render(w, r, s, "pending.html", "", http.StatusOK, "Logs")
	})
}
