// Package fncreds mints the temporary credentials a function's environment
// gets to call lambada back (docs/behaviour/recursion.md §6), and opens them
// again when a request is signed with them.
//
// They are stateless: the session token carries the function's name and
// generation under an HMAC keyed from the server's secret, and the access
// key id and secret are derived from the token. Every node that shares the
// server's key pair accepts them, nothing is stored, and the server's own
// secret never leaves the server.
package fncreds

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Credentials are one environment's AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Env is the credentials as environment variables.
func (c Credentials) Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":     c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": c.SecretAccessKey,
		"AWS_SESSION_TOKEN":     c.SessionToken,
	}
}

// Minter mints and opens function credentials.
type Minter struct{ key []byte }

// New derives the minting key from the server's secret access key.
func New(serverSecret string) *Minter {
	k := sha256.Sum256([]byte("lambada function credentials\n" + serverSecret))
	return &Minter{key: k[:]}
}

// Holder is who a token was minted for.
type Holder struct {
	Function string `json:"f"`
	// Generation tells a function from a deleted one of the same name
	// (its creation time in Unix ns).
	Generation int64  `json:"g"`
	Nonce      string `json:"n"` // per environment
}

const tokenPrefix = "lambada1."

var b64 = base64.RawURLEncoding

// Mint returns fresh credentials for one environment of function.
func (m *Minter) Mint(function string, generation int64) Credentials {
	nonce := make([]byte, 9)
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	body, _ := json.Marshal(Holder{Function: function, Generation: generation, Nonce: b64.EncodeToString(nonce)})
	payload := b64.EncodeToString(body)
	token := tokenPrefix + payload + "." + b64.EncodeToString(m.mac("token", payload)[:18])
	return Credentials{AccessKeyID: m.keyID(token), SecretAccessKey: m.secret(token), SessionToken: token}
}

// Open checks that accessKeyID and token were minted by this key and
// returns the holder and the secret they sign with.
func (m *Minter) Open(accessKeyID, token string) (Holder, string, bool) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return Holder{}, "", false
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return Holder{}, "", false
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, m.mac("token", payload)[:18]) || !hmac.Equal([]byte(accessKeyID), []byte(m.keyID(token))) {
		return Holder{}, "", false
	}
	body, err := b64.DecodeString(payload)
	if err != nil {
		return Holder{}, "", false
	}
	var h Holder
	if json.Unmarshal(body, &h) != nil || h.Function == "" {
		return Holder{}, "", false
	}
	return h, m.secret(token), true
}

func (m *Minter) mac(purpose, data string) []byte {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(purpose + "\n" + data))
	return h.Sum(nil)
}

// keyID is ASIA + 16 upper-case base32 characters, the shape of an AWS
// temporary access key id.
func (m *Minter) keyID(token string) string {
	return "ASIA" + base32.StdEncoding.EncodeToString(m.mac("id", token))[:16]
}

// secret is 40 characters, like an AWS secret access key.
func (m *Minter) secret(token string) string {
	return base64.StdEncoding.EncodeToString(m.mac("secret", token)[:30])
}
