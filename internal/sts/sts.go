// Package sts answers the one STS operation tools call before they do
// anything else: GetCallerIdentity, in the AWS query protocol (form-encoded
// request at POST /, XML answer), signed with SigV4 for service "sts"
// (docs/behaviour/tags-and-iac.md §4). Every other action gets the query
// protocol's XML error.
package sts

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/xml"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/lambada-dev/lambada/internal/api/sigv4"
	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/logkey"
)

// Service is STS's SigV4 signing name.
const Service = "sts"

// Version is the query protocol's API version of STS.
const Version = "2011-06-15"

const (
	namespace = "https://sts.amazonaws.com/doc/2011-06-15/"
	// maxBody bounds a query request's form body.
	maxBody = 64 << 10
)

// Identity is who signed a request.
type Identity struct {
	Account, Arn, UserID string
}

// Config is the handler's configuration.
type Config struct {
	// Verifier checks signatures; its Service must be Service.
	Verifier *sigv4.Verifier
	// Identify maps the principal the Verifier returns to an identity;
	// false means the principal is no longer valid.
	Identify func(principal string) (Identity, bool)
	Logger   *slog.Logger
}

// Handler serves STS's query protocol.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// New builds a handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, log: cfg.Logger}
}

// IsQueryRequest reports whether r is an AWS query-protocol request for
// this handler: to "/" (not a function URL's host), with a form-encoded
// body or an Action in the query string.
func IsQueryRequest(r *http.Request) bool {
	if r.URL.Path != "/" || isFunctionURLHost(r.Host) {
		return false
	}
	if r.URL.Query().Has("Action") {
		return true
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return r.Method == http.MethodPost && mt == "application/x-www-form-urlencoded"
}

// isFunctionURLHost reports "<id>.lambda-url.…" hosts, whose "/" is a
// function's.
func isFunctionURLHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	_, rest, ok := strings.Cut(host, ".")
	label, _, _ := strings.Cut(rest, ".")
	return ok && strings.EqualFold(label, "lambda-url")
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", id)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		h.fail(w, id, http.StatusBadRequest, "Sender", "MalformedQueryString", "The request body could not be read.")
		return
	}
	if len(body) > maxBody {
		h.fail(w, id, http.StatusRequestEntityTooLarge, "Sender", "RequestEntityTooLarge", "Request body must be smaller than "+strconv.Itoa(maxBody)+" bytes.")
		return
	}
	principal, err := h.cfg.Verifier.Verify(r, body)
	if err != nil {
		h.signatureError(w, id, err)
		return
	}
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.fail(w, id, http.StatusBadRequest, "Sender", "MalformedQueryString", "The query string is not well formed.")
		return
	}
	if form, err := url.ParseQuery(string(body)); err == nil {
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	}
	action := params.Get("Action")
	switch action {
	case "":
		h.fail(w, id, http.StatusBadRequest, "Sender", "MissingAction", "Missing Action")
	case "GetCallerIdentity":
		ident, ok := h.cfg.Identify(principal)
		if !ok {
			h.fail(w, id, http.StatusForbidden, "Sender", "InvalidClientTokenId", "The security token included in the request is invalid.")
			return
		}
		h.write(w, http.StatusOK, getCallerIdentityResponse{
			Xmlns:    namespace,
			Result:   getCallerIdentityResult{Arn: ident.Arn, UserID: ident.UserID, Account: ident.Account},
			Metadata: responseMetadata{RequestID: id},
		})
	default:
		h.fail(w, id, http.StatusBadRequest, "Sender", "InvalidAction",
			"Could not find operation "+action+" for version "+Version)
	}
}

type getCallerIdentityResponse struct {
	XMLName  xml.Name                `xml:"GetCallerIdentityResponse"`
	Xmlns    string                  `xml:"xmlns,attr"`
	Result   getCallerIdentityResult `xml:"GetCallerIdentityResult"`
	Metadata responseMetadata        `xml:"ResponseMetadata"`
}

type getCallerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type errorResponse struct {
	XMLName   xml.Name    `xml:"ErrorResponse"`
	Xmlns     string      `xml:"xmlns,attr"`
	Error     errorDetail `xml:"Error"`
	RequestID string      `xml:"RequestId"`
}

type errorDetail struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// signatureError renders a SigV4 refusal with the query protocol's codes.
func (h *Handler) signatureError(w http.ResponseWriter, id string, err error) {
	e := awserr.As(err)
	code, status := e.Code, e.Status
	switch e.Code {
	case awserr.MissingAuthToken:
		code = "MissingAuthenticationToken"
	case awserr.UnrecognizedClient:
		code = "InvalidClientTokenId"
	case awserr.InvalidSignature:
		code = "SignatureDoesNotMatch"
	case awserr.IncompleteSignature:
		status = http.StatusBadRequest
	default:
		h.log.Error("sts: verifying a request", logkey.Err, err)
		h.fail(w, id, http.StatusInternalServerError, "Receiver", "InternalFailure", "An internal error occurred.")
		return
	}
	h.fail(w, id, status, "Sender", code, e.Message)
}

func (h *Handler) fail(w http.ResponseWriter, id string, status int, kind, code, msg string) {
	h.write(w, status, errorResponse{Xmlns: namespace, Error: errorDetail{Type: kind, Code: code, Message: msg}, RequestID: id})
}

func (h *Handler) write(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		h.log.Error("sts: encoding a response", logkey.Err, err)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// UniqueID is an IAM-style unique id: prefix ("AIDA" for users, "AROA" for
// roles) and 17 characters derived from seed, stable across restarts.
func UniqueID(prefix, seed string) string {
	s := sha256.Sum256([]byte("lambada iam id\n" + seed))
	return prefix + base32.StdEncoding.EncodeToString(s[:])[:17]
}

// UserArn is the ARN of the user behind the server's own key pair.
func UserArn(account string) string { return "arn:aws:iam::" + account + ":user/lambada" }

// AssumedRoleArn is the ARN a function's credentials stand for, as on AWS:
// the function's execution role assumed in a session named after the
// function.
func AssumedRoleArn(account, roleArn, session string) string {
	name := roleArn[strings.LastIndex(roleArn, "/")+1:]
	return "arn:aws:sts::" + account + ":assumed-role/" + name + "/" + session
}
