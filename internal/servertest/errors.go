package servertest

import (
	"errors"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// APIError returns the AWS error code, message and HTTP status an SDK call
// failed with ("" and 0 for what it does not carry).
func APIError(err error) (code, msg string, status int) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, msg, status
}
