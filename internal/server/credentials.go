package server

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// credentialsFile holds the generated key pair inside the data folder.
const credentialsFile = "credentials.json"

// Credentials is lambada's own access key pair.
type Credentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
}

// loadOrCreateCredentials reads the data folder's key pair, generating and
// storing one (mode 0600) on first start.
func loadOrCreateCredentials(dataDir string) (Credentials, bool, error) {
	path := filepath.Join(dataDir, credentialsFile)
	b, err := os.ReadFile(path)
	if err == nil {
		var c Credentials
		if err := json.Unmarshal(b, &c); err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return Credentials{}, false, fmt.Errorf("reading %s: not a lambada credentials file", path)
		}
		return c, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Credentials{}, false, fmt.Errorf("reading credentials: %w", err)
	}
	c := Credentials{AccessKeyID: "LKIA" + randomString(16, upperAlnum), SecretAccessKey: randomString(40, secretAlphabet)}
	b, _ = json.MarshalIndent(c, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return Credentials{}, false, fmt.Errorf("writing credentials: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return Credentials{}, false, fmt.Errorf("writing credentials: %w", err)
	}
	return c, true, nil
}

const (
	upperAlnum     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
