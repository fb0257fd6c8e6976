package recursion

import (
	"fmt"
	"strings"
	"testing"
)

const arnA = "arn:aws:lambda:us-east-1:000000000000:function:a"

func TestNextCountsHops(t *testing.T) {
	h := ""
	for i := 1; i <= 20; i++ {
		tr, n := Next(h, arnA, false)
		if n != i {
			t.Fatalf("hop %d counted %d", i, n)
		}
		if Stopped(n, Terminate) != (i > MaxDepth) || Stopped(n, "") != (i > MaxDepth) || Stopped(n, Allow) {
			t.Fatalf("hop %d: Stopped wrong", i)
		}
		h = tr.String()
	}
	if !strings.Contains(h, "Lineage="+Hash(arnA)+":20") {
		t.Fatalf("header %s", h)
	}
}

func TestParseKeepsRootAndDecodes(t *testing.T) {
	root := "1-6b088819-b26904ff1900da772bd4b328"
	in := "root=" + root + ";Parent=0c54b0041c5e040a;Sampled=1;Lineage=" + Hash(arnA) + ":3%7C" + "deadbeef:9;Self=x"
	tr, n := Next(in, arnA, false)
	if n != 4 || tr.Root != root || tr.Sampled != "1" || tr.Parent == "0c54b0041c5e040a" {
		t.Fatalf("n=%d trace %+v", n, tr)
	}
	if tr.Count("deadbeef") != 9 || strings.Contains(tr.String(), "Self") {
		t.Fatalf("header %s", tr.String())
	}
}

func TestMalformedStartsOver(t *testing.T) {
	for _, in := range []string{"", "garbage", "Root=1-zz-yy;Lineage=" + Hash(arnA) + ":5",
		"Root=1-6b088819-b26904ff1900da772bd4b328;Lineage=" + Hash(arnA) + ":x",
		"Root=1-6b088819-b26904ff1900da772bd4b328;Lineage=" + Hash(arnA) + ":0"} {
		if _, n := Next(in, arnA, false); n != 1 {
			t.Errorf("%q: n=%d, want a fresh count", in, n)
		}
	}
	tr, _ := Next("", arnA, true)
	if !validRoot(tr.Root) || tr.Sampled != "1" || len(tr.Parent) != 16 || !isHex(tr.Parent) {
		t.Fatalf("new trace %+v", tr)
	}
	if got, want := tr.String(), "Root="+tr.Root+";Parent="+tr.Parent+";Sampled=1;Lineage="+Hash(arnA)+":1"; got != want {
		t.Fatalf("header %q, want %q", got, want)
	}
}

func TestLineageKeepsSixteen(t *testing.T) {
	h := "Root=1-6b088819-b26904ff1900da772bd4b328;Sampled=0"
	for i := range 16 {
		tr, _ := Next(h, fmt.Sprintf("arn:f%d", i), false)
		tr2, _ := Next(tr.String(), fmt.Sprintf("arn:f%d", i), false)
		if i == 5 {
			tr2 = tr // f5 ran once: the smallest count
		}
		h = tr2.String()
	}
	tr, n := Next(h, "arn:new", false)
	if n != 1 || len(tr.Lineage) != 16 || tr.Count(Hash("arn:f5")) != 0 || tr.Count(Hash("arn:f4")) != 2 {
		t.Fatalf("n=%d lineage %v", n, tr.Lineage)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("Root=1-6b088819-b26904ff1900da772bd4b328;Parent=0c54b0041c5e040a;Sampled=0;Lineage=a87bd80c:1|68fd508a:5")
	f.Add("%zz;;==;Lineage=|||")
	f.Fuzz(func(t *testing.T, h string) {
		tr, n := Next(h, arnA, false)
		if n < 1 || len(tr.Lineage) > maxEntries {
			t.Fatalf("n=%d lineage %d", n, len(tr.Lineage))
		}
		if _, m := Next(tr.String(), arnA, false); m != n+1 {
			t.Fatalf("round trip of %q: %d then %d", tr.String(), n, m)
		}
	})
}
