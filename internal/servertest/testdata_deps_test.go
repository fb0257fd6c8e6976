package servertest_test

// The test functions under testdata/functions are built by the tests with
// this module's go.mod, but go mod tidy never looks inside testdata. These
// imports keep the libraries those functions use in go.mod, as direct
// requirements.
import (
	_ "github.com/aws/aws-lambda-go/lambda"
	_ "github.com/aws/aws-lambda-go/lambdacontext"
	_ "github.com/aws/aws-sdk-go-v2/config"
)
