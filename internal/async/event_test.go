package async

import (
	"bytes"
	"testing"
	"time"
)

// The queue form keeps payload and response byte for byte, whatever they
// hold, and adds only its header line.
func TestEventEncodingRoundTrip(t *testing.T) {
	payload := []byte(`{ "a" : "<&>\u2028" ,` + "\n" + `"b": [1, 2] }`)
	resp := []byte("not json \x00\xff <&>")
	ev := &event{RequestID: "id", Function: "f", Payload: payload, Accepted: time.Unix(1, 0).UTC(), Attempts: 1,
		Last: &attempt{Payload: resp, FunctionError: "Unhandled", ExecutedVersion: "$LATEST", VersionARN: "arn"}}
	b := ev.encode()
	if len(b) > len(payload)+len(resp)+300 {
		t.Fatalf("%d bytes for %d of payload and response", len(b), len(payload)+len(resp))
	}
	got, err := decodeEvent(b, map[string]string{EncodingHeader: encodingRaw})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Payload, payload) || !bytes.Equal(got.Last.Payload, resp) || got.Attempts != 1 ||
		got.Last.FunctionError != "Unhandled" || got.RequestID != "id" || !got.Accepted.Equal(ev.Accepted) {
		t.Fatalf("decoded %+v / %+v", got, got.Last)
	}
	if _, err := decodeEvent(b[:len(b)-1], map[string]string{EncodingHeader: encodingRaw}); err == nil {
		t.Fatal("a truncated event decoded")
	}
}

// Events queued by earlier versions (one JSON document, the response in
// base64) still decode.
func TestEventLegacyEncoding(t *testing.T) {
	old := `{"requestId":"id","function":"f","payload":{"k":"\u003c"},"accepted":"2026-01-01T00:00:00Z","attempts":1,` +
		`"last":{"payload":"eyJlIjoxfQ==","functionError":"Unhandled","executedVersion":"$LATEST","versionArn":"arn"}}`
	ev, err := decodeEvent([]byte(old), map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.Payload) != `{"k":"\u003c"}` || string(ev.Last.Payload) != `{"e":1}` || ev.Attempts != 1 || ev.Last.VersionARN != "arn" {
		t.Fatalf("decoded %+v / %+v", ev, ev.Last)
	}
}
