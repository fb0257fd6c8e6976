package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/logkey"
)

// CodePath is where GetFunction's Code.Location URLs point: outside the
// Lambda API's date-prefixed paths, so they never clash.
const CodePath = "/lambada/code/"

// codeURLValidity is how long a Code.Location URL works, like AWS's
// pre-signed S3 URL.
const codeURLValidity = 10 * time.Minute

// codeURL is a download URL for c's zip that needs no credentials until it
// expires: the path names the blob, the query carries the expiry and an
// HMAC over both.
func (h *Handler) codeURL(r *http.Request, c *function.Config) string {
	return h.blobURL(r, c.CodeHex)
}

// wireCode is GetFunction's Code: a download URL for a zip; for code from
// a host folder, a file: URL naming the folder (docs/behaviour/dev-loop.md §3).
func (h *Handler) wireCode(r *http.Request, c *function.Config) wireCode {
	if c.CodeDir != "" {
		return wireCode{RepositoryType: "S3", Location: (&url.URL{Scheme: "file", Path: c.CodeDir}).String()}
	}
	return wireCode{RepositoryType: "S3", Location: h.codeURL(r, c)}
}

// blobURL is codeURL for any stored zip (a layer version's Content.Location).
func (h *Handler) blobURL(r *http.Request, hexSum string) string {
	exp := strconv.FormatInt(h.cfg.Now().Add(codeURLValidity).Unix(), 10)
	return "http://" + r.Host + CodePath + hexSum + "?Expires=" + exp + "&Signature=" + h.codeSignature(hexSum, exp)
}

func (h *Handler) codeSignature(hexSum, exp string) string {
	m := hmac.New(sha256.New, h.cfg.CodeURLKey)
	m.Write([]byte(hexSum + "\n" + exp))
	return hex.EncodeToString(m.Sum(nil))
}

// CodeDownload serves the zips behind Code.Location URLs.
func (h *Handler) CodeDownload() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := h.log.With(logkey.Operation, "DownloadCode")
		sum := strings.TrimPrefix(r.URL.Path, CodePath)
		exp := r.URL.Query().Get("Expires")
		sig := r.URL.Query().Get("Signature")
		n, err := strconv.ParseInt(exp, 10, 64)
		if r.Method != http.MethodGet || err != nil || len(sum) != 64 ||
			!hmac.Equal([]byte(sig), []byte(h.codeSignature(sum, exp))) {
			h.writeError(w, awserr.New(awserr.AccessDenied, ""), log)
			return
		}
		if h.cfg.Now().Unix() > n {
			h.writeError(w, awserr.New(awserr.AccessDenied, ""), log)
			return
		}
		rc, err := h.reg.Code(r.Context(), sum)
		if err != nil {
			h.writeError(w, err, log)
			return
		}
		defer rc.Close()
		// A zip of up to 50 MB at the slowest rate the front door accepts
		// (docs/security.md, "Answers").
		const maxZip = 52_428_800
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.door.TimeFor(maxZip)))
		w.Header().Set("Content-Type", "application/zip")
		if _, err := io.Copy(w, rc); err != nil {
			log.Warn("api: code download interrupted", logkey.Err, err)
		}
	})
}
