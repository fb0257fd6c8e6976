package console

import "net/http"

// mountAsync serves the Async page (docs/console.md §3).
func mountAsync(c *Console, m pageMux) {
	m.Handle("GET "+Prefix+"async", func(w http.ResponseWriter, r *http.Request, s *Session) {
		c.render(w, r, s, "pending.html", "", http.StatusOK, "Async")
	})
}
