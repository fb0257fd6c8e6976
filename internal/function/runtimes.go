package function

import (
	"slices"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// modelRuntimes is the service model's Runtime enum (aws-sdk-go-v2
// service/lambda types.Runtime). A value outside it is refused as AWS does.
var modelRuntimes = []string{
	"nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x",
	"nodejs16.x", "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x", "java8", "java8.al2",
	"java11", "java17", "java21", "java25", "python2.7", "python3.6", "python3.7", "python3.8",
	"python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14",
	"dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet6", "dotnet8",
	"dotnet10", "nodejs4.3-edge", "go1.x", "ruby2.5", "ruby2.7", "ruby3.2", "ruby3.3", "ruby3.4",
	"ruby4.0", "provided", "provided.al2", "provided.al2023", "nodejs26.x", "python3.15",
	"java8.al2023", "java11.al2023", "java17.al2023",
}

// creatableRuntimes are the identifiers AWS accepts for new functions (the
// model's enum less the deprecated ones), as listed in its error text.
var creatableRuntimes = []string{
	"nodejs20.x", "nodejs22.x", "nodejs24.x", "nodejs26.x",
	"python3.10", "python3.11", "python3.12", "python3.13", "python3.14", "python3.15",
	"java8.al2", "java11", "java17", "java21", "java25", "java8.al2023", "java11.al2023", "java17.al2023",
	"dotnet8", "dotnet10", "ruby3.2", "ruby3.3", "ruby3.4", "ruby4.0",
	"provided", "provided.al2", "provided.al2023",
}

// CheckRuntime refuses a runtime outside the model's enum, one AWS no
// longer accepts for new or updated functions, and one lambada cannot run.
func CheckRuntime(rt string) error {
	if !slices.Contains(modelRuntimes, rt) {
		return awserr.Newf(awserr.InvalidParameterValue,
			"Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [%s] or be a valid ARN",
			rt, strings.Join(creatableRuntimes, ", "))
	}
	if !slices.Contains(creatableRuntimes, rt) {
		return awserr.Newf(awserr.InvalidParameterValue,
			"The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.", rt)
	}
	if RuntimeFamily(rt) == "" {
		return awserr.Newf(awserr.InvalidParameterValue, "The runtime parameter of %s is not supported by this server.", rt)
	}
	return nil
}

// RuntimeFamily is "provided", "nodejs" or "python" for the runtimes lambada
// runs, "" for others.
func RuntimeFamily(rt string) string {
	switch {
	case rt == "provided" || strings.HasPrefix(rt, "provided."):
		return "provided"
	case strings.HasPrefix(rt, "nodejs"):
		return "nodejs"
	case strings.HasPrefix(rt, "python3"):
		return "python"
	}
	return ""
}

// IsModelRuntime reports whether rt is in the service model's Runtime enum.
func IsModelRuntime(rt string) bool { return slices.Contains(modelRuntimes, rt) }

// ModelRuntimes is the model's Runtime enum as AWS prints it in a
// ValidationException: "a, b, …".
func ModelRuntimes() string { return strings.Join(modelRuntimes, ", ") }

// SupportedRuntimes are the identifiers accepted for new functions, as AWS
// prints them: "a, b, …".
func SupportedRuntimes() string { return strings.Join(creatableRuntimes, ", ") }

// NewestRuntime is the newest creatable runtime of a family ("nodejs",
// "python", "provided"): what `lambada dev` picks when it guesses.
func NewestRuntime(family string) string {
	newest := ""
	for _, rt := range creatableRuntimes {
		if RuntimeFamily(rt) == family {
			newest = rt
		}
	}
	if family == "provided" {
		return "provided.al2023"
	}
	return newest
}
