package async_test

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

func jsonReader(t *testing.T, v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}
