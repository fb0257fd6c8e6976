package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambada-dev/lambada/internal/cwlogs"
	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/logstore"
)

// Bounds of the Logs page.
const (
	// tailBack is how far back a new live tail starts.
	tailBack = 5 * time.Minute
	// requestBack is how far back a jump to a request id looks.
	requestBack = time.Hour
	// requestLines bounds the lines a jump returns.
	requestLines = 5000
	// heartbeatIdle is how many idle follow rounds (a second each) pass
	// between the keep-alive comments of a quiet tail.
	heartbeatIdle = 15
)

// mountLogs serves the Logs page (docs/console.md §5).
func mountLogs(c *Console, m pageMux) {
	m.Handle("GET "+Prefix+"logs", c.logsPage)
	m.Handle("GET "+Prefix+"api/logs/tail", c.logsTail)
	m.Handle("GET "+Prefix+"api/logs/request", c.logsRequest)
}

type logsData struct {
	Available bool
	Function  string
	Functions []string
	Group     string
	Filter    string
	Request   string
	Error     string
	Since     int64 // ms: where the tail starts
}

// logsPage is the live tail's page: the function, the filter pattern and
// the request id to jump to are a plain GET form; the page's script opens
// the tail (server-sent events from api/logs/tail) and renders it.
func (c *Console) logsPage(w http.ResponseWriter, r *http.Request, s *Session) {
	q := r.URL.Query()
	d := logsData{Available: c.cfg.Live.Logs != nil, Function: q.Get("function"), Filter: q.Get("filter"), Request: strings.TrimSpace(q.Get("request"))}
	for _, f := range c.cfg.Registry.Functions() {
		d.Functions = append(d.Functions, f.Name)
	}
	slices.Sort(d.Functions)
	if d.Function == "" && len(d.Functions) > 0 {
		d.Function = d.Functions[0]
	}
	status := http.StatusOK
	if d.Function != "" {
		if f, ok := c.cfg.Registry.Function(d.Function); ok {
			d.Group = f.Latest.LogGroupName()
		} else {
			d.Error, status = "Function not found: "+d.Function, http.StatusNotFound
		}
	}
	if _, err := cwlogs.Matcher(d.Filter); err != nil {
		d.Error, status = errorText(err), http.StatusBadRequest
	}
	d.Since = c.cfg.Now().Add(-tailBack).UnixMilli()
	c.render(w, r, s, "logs.html", "", status, d)
}

// tailTarget reads the function and filter of a tail or jump request.
func (c *Console) tailTarget(r *http.Request) (group string, match func(string) bool, status int, err error) {
	if c.cfg.Live.Logs == nil {
		return "", nil, http.StatusServiceUnavailable, errors.New("This server keeps no function logs (--log-retention 0).")
	}
	name := r.URL.Query().Get("function")
	f, ok := c.cfg.Registry.Function(name)
	if !ok {
		return "", nil, http.StatusNotFound, errors.New("Function not found: " + name)
	}
	match, err = cwlogs.Matcher(r.URL.Query().Get("filter"))
	if err != nil {
		return "", nil, http.StatusBadRequest, errors.New(errorText(err))
	}
	return f.Latest.LogGroupName(), match, http.StatusOK, nil
}

// logLine is one line of the tail: [timestamp ms, log stream, message].
type logLine [3]any

func line(e logstore.Event) logLine {
	return logLine{e.Timestamp, e.Stream, strings.TrimSuffix(e.Message, "\n")}
}

// logsTail streams the function's log events as server-sent events: one
// event per stored batch (the lines that match the filter, as
// {"lines":[[ms, stream, message], …]}), its id the batch's last position,
// so a reconnecting EventSource (Last-Event-ID) resumes after it. It
// starts at ?since= (ms) or from now, and runs until the visitor leaves or
// the server stops.
func (c *Console) logsTail(w http.ResponseWriter, r *http.Request, s *Session) {
	group, match, status, err := c.tailTarget(r)
	if err != nil {
		writeJSON(w, status, map[string]string{"message": err.Error()})
		return
	}
	var from logstore.From
	if p, ok := logstore.ParsePos(r.Header.Get("Last-Event-ID")); ok {
		from.After = p
	} else if ms, err := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64); err == nil && ms > 0 {
		from.Since = time.UnixMilli(ms)
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(c.streams(), cancel)()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	send := func(b []byte) error {
		// Each write gets the answer's write deadline afresh.
		c.cfg.Door.Answer(w, false, true)
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send([]byte("retry: 2000\n: tail of " + strings.ReplaceAll(group, "\n", " ") + "\n\n")); err != nil {
		return
	}
	idle := 0
	var buf bytes.Buffer
	err = c.cfg.Live.Logs.Follow(ctx, group, from, func(evs []logstore.Event) error {
		if len(evs) == 0 {
			if idle++; idle%heartbeatIdle == 0 {
				return send([]byte(": alive\n\n"))
			}
			return nil
		}
		idle = 0
		lines := make([]logLine, 0, len(evs))
		for _, e := range evs {
			if match(e.Message) {
				lines = append(lines, line(e))
			}
		}
		buf.Reset()
		buf.WriteString("id: ")
		buf.WriteString(evs[len(evs)-1].Pos.String())
		buf.WriteString("\ndata: ")
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(map[string]any{"lines": lines}); err != nil {
			return err
		}
		buf.WriteString("\n")
		return send(buf.Bytes())
	})
	if err != nil && ctx.Err() == nil {
		c.log.Warn("console: log tail ended", logkey.LogGroup, group, logkey.Err, err)
	}
}

// logsRequest finds one request's lines: the log stream with its START
// line in the last hour, from there to its REPORT line.
func (c *Console) logsRequest(w http.ResponseWriter, r *http.Request, s *Session) {
	group, _, status, err := c.tailTarget(r)
	if err != nil {
		writeJSON(w, status, map[string]string{"message": err.Error()})
		return
	}
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	if id == "" || strings.ContainsAny(id, " \t\n") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "A request id is one word."})
		return
	}
	start, report := "START RequestId: "+id+" ", "REPORT RequestId: "+id+"\t"
	var lines []logLine
	stream, done := "", false
	err = c.cfg.Live.Logs.Scan(r.Context(), logstore.Query{Group: group, Start: c.cfg.Now().Add(-requestBack).UnixMilli()}, func(e logstore.Event) bool {
		if stream == "" {
			if !strings.HasPrefix(e.Message, start) {
				return true
			}
			stream = e.Stream
		}
		if e.Stream != stream {
			return true
		}
		lines = append(lines, line(e))
		done = strings.HasPrefix(e.Message, report)
		return !done && len(lines) < requestLines
	})
	switch {
	case errors.Is(err, logstore.ErrNoGroup):
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "The function has no logs yet."})
	case err != nil:
		c.fail(w, r, err)
	case stream == "":
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "No request " + id + " started in the last hour."})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"requestId": id, "stream": stream, "complete": done, "lines": lines})
	}
}
