package registry

// Inputs carry AWS's JSON member names so the api package decodes request
// bodies straight into them. Pointers mark members whose absence matters.

// CodeInput is CreateFunction's Code / UpdateFunctionCode's code members.
type CodeInput struct {
	ZipFile         *string `json:"ZipFile"`
	S3Bucket        *string `json:"S3Bucket"`
	S3Key           *string `json:"S3Key"`
	S3ObjectVersion *string `json:"S3ObjectVersion"`
	ImageURI        *string `json:"ImageUri"`
}

type EnvironmentInput struct {
	Variables map[string]string `json:"Variables"`
}

type EphemeralStorageInput struct {
	Size *int64 `json:"Size"`
}

type TracingConfigInput struct {
	Mode *string `json:"Mode"`
}

type LoggingConfigInput struct {
	LogFormat           *string `json:"LogFormat"`
	LogGroup            *string `json:"LogGroup"`
	ApplicationLogLevel *string `json:"ApplicationLogLevel"`
	SystemLogLevel      *string `json:"SystemLogLevel"`
}

type DeadLetterConfigInput struct {
	TargetArn *string `json:"TargetArn"`
}

type VpcConfigInput struct {
	SubnetIds               []string `json:"SubnetIds"`
	SecurityGroupIds        []string `json:"SecurityGroupIds"`
	Ipv6AllowedForDualStack *bool    `json:"Ipv6AllowedForDualStack"`
}

type SnapStartInput struct {
	ApplyOn *string `json:"ApplyOn"`
}

type ImageConfigInput struct {
	EntryPoint       []string `json:"EntryPoint"`
	Command          []string `json:"Command"`
	WorkingDirectory *string  `json:"WorkingDirectory"`
}

// ConfigInput holds the configuration members CreateFunction and
// UpdateFunctionConfiguration share.
type ConfigInput struct {
	Role                 *string                `json:"Role"`
	Runtime              *string                `json:"Runtime"`
	Handler              *string                `json:"Handler"`
	Description          *string                `json:"Description"`
	Timeout              *int64                 `json:"Timeout"`
	MemorySize           *int64                 `json:"MemorySize"`
	Environment          *EnvironmentInput      `json:"Environment"`
	EphemeralStorage     *EphemeralStorageInput `json:"EphemeralStorage"`
	TracingConfig        *TracingConfigInput    `json:"TracingConfig"`
	LoggingConfig        *LoggingConfigInput    `json:"LoggingConfig"`
	DeadLetterConfig     *DeadLetterConfigInput `json:"DeadLetterConfig"`
	Layers               []string               `json:"Layers"`
	VpcConfig            *VpcConfigInput        `json:"VpcConfig"`
	FileSystemConfigs    []map[string]any       `json:"FileSystemConfigs"`
	KMSKeyArn            *string                `json:"KMSKeyArn"`
	ImageConfig          *ImageConfigInput      `json:"ImageConfig"`
	SnapStart            *SnapStartInput        `json:"SnapStart"`
	CapacityProviderConf map[string]any         `json:"CapacityProviderConfig"`
	DurableConfig        map[string]any         `json:"DurableConfig"`
}

// CreateFunctionInput is CreateFunction's body.
type CreateFunctionInput struct {
	FunctionName *string `json:"FunctionName"`
	ConfigInput
	Code                 *CodeInput        `json:"Code"`
	Publish              bool              `json:"Publish"`
	PackageType          *string           `json:"PackageType"`
	Architectures        *[]string         `json:"Architectures"`
	Tags                 map[string]string `json:"Tags"`
	CodeSigningConfigArn *string           `json:"CodeSigningConfigArn"`
}

// UpdateFunctionConfigurationInput is UpdateFunctionConfiguration's body.
type UpdateFunctionConfigurationInput struct {
	ConfigInput
	RevisionID *string `json:"RevisionId"`
}

// UpdateFunctionCodeInput is UpdateFunctionCode's body.
type UpdateFunctionCodeInput struct {
	CodeInput
	Publish       bool      `json:"Publish"`
	DryRun        bool      `json:"DryRun"`
	RevisionID    *string   `json:"RevisionId"`
	Architectures *[]string `json:"Architectures"`
}

// PublishVersionInput is PublishVersion's body.
type PublishVersionInput struct {
	CodeSha256  *string `json:"CodeSha256"`
	Description *string `json:"Description"`
	RevisionID  *string `json:"RevisionId"`
}

// RoutingConfigInput is an alias's RoutingConfig.
type RoutingConfigInput struct {
	AdditionalVersionWeights map[string]*float64 `json:"AdditionalVersionWeights"`
}

// AliasInput is CreateAlias's and UpdateAlias's body.
type AliasInput struct {
	Name            *string             `json:"Name"`
	FunctionVersion *string             `json:"FunctionVersion"`
	Description     *string             `json:"Description"`
	RoutingConfig   *RoutingConfigInput `json:"RoutingConfig"`
	RevisionID      *string             `json:"RevisionId"`
}

// ConcurrencyInput is PutFunctionConcurrency's body.
type ConcurrencyInput struct {
	ReservedConcurrentExecutions *int64 `json:"ReservedConcurrentExecutions"`
}
