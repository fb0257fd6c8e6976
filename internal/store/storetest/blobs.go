package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lambada-dev/lambada/internal/store"
)

// LargeBlobSize is the size of the big round trip: code zips go to 50 MB,
// this is big enough to cross every chunking boundary without slowing
// the suite.
const LargeBlobSize = 20 << 20

// RunBlobs runs the Blobs conformance suite. open returns an empty Blobs,
// used only by the test t it is given.
func RunBlobs(t *testing.T, open func(t *testing.T) store.Blobs) {
	RunBlobsLarge(t, open, LargeBlobSize)
}

// RunBlobsLarge is RunBlobs with the large blob's size given: a store
// keeping three copies in one test process on a loaded machine takes
// longer than its write bound for LargeBlobSize; a smaller blob of many
// chunks tests the same path.
func RunBlobsLarge(t *testing.T, open func(t *testing.T) store.Blobs, large int) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ctx context.Context, b store.Blobs)
	}{
		{"GetMissing", testBlobGetMissing},
		{"PutGet", testBlobPutGet},
		{"Empty", testBlobEmpty},
		{"PutExistingDoesNothing", testBlobPutExisting},
		{"PutMismatchRejected", testBlobPutMismatch},
		{"PutBadSumRejected", testBlobPutBadSum},
		{"PutReaderError", testBlobPutReaderError},
		{"Delete", testBlobDelete},
		{"DeleteMissing", testBlobDeleteMissing},
		{"CloseBeforeEOF", testBlobCloseEarly},
		{"Large", func(t *testing.T, ctx context.Context, b store.Blobs) { testBlobLarge(t, ctx, b, large) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), Timeout)
			defer cancel()
			tt.fn(t, ctx, open(t))
		})
	}
}

// Sum is the blob name of data: its lower-case hex SHA-256.
func Sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func mustPut(t *testing.T, ctx context.Context, b store.Blobs, data []byte) string {
	t.Helper()
	sum := Sum(data)
	if err := b.Put(ctx, sum, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put(%s): %v", sum, err)
	}
	return sum
}

func wantBlob(t *testing.T, ctx context.Context, b store.Blobs, sum string, data []byte) {
	t.Helper()
	rc, err := b.Get(ctx, sum)
	if err != nil {
		t.Fatalf("Get(%s): %v", sum, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", sum, err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("Get(%s) read %d bytes (sum %s), want %d", sum, len(got), Sum(got), len(data))
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Close(%s): %v", sum, err)
	}
}

func wantNoBlob(t *testing.T, ctx context.Context, b store.Blobs, sum string) {
	t.Helper()
	rc, err := b.Get(ctx, sum)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%s): err = %v, want ErrNotFound", sum, err)
	}
}

// failingReader fails every read: Put must not need it.
type failingReader struct{}

var errRead = errors.New("storetest: read failed")

func (failingReader) Read([]byte) (int, error) { return 0, errRead }

func testBlobGetMissing(t *testing.T, ctx context.Context, b store.Blobs) {
	wantNoBlob(t, ctx, b, Sum([]byte("missing")))
}

func testBlobPutGet(t *testing.T, ctx context.Context, b store.Blobs) {
	data := []byte("hello, lambada")
	wantBlob(t, ctx, b, mustPut(t, ctx, b, data), data)
}

func testBlobEmpty(t *testing.T, ctx context.Context, b store.Blobs) {
	wantBlob(t, ctx, b, mustPut(t, ctx, b, nil), nil)
}

func testBlobPutExisting(t *testing.T, ctx context.Context, b store.Blobs) {
	data := []byte("zip bytes")
	sum := mustPut(t, ctx, b, data)
	if err := b.Put(ctx, sum, failingReader{}); err != nil {
		t.Fatalf("Put of a stored sum read its reader: %v", err)
	}
	if err := b.Put(ctx, sum, bytes.NewReader(data)); err != nil {
		t.Fatalf("second Put: %v", err)
	}
	wantBlob(t, ctx, b, sum, data)
}

func testBlobPutMismatch(t *testing.T, ctx context.Context, b store.Blobs) {
	data := []byte("the real content")
	sum := Sum(data)
	if err := b.Put(ctx, sum, strings.NewReader("other content")); err == nil {
		t.Fatal("Put accepted content that does not hash to its sum")
	}
	wantNoBlob(t, ctx, b, sum)
	// A prefix is a mismatch too.
	if err := b.Put(ctx, sum, bytes.NewReader(data[:4])); err == nil {
		t.Fatal("Put accepted a truncated content")
	}
	wantNoBlob(t, ctx, b, sum)
	// The right content is then accepted.
	mustPut(t, ctx, b, data)
	wantBlob(t, ctx, b, sum, data)
}

func testBlobPutBadSum(t *testing.T, ctx context.Context, b store.Blobs) {
	data := []byte("content")
	for _, sum := range []string{"", "abc", strings.ToUpper(Sum(data)), Sum(data) + "00", "../" + Sum(data)[3:]} {
		if err := b.Put(ctx, sum, bytes.NewReader(data)); err == nil {
			t.Errorf("Put accepted sum %q", sum)
		}
	}
}

func testBlobPutReaderError(t *testing.T, ctx context.Context, b store.Blobs) {
	data := bytes.Repeat([]byte("x"), 1<<20)
	sum := Sum(data)
	r := io.MultiReader(bytes.NewReader(data[:len(data)/2]), failingReader{})
	if err := b.Put(ctx, sum, r); !errors.Is(err, errRead) {
		t.Fatalf("Put with a failing reader: err = %v, want the reader's error", err)
	}
	wantNoBlob(t, ctx, b, sum)
}

func testBlobDelete(t *testing.T, ctx context.Context, b store.Blobs) {
	data := []byte("to be deleted")
	sum := mustPut(t, ctx, b, data)
	if err := b.Delete(ctx, sum); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNoBlob(t, ctx, b, sum)
	if err := b.Delete(ctx, sum); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	// The sum can be stored again.
	mustPut(t, ctx, b, data)
	wantBlob(t, ctx, b, sum, data)
}

func testBlobDeleteMissing(t *testing.T, ctx context.Context, b store.Blobs) {
	if err := b.Delete(ctx, Sum([]byte("never"))); err != nil {
		t.Fatalf("Delete of a missing blob: %v", err)
	}
}

func testBlobCloseEarly(t *testing.T, ctx context.Context, b store.Blobs) {
	data := randomBytes(2 << 20)
	sum := mustPut(t, ctx, b, data)
	rc, err := b.Get(ctx, sum)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Close before EOF: %v", err)
	}
	wantBlob(t, ctx, b, sum, data)
}

func testBlobLarge(t *testing.T, ctx context.Context, b store.Blobs, size int) {
	data := randomBytes(size)
	sum := mustPut(t, ctx, b, data)
	wantBlob(t, ctx, b, sum, data)
}

// randomBytes returns n deterministic bytes that do not compress.
func randomBytes(n int) []byte {
	r := rand.NewChaCha8([32]byte{'l', 'a', 'm', 'b', 'a', 'd', 'a'})
	data := make([]byte, n)
	r.Read(data)
	return data
}
