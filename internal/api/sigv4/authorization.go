package sigv4

import (
	"fmt"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// authorization is a parsed "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." header.
type authorization struct {
	accessKeyID string
	date        string // yyyymmdd of the credential scope
	region      string
	service     string
	terminator  string
	// signedHeaders are lower-cased, in the client's order.
	signedHeaders []string
	signature     string
}

// parseAuthorization parses an Authorization header. A header of another
// scheme, or one missing a part, is an IncompleteSignatureException naming
// only the missing parts.
func parseAuthorization(header string) (authorization, *awserr.Error) {
	var credential, signedHeaders, signature string
	if rest, ok := strings.CutPrefix(header, Algorithm+" "); ok {
		for part := range strings.SplitSeq(rest, ",") {
			key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch {
			case key == "Credential" && credential == "":
				credential = value
			case key == "SignedHeaders" && signedHeaders == "":
				signedHeaders = value
			case key == "Signature" && signature == "":
				signature = value
			}
		}
	}

	var missing []string
	for _, p := range [...]struct{ name, value string }{
		{"Credential", credential},
		{"Signature", signature},
		{"SignedHeaders", signedHeaders},
	} {
		if p.value == "" {
			missing = append(missing, fmt.Sprintf(msgRequiresFormat, p.name))
		}
	}
	if len(missing) > 0 {
		return authorization{}, awserr.New(awserr.IncompleteSignature, strings.Join(missing, " "))
	}

	// keyid/date/region/service/term, split without allocating.
	var scope [5]string
	n := 0
	for rest := credential; ; n++ {
		part, after, found := strings.Cut(rest, "/")
		if n < len(scope) {
			scope[n] = part
		}
		if !found {
			n++
			break
		}
		rest = after
	}
	if n != len(scope) {
		// Not in docs/behaviour/api-common.md §7.4; this is AWS's message for the case.
		return authorization{}, awserr.New(awserr.IncompleteSignature, fmt.Sprintf(
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", credential))
	}

	a := authorization{
		accessKeyID: scope[0],
		date:        scope[1],
		region:      scope[2],
		service:     scope[3],
		terminator:  scope[4],
		signature:   signature,
	}
	a.signedHeaders = make([]string, 0, strings.Count(signedHeaders, ";")+1)
	for name := range strings.SplitSeq(signedHeaders, ";") {
		if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
			a.signedHeaders = append(a.signedHeaders, name)
		}
	}
	return a, nil
}
