package fncreds

import (
	"regexp"
	"testing"
)

func TestMintOpen(t *testing.T) {
	m := New("server-secret")
	c := m.Mint("fn", 42)
	if !regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`).MatchString(c.AccessKeyID) || len(c.SecretAccessKey) != 40 {
		t.Fatalf("shape: %+v", c)
	}
	h, secret, ok := m.Open(c.AccessKeyID, c.SessionToken)
	if !ok || h.Function != "fn" || h.Generation != 42 || secret != c.SecretAccessKey {
		t.Fatalf("open: %+v %q %v", h, secret, ok)
	}
	if c2 := m.Mint("fn", 42); c2.AccessKeyID == c.AccessKeyID || c2.SessionToken == c.SessionToken {
		t.Fatal("two environments got the same credentials")
	}
	// Another server key, a tampered token, a swapped key id: refused.
	if _, _, ok := New("other").Open(c.AccessKeyID, c.SessionToken); ok {
		t.Fatal("opened with another server's key")
	}
	other := m.Mint("other", 42)
	for _, bad := range [][2]string{
		{other.AccessKeyID, c.SessionToken},
		{c.AccessKeyID, c.SessionToken + "x"},
		{c.AccessKeyID, c.SessionToken[:len(c.SessionToken)-2]},
		{c.AccessKeyID, ""},
		{c.AccessKeyID, "lambada1.e30.AAAA"},
	} {
		if _, _, ok := m.Open(bad[0], bad[1]); ok {
			t.Errorf("opened %q / %q", bad[0], bad[1])
		}
	}
}
