package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/invoke"
	"github.com/lambada-dev/lambada/internal/store"
)

// Saved test events (docs/console.md §3): at most maxSavedEvents per
// function, each at most maxSavedEventBytes, named like eventName.
const (
	maxSavedEvents     = 10
	maxSavedEventBytes = 64 << 10
)

var eventName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,25}$`)

func mountInvoke(c *Console, m pageMux) {
	m.Handle("GET "+Prefix+"functions/{name}/test", c.testPage)
	m.Handle("POST "+Prefix+"functions/{name}/test", c.runTest)
	m.Handle("GET "+Prefix+"functions/{name}/events", c.loadEvent)
	m.Handle("POST "+Prefix+"functions/{name}/events", c.saveEvent)
	m.Handle("POST "+Prefix+"functions/{name}/events/delete", c.deleteEvent)
	m.Handle("POST "+Prefix+"api/functions/{name}/stream", c.streamTest)
}

type testData struct {
	F          *function.Function
	Qualifiers []string
	Saved      []string
	Selected   string
	Payload    string
	Message    string
	Result     *testResult
}

// testResult is one test invocation as the page shows it.
type testResult struct {
	Status                      int
	Type, RequestID, Version    string
	FunctionError, ErrorType    string
	Payload, Log                string
	Error                       string // a refusal (throttle, bad payload …)
	Duration, Billed, MaxMemory string
	MemorySize, RoundTrip       string
}

// testPage shows the test form for a function.
func (c *Console) testPage(w http.ResponseWriter, r *http.Request, s *Session) {
	f, ok := c.cfg.Registry.Function(r.PathValue("name"))
	if !ok {
		c.render(w, r, s, "notfound.html", "", http.StatusNotFound, nil)
		return
	}
	d := testData{F: f, Qualifiers: qualifiers(f), Payload: "{}"}
	saved, _, err := c.events(r.Context(), f.Name)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.Saved = slices.Sorted(maps.Keys(saved))
	if sel := r.URL.Query().Get("event"); saved[sel] != "" {
		d.Selected, d.Payload = sel, saved[sel]
	}
	c.render(w, r, s, "test.html", "", http.StatusOK, d)
}

// qualifiers are what a test may address: $LATEST, the versions, the
// aliases.
func qualifiers(f *function.Function) []string {
	q := []string{function.Latest}
	for _, v := range f.Versions {
		q = append(q, v.Version)
	}
	return append(q, slices.Sorted(maps.Keys(f.Aliases))...)
}

// runTest invokes the function with the form's payload, type and
// qualifier through the invoke service (Event through the async queue),
// asking for the log tail; it answers the result fragment.
func (c *Console) runTest(w http.ResponseWriter, r *http.Request, s *Session) {
	form, err := c.form(w, r)
	if err != nil {
		http.Error(w, err.Error(), bodyStatus(err))
		return
	}
	name := r.PathValue("name")
	in := &invoke.Request{
		FunctionName: name, Qualifier: qualifierParam(form.Get("qualifier")), InvocationType: form.Get("type"),
		Payload: []byte(form.Get("payload")), RequestID: uuid.NewString(), LogType: invoke.LogTail,
	}
	if in.InvocationType == "" {
		in.InvocationType = invoke.RequestResponse
	}
	res := &testResult{Type: in.InvocationType, RequestID: in.RequestID}
	start := time.Now()
	if in.InvocationType == invoke.Event {
		in.LogType = ""
		if err := c.cfg.Async.Accept(r.Context(), in); err != nil {
			res.refused(err)
		} else {
			res.Status = http.StatusAccepted
		}
	} else if out, err := c.cfg.Invoker.Invoke(r.Context(), in); err != nil {
		res.refused(err)
	} else {
		res.fill(out)
	}
	res.RoundTrip = ms(time.Since(start))
	c.render(w, r, s, "test.html", "result", http.StatusOK, res)
}

// qualifierParam: $LATEST is the unqualified call.
func qualifierParam(q string) string {
	if q == function.Latest {
		return ""
	}
	return q
}

func (res *testResult) refused(err error) {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		res.Status, res.Error = ae.Status, ae.Code+": "+ae.Message
		return
	}
	res.Status, res.Error = http.StatusInternalServerError, "internal error"
}

// reportLine is the REPORT line of an invocation's log.
var reportLine = regexp.MustCompile(`Duration: ([0-9.]+) ms\tBilled Duration: ([0-9]+) ms\tMemory Size: ([0-9]+) MB\tMax Memory Used: ([0-9]+) MB`)

func (res *testResult) fill(out *invoke.Result) {
	res.Status, res.Version, res.FunctionError, res.ErrorType = out.Status, out.ExecutedVersion, out.FunctionError, out.ErrorType
	res.Payload = pretty(out.Payload)
	if out.LogResult != "" {
		b, _ := base64.StdEncoding.DecodeString(out.LogResult)
		res.Log = string(b)
		if m := reportLine.FindStringSubmatch(res.Log); m != nil {
			res.Duration, res.Billed, res.MemorySize, res.MaxMemory = m[1]+" ms", m[2]+" ms", m[3]+" MB", m[4]+" MB"
		}
	}
}

// pretty indents a JSON payload; anything else is shown as it is.
func pretty(b []byte) string {
	var buf bytes.Buffer
	if json.Valid(b) && json.Indent(&buf, b, "", "  ") == nil {
		return buf.String()
	}
	if !utf8.Valid(b) {
		return fmt.Sprintf("(%d bytes, not UTF-8) %s", len(b), base64.StdEncoding.EncodeToString(b))
	}
	return string(b)
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

// form is the request's form: read by the CSRF check already, or now.
func (c *Console) form(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.PostForm != nil {
		return r.PostForm, nil
	}
	return c.readForm(w, r, maxFormBody, true)
}

// eventsKey is the KV key of a function's saved test events.
func eventsKey(fn string) string { return "events/" + fn }

// events reads a function's saved test events (name → payload) and the
// revision of their document (0 when there is none).
func (c *Console) events(ctx context.Context, fn string) (map[string]string, uint64, error) {
	e, err := c.cfg.Events.Get(ctx, eventsKey(fn))
	if errors.Is(err, store.ErrNotFound) {
		return map[string]string{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	m := map[string]string{}
	if err := json.Unmarshal(e.Value, &m); err != nil {
		return nil, 0, fmt.Errorf("saved events of %s: %w", fn, err)
	}
	return m, e.Revision, nil
}

// changeEvents applies fn to a function's saved events with a
// compare-and-set, again on a conflict.
func (c *Console) changeEvents(ctx context.Context, name string, fn func(m map[string]string) error) (map[string]string, error) {
	for range 5 {
		m, rev, err := c.events(ctx, name)
		if err != nil {
			return nil, err
		}
		if err := fn(m); err != nil {
			return nil, err
		}
		b, _ := json.Marshal(m)
		if rev == 0 {
			_, err = c.cfg.Events.Create(ctx, eventsKey(name), b)
		} else {
			_, err = c.cfg.Events.Update(ctx, eventsKey(name), b, rev)
		}
		if errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict) {
			continue
		}
		return m, err
	}
	return nil, errors.New("the saved events kept changing; try again")
}

// errEvent is a refusal the visitor can act on.
type errEvent string

func (e errEvent) Error() string { return string(e) }

// saveEvent stores the form's payload under the form's event name.
func (c *Console) saveEvent(w http.ResponseWriter, r *http.Request, s *Session) {
	form, err := c.form(w, r)
	if err != nil {
		http.Error(w, err.Error(), bodyStatus(err))
		return
	}
	name, ev, payload := r.PathValue("name"), form.Get("event"), form.Get("payload")
	f, ok := c.cfg.Registry.Function(name)
	if !ok {
		http.Error(w, "no such function", http.StatusNotFound)
		return
	}
	saved, err := c.changeEvents(r.Context(), f.Name, func(m map[string]string) error {
		switch _, exists := m[ev]; {
		case !eventName.MatchString(ev):
			return errEvent("An event name is 1 to 25 letters, digits, '.', '-' or '_'.")
		case len(payload) > maxSavedEventBytes:
			return errEvent(fmt.Sprintf("A saved event is at most %d KiB.", maxSavedEventBytes>>10))
		case !json.Valid([]byte(payload)):
			return errEvent("The event is not valid JSON.")
		case !exists && len(m) >= maxSavedEvents:
			return errEvent(fmt.Sprintf("A function keeps at most %d saved events; delete one first.", maxSavedEvents))
		}
		m[ev] = payload
		return nil
	})
	c.savedAnswer(w, r, s, f, saved, ev, err, "Saved "+ev+".")
}

// deleteEvent removes the saved event named by the form.
func (c *Console) deleteEvent(w http.ResponseWriter, r *http.Request, s *Session) {
	form, err := c.form(w, r)
	if err != nil {
		http.Error(w, err.Error(), bodyStatus(err))
		return
	}
	f, ok := c.cfg.Registry.Function(r.PathValue("name"))
	if !ok {
		http.Error(w, "no such function", http.StatusNotFound)
		return
	}
	ev := form.Get("saved")
	saved, err := c.changeEvents(r.Context(), f.Name, func(m map[string]string) error {
		if _, ok := m[ev]; !ok {
			return errEvent("No saved event " + ev + ".")
		}
		delete(m, ev)
		return nil
	})
	c.savedAnswer(w, r, s, f, saved, "", err, "Deleted "+ev+".")
}

// savedAnswer renders the saved-events fragment after a change.
func (c *Console) savedAnswer(w http.ResponseWriter, r *http.Request, s *Session, f *function.Function, saved map[string]string, sel string, err error, ok string) {
	d := testData{F: f, Selected: sel, Message: ok}
	var ee errEvent
	switch {
	case errors.As(err, &ee):
		d.Message = ee.Error()
		saved, _, err = c.events(r.Context(), f.Name)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.Saved = slices.Sorted(maps.Keys(saved))
	c.render(w, r, s, "test.html", "saved", http.StatusOK, d)
}

// loadEvent answers the payload editor holding the saved event ?saved=.
func (c *Console) loadEvent(w http.ResponseWriter, r *http.Request, s *Session) {
	saved, _, err := c.events(r.Context(), r.PathValue("name"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p, ok := saved[r.URL.Query().Get("saved")]
	if !ok {
		p = "{}"
	}
	c.render(w, r, s, "test.html", "payload", http.StatusOK, testData{Payload: p})
}

// sseSink relays a streamed response to the page as server-sent events,
// until the handler that owns the ResponseWriter returns.
type sseSink struct {
	mu     sync.Mutex
	w      http.ResponseWriter
	rc     *http.ResponseController
	closed bool
	chunks int
}

func (s *sseSink) event(name string, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("the console request has finished")
	}
	b, _ := json.Marshal(v)
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, b); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *sseSink) Start(version, contentType string) {
	_ = s.event("start", map[string]string{"version": version, "contentType": contentType})
}

func (s *sseSink) Write(chunk []byte) error {
	s.mu.Lock()
	s.chunks++
	s.mu.Unlock()
	text := string(chunk)
	if !utf8.Valid(chunk) {
		text = "(binary) " + base64.StdEncoding.EncodeToString(chunk)
	}
	return s.event("chunk", text)
}

func (s *sseSink) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// streamTest runs an InvokeWithResponseStream call and relays it as
// server-sent events: start, each chunk as it arrives, then end with the
// result (docs/console.md §3).
func (c *Console) streamTest(w http.ResponseWriter, r *http.Request, s *Session) {
	form, err := c.form(w, r)
	if err != nil {
		writeJSON(w, bodyStatus(err), map[string]string{"message": err.Error()})
		return
	}
	in := &invoke.Request{
		FunctionName: r.PathValue("name"), Qualifier: qualifierParam(form.Get("qualifier")),
		InvocationType: invoke.RequestResponse, LogType: invoke.LogTail,
		Payload: []byte(form.Get("payload")), RequestID: uuid.NewString(),
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	sink := &sseSink{w: w, rc: http.NewResponseController(w)}
	defer sink.close()
	start := time.Now()
	res := &testResult{Type: "RequestResponse (stream)", RequestID: in.RequestID}
	if out, err := c.cfg.Invoker.InvokeStream(r.Context(), in, sink); err != nil {
		res.refused(err)
	} else {
		res.fill(out)
	}
	res.RoundTrip = ms(time.Since(start))
	_ = sink.event("end", res)
}
