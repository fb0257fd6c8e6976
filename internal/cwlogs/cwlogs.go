// Package cwlogs is the CloudWatch Logs API subset lambada serves on its
// port (AWS JSON 1.1, X-Amz-Target Logs_20140328.*): reading the function
// logs the log store keeps, and managing their groups
// (docs/behaviour/logs.md §4).
package cwlogs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/logstore"
)

// TargetPrefix starts the X-Amz-Target of every operation.
const TargetPrefix = "Logs_20140328."

// Service answers the operations from a log store.
type Service struct {
	store           *logstore.Store // nil: no log store (every group is missing)
	region, account string
}

// New builds the service.
func New(store *logstore.Store, region, account string) *Service {
	return &Service{store: store, region: region, account: account}
}

// Errors (docs/behaviour/logs.md §4.6): every client error is a 400.
func invalidParameter(msg string) error {
	return awserr.Logs(awserr.LogsInvalidParameter, msg)
}

var (
	errNoGroup     = awserr.Logs(awserr.ResourceNotFound, "The specified log group does not exist.")
	errNoStream    = awserr.Logs(awserr.ResourceNotFound, "The specified log stream does not exist.")
	errBadToken    = awserr.Logs(awserr.LogsInvalidParameter, "The specified nextToken is invalid.")
	errGroupExists = awserr.Logs(awserr.LogsResourceAlreadyExists, "The specified log group already exists")
)

// Do runs operation op (the X-Amz-Target after TargetPrefix) on body.
func (s *Service) Do(ctx context.Context, op string, body []byte) (any, error) {
	var f func(context.Context, []byte) (any, error)
	switch op {
	case "FilterLogEvents":
		f = s.filterLogEvents
	case "GetLogEvents":
		f = s.getLogEvents
	case "DescribeLogGroups":
		f = s.describeLogGroups
	case "DescribeLogStreams":
		f = s.describeLogStreams
	case "CreateLogGroup":
		f = s.createLogGroup
	case "DeleteLogGroup":
		f = s.deleteLogGroup
	case "PutRetentionPolicy":
		f = s.putRetentionPolicy
	case "DeleteRetentionPolicy":
		f = s.deleteRetentionPolicy
	default:
		return nil, awserr.Logs(awserr.UnknownOperation, "")
	}
	return f(ctx, body)
}

func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		return awserr.Logs(awserr.LogsSerialization, "")
	}
	return nil
}

var groupName = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)

// group resolves logGroupName / logGroupIdentifier (a name or an ARN).
func (s *Service) group(name, ident *string) (string, error) {
	switch {
	case name != nil && ident != nil:
		return "", awserr.Logs(awserr.LogsInvalidParameter, "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name == nil && ident == nil:
		return "", invalidParameter("Should provide either logGroupName or logGroupIdentifier.")
	}
	g := ""
	if name != nil {
		g = *name
	} else {
		g = *ident
		if rest, ok := strings.CutPrefix(g, "arn:aws:logs:"); ok {
			_, after, found := strings.Cut(rest, ":log-group:")
			if !found {
				return "", invalidParameter("Invalid logGroupIdentifier: " + g)
			}
			g = strings.TrimSuffix(after, ":*")
		}
	}
	if len(g) > 512 {
		return "", invalidParameter("Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
	}
	if !groupName.MatchString(g) {
		return "", invalidParameter(fmt.Sprintf("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", g))
	}
	return g, nil
}

// limit checks a limit member against 1..max; def when absent.
func limit(v *int, max, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < 1 {
		return 0, invalidParameter(fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *v))
	}
	if *v > max {
		return 0, invalidParameter(fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to %d", *v, max))
	}
	return *v, nil
}

func (s *Service) storeErr(err error) error {
	if errors.Is(err, logstore.ErrNoGroup) {
		return errNoGroup
	}
	return awserr.Internal(err)
}

// maxPageBytes bounds one page of events, as AWS's 1 MB.
const maxPageBytes = 1 << 20

type filterInput struct {
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       *string  `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int     `json:"limit"`
}

type filteredEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

// token is FilterLogEvents' nextToken: where the page ended and which
// query it belongs to.
type token struct {
	Pos   string `json:"p"`
	Query string `json:"q"`
}

func queryHash(parts ...any) string {
	b, _ := json.Marshal(parts)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

func (s *Service) filterLogEvents(ctx context.Context, body []byte) (any, error) {
	var in filterInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	g, err := s.group(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != nil {
		return nil, invalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	if len(in.LogStreamNames) > 100 {
		return nil, invalidParameter("1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	n, err := limit(in.Limit, 10000, 10000)
	if err != nil {
		return nil, err
	}
	pattern := ""
	if in.FilterPattern != nil {
		pattern = *in.FilterPattern
	}
	if len(pattern) > 1024 {
		return nil, invalidParameter("1 validation error detected: Value at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to 1024")
	}
	match, err := compile(pattern)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if in.LogStreamNamePrefix != nil {
		prefix = *in.LogStreamNamePrefix
	}
	q := logstore.Query{Group: g, Streams: in.LogStreamNames}
	if in.StartTime != nil {
		q.Start = max(*in.StartTime, 1)
	}
	if in.EndTime != nil {
		q.End = max(*in.EndTime, 1)
	}
	qh := queryHash(g, in.LogStreamNames, prefix, q.Start, q.End, pattern)
	if in.NextToken != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		var t token
		if err != nil || json.Unmarshal(raw, &t) != nil || t.Query != qh {
			return nil, errBadToken
		}
		p, ok := logstore.ParsePos(t.Pos)
		if !ok {
			return nil, errBadToken
		}
		q.After = p
	}
	if s.store == nil {
		return nil, errNoGroup
	}
	events := []filteredEvent{}
	size := 0
	var last logstore.Pos
	more := false
	err = s.store.Scan(ctx, q, func(e logstore.Event) bool {
		if prefix != "" && !strings.HasPrefix(e.Stream, prefix) || !match(e.Message) {
			return true
		}
		if len(events) == n || size+len(e.Message)+26 > maxPageBytes {
			more = true // a further event exists now: the page ends here
			return false
		}
		events = append(events, filteredEvent{LogStreamName: e.Stream, Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.Ingestion, EventID: e.Pos.ID()})
		size += len(e.Message) + 26
		last = e.Pos
		return true
	})
	if err != nil {
		return nil, s.storeErr(err)
	}
	out := map[string]any{"events": events, "searchedLogStreams": []any{}}
	if more {
		b, _ := json.Marshal(token{Pos: last.String(), Query: qh})
		out["nextToken"] = base64.RawURLEncoding.EncodeToString(b)
	}
	return out, nil
}

type getInput struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
	LogStreamName      *string `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	NextToken          *string `json:"nextToken"`
	Limit              *int    `json:"limit"`
	StartFromHead      *bool   `json:"startFromHead"`
}

type streamEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// GetLogEvents tokens: "f/" or "b/" and a position (docs/behaviour/logs.md §4.2).
func posToken(dir byte, p logstore.Pos) string {
	return string(dir) + "/" + fmt.Sprintf("%020d%06d", p.Seq, p.Idx)
}

func parsePosToken(t string) (byte, logstore.Pos, bool) {
	if len(t) != 28 || t[1] != '/' || (t[0] != 'f' && t[0] != 'b') {
		return 0, logstore.Pos{}, false
	}
	seq, err1 := strconv.ParseUint(t[2:22], 10, 64)
	idx, err2 := strconv.Atoi(t[22:])
	if err1 != nil || err2 != nil {
		return 0, logstore.Pos{}, false
	}
	return t[0], logstore.Pos{Seq: seq, Idx: idx}, true
}

func (s *Service) getLogEvents(ctx context.Context, body []byte) (any, error) {
	var in getInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	g, err := s.group(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if in.LogStreamName == nil || *in.LogStreamName == "" {
		return nil, invalidParameter("1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null")
	}
	n, err := limit(in.Limit, 10000, 10000)
	if err != nil {
		return nil, err
	}
	if s.store == nil {
		return nil, errNoGroup
	}
	streams, err := s.store.Streams(ctx, g)
	if err != nil {
		return nil, s.storeErr(err)
	}
	if !slices.ContainsFunc(streams, func(si logstore.StreamInfo) bool { return si.Name == *in.LogStreamName }) {
		return nil, errNoStream
	}
	q := logstore.Query{Group: g, Streams: []string{*in.LogStreamName}}
	if in.StartTime != nil {
		q.Start = max(*in.StartTime, 1)
	}
	if in.EndTime != nil {
		q.End = *in.EndTime - 1 // exclusive
		if q.End < 1 {
			q.End = 1
		}
	}
	forward := in.StartFromHead != nil && *in.StartFromHead
	var tokPos logstore.Pos
	if in.NextToken != nil {
		dir, p, ok := parsePosToken(*in.NextToken)
		if !ok {
			return nil, errBadToken
		}
		forward, tokPos = dir == 'f', p
		if forward {
			q.After = p
		} else {
			q.Before = p
		}
	}
	type ev struct {
		e   streamEvent
		pos logstore.Pos
	}
	var got []ev
	size := 0
	err = s.store.Scan(ctx, q, func(e logstore.Event) bool {
		got = append(got, ev{streamEvent{e.Timestamp, e.Message, e.Ingestion}, e.Pos})
		size += len(e.Message) + 26
		if forward {
			return len(got) < n && size < maxPageBytes
		}
		for len(got) > n || size > maxPageBytes && len(got) > 1 {
			size -= len(got[0].e.Message) + 26
			got = got[1:]
		}
		return true
	})
	if err != nil {
		return nil, s.storeErr(err)
	}
	events := make([]streamEvent, len(got))
	for i, e := range got {
		events[i] = e.e
	}
	out := map[string]any{"events": events}
	if len(got) == 0 {
		// At the end the token passed in comes back unchanged.
		if in.NextToken != nil {
			if forward {
				out["nextForwardToken"], out["nextBackwardToken"] = *in.NextToken, posToken('b', tokPos)
			} else {
				out["nextForwardToken"], out["nextBackwardToken"] = posToken('f', tokPos), *in.NextToken
			}
		} else {
			out["nextForwardToken"], out["nextBackwardToken"] = posToken('f', logstore.Pos{}), posToken('b', logstore.Pos{})
		}
		return out, nil
	}
	out["nextForwardToken"] = posToken('f', got[len(got)-1].pos)
	out["nextBackwardToken"] = posToken('b', got[0].pos)
	return out, nil
}

// pageToken is the nextToken of the Describe operations: an offset in
// the sorted list and the query it belongs to.
func pageToken(off int, qh string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(off) + ":" + qh))
}

func parsePageToken(t *string, qh string) (int, error) {
	if t == nil {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*t)
	a, b, ok := strings.Cut(string(raw), ":")
	off, err2 := strconv.Atoi(a)
	if err != nil || !ok || b != qh || err2 != nil || off < 0 {
		return 0, errBadToken
	}
	return off, nil
}

type describeGroupsInput struct {
	LogGroupNamePrefix  *string `json:"logGroupNamePrefix"`
	LogGroupNamePattern *string `json:"logGroupNamePattern"`
	NextToken           *string `json:"nextToken"`
	Limit               *int    `json:"limit"`
}

func (s *Service) groupARN(g string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", s.region, s.account, g)
}

func (s *Service) describeLogGroups(ctx context.Context, body []byte) (any, error) {
	var in describeGroupsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, invalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	n, err := limit(in.Limit, 50, 50)
	if err != nil {
		return nil, err
	}
	prefix, pattern := "", ""
	if in.LogGroupNamePrefix != nil {
		prefix = *in.LogGroupNamePrefix
	}
	if in.LogGroupNamePattern != nil {
		pattern = *in.LogGroupNamePattern
	}
	off, err := parsePageToken(in.NextToken, queryHash("groups", prefix, pattern))
	if err != nil {
		return nil, err
	}
	var groups []logstore.GroupInfo
	if s.store != nil {
		if groups, err = s.store.Groups(ctx); err != nil {
			return nil, awserr.Internal(err)
		}
	}
	items := []map[string]any{}
	for _, g := range groups {
		if !strings.HasPrefix(g.Name, prefix) || !strings.Contains(g.Name, pattern) {
			continue
		}
		item := map[string]any{
			"logGroupName": g.Name, "creationTime": g.Created.UnixMilli(), "metricFilterCount": 0,
			"arn": s.groupARN(g.Name) + ":*", "logGroupArn": s.groupARN(g.Name), "storedBytes": g.StoredBytes,
			"logGroupClass": "STANDARD", "deletionProtectionEnabled": false,
		}
		if g.RetentionDays > 0 {
			item["retentionInDays"] = g.RetentionDays
		}
		items = append(items, item)
	}
	out := map[string]any{}
	if off > len(items) {
		return nil, errBadToken
	}
	items = items[off:]
	if len(items) > n {
		items = items[:n]
		out["nextToken"] = pageToken(off+n, queryHash("groups", prefix, pattern))
	}
	out["logGroups"] = items
	return out, nil
}

type describeStreamsInput struct {
	LogGroupName        *string `json:"logGroupName"`
	LogGroupIdentifier  *string `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             *string `json:"orderBy"`
	Descending          *bool   `json:"descending"`
	NextToken           *string `json:"nextToken"`
	Limit               *int    `json:"limit"`
}

func (s *Service) describeLogStreams(ctx context.Context, body []byte) (any, error) {
	var in describeStreamsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.LogGroupName != nil && in.LogGroupIdentifier != nil {
		return nil, awserr.Logs(awserr.Validation, "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	}
	g, err := s.group(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	order := "LogStreamName"
	if in.OrderBy != nil {
		order = *in.OrderBy
	}
	if order != "LogStreamName" && order != "LastEventTime" {
		return nil, invalidParameter(fmt.Sprintf("1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]", order))
	}
	prefix := ""
	if in.LogStreamNamePrefix != nil {
		prefix = *in.LogStreamNamePrefix
	}
	if prefix != "" && order == "LastEventTime" {
		return nil, invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	n, err := limit(in.Limit, 50, 50)
	if err != nil {
		return nil, err
	}
	desc := in.Descending != nil && *in.Descending
	qh := queryHash("streams", g, prefix, order, desc)
	off, err := parsePageToken(in.NextToken, qh)
	if err != nil {
		return nil, err
	}
	if s.store == nil {
		return nil, errNoGroup
	}
	streams, err := s.store.Streams(ctx, g)
	if err != nil {
		return nil, s.storeErr(err)
	}
	var sel []logstore.StreamInfo
	for _, st := range streams {
		if strings.HasPrefix(st.Name, prefix) {
			sel = append(sel, st)
		}
	}
	less := func(i, j int) bool { return sel[i].Name < sel[j].Name }
	if order == "LastEventTime" {
		less = func(i, j int) bool {
			if sel[i].LastEvent != sel[j].LastEvent {
				return sel[i].LastEvent < sel[j].LastEvent
			}
			return sel[i].Name < sel[j].Name
		}
	}
	sort.SliceStable(sel, less)
	if desc {
		slices.Reverse(sel)
	}
	if off > len(sel) {
		return nil, errBadToken
	}
	sel = sel[off:]
	out := map[string]any{}
	if len(sel) > n {
		sel = sel[:n]
		out["nextToken"] = pageToken(off+n, qh)
	}
	items := make([]map[string]any, len(sel))
	for i, st := range sel {
		items[i] = map[string]any{
			"logStreamName": st.Name, "creationTime": st.FirstEvent, "firstEventTimestamp": st.FirstEvent,
			"lastEventTimestamp": st.LastEvent, "lastIngestionTime": st.LastIngestion,
			"uploadSequenceToken": strconv.FormatInt(st.LastIngestion, 10),
			"arn":                 s.groupARN(g) + ":log-stream:" + st.Name, "storedBytes": 0,
		}
	}
	out["logStreams"] = items
	return out, nil
}

type groupInput struct {
	LogGroupName    *string `json:"logGroupName"`
	RetentionInDays *int    `json:"retentionInDays"`
}

func (s *Service) groupOnly(body []byte) (groupInput, string, error) {
	var in groupInput
	if err := decode(body, &in); err != nil {
		return in, "", err
	}
	if in.LogGroupName == nil {
		return in, "", invalidParameter("1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null")
	}
	g, err := s.group(in.LogGroupName, nil)
	if err == nil && s.store == nil {
		err = errNoGroup
	}
	return in, g, err
}

func (s *Service) createLogGroup(ctx context.Context, body []byte) (any, error) {
	_, g, err := s.groupOnly(body)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateGroup(ctx, g); err != nil {
		if errors.Is(err, logstore.ErrGroupExists) {
			return nil, errGroupExists
		}
		return nil, awserr.Internal(err)
	}
	return struct{}{}, nil
}

func (s *Service) deleteLogGroup(ctx context.Context, body []byte) (any, error) {
	_, g, err := s.groupOnly(body)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteGroup(ctx, g); err != nil {
		return nil, s.storeErr(err)
	}
	return struct{}{}, nil
}

// retentionDays are the values PutRetentionPolicy accepts.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func (s *Service) putRetentionPolicy(ctx context.Context, body []byte) (any, error) {
	in, g, err := s.groupOnly(body)
	if err != nil {
		return nil, err
	}
	if in.RetentionInDays == nil {
		return nil, invalidParameter("1 validation error detected: Value null at 'retentionInDays' failed to satisfy constraint: Member must not be null")
	}
	if !slices.Contains(retentionDays, *in.RetentionInDays) {
		vals := make([]string, len(retentionDays))
		for i, d := range retentionDays {
			vals[i] = strconv.Itoa(d)
		}
		return nil, invalidParameter(fmt.Sprintf("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [%s]", *in.RetentionInDays, strings.Join(vals, ", ")))
	}
	if err := s.store.SetRetention(ctx, g, *in.RetentionInDays); err != nil {
		return nil, s.storeErr(err)
	}
	return struct{}{}, nil
}

func (s *Service) deleteRetentionPolicy(ctx context.Context, body []byte) (any, error) {
	_, g, err := s.groupOnly(body)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetRetention(ctx, g, 0); err != nil {
		return nil, s.storeErr(err)
	}
	return struct{}{}, nil
}
