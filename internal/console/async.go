package console

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambada-dev/lambada/internal/async"
	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/store"
)

// Bounds of the Async page's record list.
const (
	recordsShown   = 50   // newest records of a destination shown
	recordsScanned = 5000 // records read to find them
	recordBytes    = 256 << 10
)

// mountAsync serves the Async page (docs/console.md §7).
func mountAsync(c *Console, m pageMux) {
	m.Handle("GET "+Prefix+"async", c.asyncPage)
	m.Handle("POST "+Prefix+"async/redrive", c.redrive)
	m.Handle("GET "+Prefix+"api/async", func(w http.ResponseWriter, r *http.Request, s *Session) {
		d := asyncData{}
		c.asyncQueue(r, &d)
		writeJSON(w, http.StatusOK, map[string]any{"depth": d.Depth, "oldestAgeSeconds": d.Oldest.Seconds(), "functions": d.Queue, "error": d.QueueError})
	})
}

// queueRow is one function's line of the queue table.
type queueRow struct {
	Function  string        `json:"function"`
	Queued    uint64        `json:"queued"`
	OldestAge time.Duration `json:"-"`
	InFlight  int           `json:"inFlight"`
	// OldestSeconds is OldestAge for the JSON API.
	OldestSeconds float64 `json:"oldestAgeSeconds"`
}

// destination is a target some function's async settings name.
type destination struct {
	ARN      string
	Uses     []string // "fn ($LATEST) on failure", "fn dead-letter"
	Lambda   bool     // records go to a function as events: nothing to read here
	Selected bool
}

// storedRecord is one record of the selected destination.
type storedRecord struct {
	Seq                  uint64
	Stored               time.Time
	RequestID, Condition string
	Kind                 string // "invocation record" or "dead-letter message"
	Message              string // a dead-letter message's ErrorMessage
	Body                 string // pretty JSON when it is JSON
	Truncated            bool
	Failed               bool // can be redriven
	Headers              map[string]string
}

type asyncData struct {
	Available    bool
	Depth        uint64
	Oldest       time.Duration
	Queue        []queueRow
	QueueError   string
	Destinations []destination
	Selected     string
	Records      []storedRecord
	Scanned      int
	RecordsError string
	Redriven     string // request id of the event just queued again
	Error        string
}

// asyncPage shows the queue (depth, oldest event, per function queued
// and in-flight attempts), the destinations and dead-letter targets the
// functions name, and the newest records of the one selected with their
// full bodies and a redrive button for failed events.
func (c *Console) asyncPage(w http.ResponseWriter, r *http.Request, s *Session) {
	c.renderAsync(w, r, s, http.StatusOK, r.URL.Query().Get("destination"), r.URL.Query().Get("redriven"), "")
}

func (c *Console) renderAsync(w http.ResponseWriter, r *http.Request, s *Session, status int, selected, redriven, errMsg string) {
	d := asyncData{Available: c.cfg.Async != nil, Selected: selected, Redriven: redriven, Error: errMsg}
	if !d.Available {
		c.render(w, r, s, "async.html", "", status, d)
		return
	}
	c.asyncQueue(r, &d)
	if r.Header.Get("HX-Request") != "" && r.Header.Get("HX-Target") == "queue" {
		c.render(w, r, s, "async.html", "queue", status, d)
		return
	}
	d.Destinations = c.destinations(selected)
	if selected != "" {
		d.Records, d.Scanned, d.RecordsError = c.records(r, selected)
	}
	c.render(w, r, s, "async.html", "", status, d)
}

func (c *Console) asyncQueue(r *http.Request, d *asyncData) {
	a := c.cfg.Async
	if a == nil {
		return
	}
	n, oldest, err := a.Depth(r.Context())
	if err != nil {
		d.QueueError = "The queue does not answer: " + err.Error()
		return
	}
	d.Depth, d.Oldest = n, oldest.Round(time.Second)
	depths, err := a.Depths(r.Context())
	if err != nil {
		d.QueueError = "The queue does not answer: " + err.Error()
	}
	rows := map[string]*queueRow{}
	for fn, fd := range depths {
		age := fd.OldestAge.Round(time.Second)
		rows[fn] = &queueRow{Function: fn, Queued: fd.Queued, OldestAge: age, OldestSeconds: age.Seconds()}
	}
	for fn, n := range a.InFlight() {
		if rows[fn] == nil {
			rows[fn] = &queueRow{Function: fn}
		}
		rows[fn].InFlight = n
	}
	for _, row := range rows {
		d.Queue = append(d.Queue, *row)
	}
	slices.SortFunc(d.Queue, func(a, b queueRow) int { return cmp.Compare(a.Function, b.Function) })
}

// destinations lists every target the functions' async settings name:
// OnSuccess and OnFailure of each qualifier, the dead-letter target of
// $LATEST and of each version.
func (c *Console) destinations(selected string) []destination {
	byARN := map[string]*destination{}
	add := func(arn, use string) {
		if arn == "" {
			return
		}
		d := byARN[arn]
		if d == nil {
			d = &destination{ARN: arn, Lambda: strings.Contains(arn, ":lambda:"), Selected: arn == selected}
			byARN[arn] = d
		}
		if !slices.Contains(d.Uses, use) {
			d.Uses = append(d.Uses, use)
		}
	}
	for _, f := range c.cfg.Registry.Functions() {
		for _, q := range slices.Sorted(mapsKeys(f.EventInvokeConfigs)) {
			ec := f.EventInvokeConfigs[q]
			add(ec.OnFailure, f.Name+" ("+q+") on failure")
			add(ec.OnSuccess, f.Name+" ("+q+") on success")
		}
		add(f.Latest.DeadLetterTarget, f.Name+" ("+function.Latest+") dead-letter")
		for _, v := range f.Versions {
			add(v.DeadLetterTarget, f.Name+" ("+v.Version+") dead-letter")
		}
	}
	if selected != "" && byARN[selected] == nil {
		byARN[selected] = &destination{ARN: selected, Uses: []string{"no function names it now"}, Lambda: strings.Contains(selected, ":lambda:"), Selected: true}
	}
	out := make([]destination, 0, len(byARN))
	for _, d := range byARN {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b destination) int { return cmp.Compare(a.ARN, b.ARN) })
	return out
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// records reads destination's records and keeps the newest recordsShown,
// newest first.
func (c *Console) records(r *http.Request, destination string) ([]storedRecord, int, string) {
	if strings.Contains(destination, ":lambda:") {
		return nil, 0, ""
	}
	var keep []store.StoredMessage
	var after uint64
	scanned := 0
	for scanned < recordsScanned {
		msgs, err := c.cfg.Async.Records(r.Context(), destination, after, 100)
		if err != nil {
			return nil, scanned, errorText(err)
		}
		if len(msgs) == 0 {
			break
		}
		scanned += len(msgs)
		keep = append(keep, msgs...)
		if len(keep) > recordsShown {
			keep = append(keep[:0], keep[len(keep)-recordsShown:]...)
		}
		after = msgs[len(msgs)-1].Seq
	}
	out := make([]storedRecord, 0, len(keep))
	for i := len(keep) - 1; i >= 0; i-- {
		out = append(out, describeRecord(keep[i]))
	}
	return out, scanned, ""
}

func describeRecord(m store.StoredMessage) storedRecord {
	rec := storedRecord{Seq: m.Seq, Stored: m.Stored, Headers: m.Header}
	h := func(k string) string {
		for hk, v := range m.Header {
			if strings.EqualFold(hk, k) {
				return v
			}
		}
		return ""
	}
	if cond := h("Lambada-Condition"); cond != "" {
		rec.Kind, rec.Condition, rec.RequestID = "invocation record", cond, h("Lambada-Request-Id")
		rec.Failed = cond != async.CondSuccess
	} else {
		rec.Kind, rec.RequestID, rec.Message = "dead-letter message", h("RequestID"), h("ErrorMessage")
		rec.Condition = "ErrorCode " + h("ErrorCode")
		rec.Failed = h(async.SourceHeader) != ""
	}
	body := m.Data
	if len(body) > recordBytes {
		body, rec.Truncated = body[:recordBytes], true
	}
	var buf bytes.Buffer
	if !rec.Truncated && json.Indent(&buf, body, "", "  ") == nil {
		rec.Body = buf.String()
	} else {
		rec.Body = string(body)
	}
	return rec
}

// redrive queues a failed event again (docs/behaviour/async.md §8) and
// shows the destination with the new request id.
func (c *Console) redrive(w http.ResponseWriter, r *http.Request, s *Session) {
	dest := r.PostForm.Get("destination")
	if c.cfg.Async == nil {
		c.renderAsync(w, r, s, http.StatusServiceUnavailable, dest, "", "This server has no async service.")
		return
	}
	seq, err := strconv.ParseUint(r.PostForm.Get("seq"), 10, 64)
	if err != nil {
		c.renderAsync(w, r, s, http.StatusBadRequest, dest, "", "The record sequence must be a positive integer.")
		return
	}
	id, err := c.cfg.Async.Redrive(r.Context(), dest, seq)
	if err != nil {
		status := http.StatusInternalServerError
		var ae *awserr.Error
		if errors.As(err, &ae) {
			status = ae.Status
		}
		c.renderAsync(w, r, s, status, dest, "", "Redrive refused: "+errorText(err))
		return
	}
	c.log.Info("console: event redriven", logkey.Destination, dest, logkey.Sequence, seq, logkey.RequestID, id)
	http.Redirect(w, r, Prefix+"async?"+url.Values{"destination": {dest}, "redriven": {id}}.Encode(), http.StatusSeeOther)
}

// errorText is an error's message for a page: an AWS error's own message.
func errorText(err error) string {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}
