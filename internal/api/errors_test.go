package api_test

import "github.com/lambada-dev/lambada/internal/servertest"

// isCode reports whether err is an AWS API error with code.
func isCode(err error, code string) bool {
	c, _, _ := servertest.APIError(err)
	return c == code
}

// apiError returns code, message and HTTP status of an SDK error.
func apiError(err error) (code, msg string, status int) { return servertest.APIError(err) }
