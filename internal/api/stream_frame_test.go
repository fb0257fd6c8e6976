package api

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// The vectors of docs/behaviour/streaming.md §4.2.
var streamVectors = []struct {
	name, eventType, contentType, payload, hex string
}{
	{"PayloadChunk hi", "PayloadChunk", "application/octet-stream", "hi",
		"0000006c0000005ab25efdcf0b3a6576656e742d7479706507000c5061796c6f61644368756e6b0d3a636f6e74656e742d747970650700186170706c69636174696f6e2f6f637465742d73747265616d0d3a6d6573736167652d747970650700056576656e7468691162e469"},
	{"InvokeComplete {}", "InvokeComplete", "application/json", "{}",
		"00000066000000541f56c8690b3a6576656e742d7479706507000e496e766f6b65436f6d706c6574650d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b7d7006d467"},
	{"InvokeComplete error", "InvokeComplete", "application/json",
		`{"ErrorCode":"errorString","ErrorDetails":"{\"errorMessage\":\"mid-stream failure\",\"errorType\":\"errorString\"}"}`,
		"000000d800000054b0a17e1c0b3a6576656e742d7479706507000e496e766f6b65436f6d706c6574650d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b224572726f72436f6465223a226572726f72537472696e67222c224572726f7244657461696c73223a227b5c226572726f724d6573736167655c223a5c226d69642d73747265616d206661696c7572655c222c5c226572726f72547970655c223a5c226572726f72537472696e675c227d227dca881365"},
}

func TestStreamFramesGolden(t *testing.T) {
	for _, v := range streamVectors {
		var buf bytes.Buffer
		if err := eventstream.NewEncoder().Encode(&buf, newEvent(v.eventType, v.contentType, []byte(v.payload))); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(buf.Bytes()); got != v.hex {
			t.Errorf("%s:\n got %s\nwant %s", v.name, got, v.hex)
		}
		m, err := eventstream.NewDecoder().Decode(bytes.NewReader(buf.Bytes()), nil)
		if err != nil {
			t.Fatalf("%s: decode: %v", v.name, err)
		}
		if m.Headers.Get(":event-type").String() != v.eventType || m.Headers.Get(":message-type").String() != "event" ||
			m.Headers.Get(":content-type").String() != v.contentType || string(m.Payload) != v.payload {
			t.Errorf("%s: decoded %v %q", v.name, m.Headers, m.Payload)
		}
	}
}

// The sink's own output: head, chunks split at 64 KiB, InvokeComplete
// with at least {}; nothing after finish.
func TestEventSink(t *testing.T) {
	rec := httptest.NewRecorder()
	s := &eventSink{w: rec}
	if err := s.Write([]byte("early")); err == nil {
		t.Fatal("Write before Start accepted")
	}
	s.Start("7", "text/plain")
	big := bytes.Repeat([]byte("x"), maxChunk+10)
	if err := s.Write(big); err != nil {
		t.Fatal(err)
	}
	s.finish()
	if err := s.Write([]byte("late")); err == nil {
		t.Fatal("Write after finish accepted")
	}
	s.head("7", "")
	s.complete(invokeComplete{})
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/plain" || rec.Header().Get("X-Amz-Executed-Version") != "7" {
		t.Fatalf("head %d %v", rec.Code, rec.Header())
	}
	if rec.Header().Get("X-Amz-Function-Error") != "" || !rec.Flushed {
		t.Fatalf("head %v flushed %v", rec.Header(), rec.Flushed)
	}
	r := bytes.NewReader(rec.Body.Bytes())
	var sizes []int
	var last eventstream.Message
	for r.Len() > 0 {
		m, err := eventstream.NewDecoder().Decode(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(m.Payload))
		last = m
	}
	if len(sizes) != 3 || sizes[0] != maxChunk || sizes[1] != 10 {
		t.Fatalf("payload sizes %v", sizes)
	}
	if last.Headers.Get(":event-type").String() != "InvokeComplete" || !json.Valid(last.Payload) || string(last.Payload) != "{}" {
		t.Fatalf("last %v %q", last.Headers, last.Payload)
	}
}
