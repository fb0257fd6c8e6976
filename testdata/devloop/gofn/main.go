// Command gofn is the Go function `lambada dev --build` builds in tests.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func() (string, error) { return "go-v1", nil })
}
