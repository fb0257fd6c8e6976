package awserr

// Codes lambada sends: every one has a row below and a use outside this
// package (catalogue_test.go checks both). The rest of the modelled
// catalogue is in rows only.
const (
	InvalidParameterValue = "InvalidParameterValueException"
	InvalidRequestContent = "InvalidRequestContentException"
	RecursiveInvocation   = "RecursiveInvocationException"
	Validation            = "ValidationException"
	AccessDenied          = "AccessDeniedException"
	InvalidSignature      = "InvalidSignatureException"
	IncompleteSignature   = "IncompleteSignatureException"
	MissingAuthToken      = "MissingAuthenticationTokenException"
	UnrecognizedClient    = "UnrecognizedClientException"
	ResourceNotFound      = "ResourceNotFoundException"
	UnknownOperation      = "UnknownOperationException"
	ResourceConflict      = "ResourceConflictException"
	PreconditionFailed    = "PreconditionFailedException"
	RequestEntityTooLarge = "RequestEntityTooLargeException"
	TooManyRequests       = "TooManyRequestsException"
	ServiceException      = "ServiceException"
	InvalidRuntime        = "InvalidRuntimeException"
	InvalidZipFile        = "InvalidZipFileException"
	ServiceUnavailable    = "ServiceUnavailableException"

	CodeSigningConfigNotFound            = "CodeSigningConfigNotFoundException"
	ProvisionedConcurrencyConfigNotFound = "ProvisionedConcurrencyConfigNotFoundException"
	// RequestTimeout is the front door's answer to a body that arrives too
	// slowly (docs/security.md): unmodeled, like AWS's front-door errors.
	RequestTimeout = "RequestTimeoutException"
)

// rows is the catalogue as data: code, status, message member, unmodeled.
// Message member "message" where the service model marks it so, else "Message"
// (docs/behaviour/api-common.md §5.4).
var rows = []Spec{
	// 400
	{"AliasLimitExceededException", 400, "message", false},
	{"CallbackTimeoutException", 400, "Message", false},
	{"CapacityProviderLimitExceededException", 400, "message", false},
	{"CodeStorageExceededException", 400, "message", false},
	{"CodeVerificationFailedException", 400, "Message", false},
	{"FunctionVersionsPerCapacityProviderLimitExceededException", 400, "message", false},
	{"InvalidCodeSignatureException", 400, "Message", false},
	{InvalidParameterValue, 400, "message", false},
	{InvalidRequestContent, 400, "message", false},
	{"ModeNotSupportedException", 400, "message", false},
	{"NoPublishedVersionException", 400, "Message", false},
	{"PolicyLengthExceededException", 400, "message", false},
	{"PublicPolicyException", 400, "Message", false},
	{RecursiveInvocation, 400, "Message", false},
	{"ResourceInUseException", 400, "Message", false},
	{"SnapStartException", 400, "Message", false},
	{Validation, 400, "message", true},
	// 402
	{"ServiceQuotaExceededException", 402, "Message", false},
	// 403
	{AccessDenied, 403, "message", true},
	{InvalidSignature, 403, "message", true},
	{IncompleteSignature, 403, "message", true},
	{MissingAuthToken, 403, "message", true},
	{UnrecognizedClient, 403, "message", true},
	{"EFSMountFailureException", 403, "Message", false},
	{"S3FilesMountFailureException", 403, "Message", false},
	// 404
	{CodeSigningConfigNotFound, 404, "Message", false},
	{ProvisionedConcurrencyConfigNotFound, 404, "message", false},
	{ResourceNotFound, 404, "Message", false},
	{UnknownOperation, 404, "message", true},
	// 408
	{"EFSMountConnectivityException", 408, "Message", false},
	{"EFSMountTimeoutException", 408, "Message", false},
	{"S3FilesMountConnectivityException", 408, "Message", false},
	{"S3FilesMountTimeoutException", 408, "Message", false},
	{"SnapStartTimeoutException", 408, "Message", false},
	{RequestTimeout, 408, "message", true},
	// 409
	{"CodeArtifactUserDeletedException", 409, "message", false},
	{"CodeArtifactUserFailedException", 409, "message", false},
	{"CodeArtifactUserPendingException", 409, "message", false},
	{"DurableExecutionAlreadyStartedException", 409, "Message", false},
	{ResourceConflict, 409, "message", false},
	{"SnapStartNotReadyException", 409, "Message", false},
	{"SnapStartRegenerationFailureException", 409, "Message", false},
	// 410
	{"EFSIOException", 410, "Message", false},
	// 412
	{PreconditionFailed, 412, "message", false},
	// 413
	{"RequestTooLargeException", 413, "message", false},
	{"SerializedRequestEntityTooLargeException", 413, "message", false},
	{RequestEntityTooLarge, 413, "message", true},
	// 415
	{"UnsupportedMediaTypeException", 415, "message", false},
	// 429
	{TooManyRequests, 429, "message", false},
	// 500
	{ServiceException, 500, "Message", false},
	// 502
	{"EC2AccessDeniedException", 502, "Message", false},
	{"EC2ThrottledException", 502, "Message", false},
	{"EC2UnexpectedException", 502, "Message", false},
	{"ENILimitReachedException", 502, "Message", false},
	{"ENINotReadyException", 502, "Message", false},
	{InvalidRuntime, 502, "Message", false},
	{"InvalidSecurityGroupIDException", 502, "Message", false},
	{"InvalidSubnetIDException", 502, "Message", false},
	{InvalidZipFile, 502, "Message", false},
	{"KMSAccessDeniedException", 502, "Message", false},
	{"KMSDisabledException", 502, "Message", false},
	{"KMSInvalidStateException", 502, "Message", false},
	{"KMSNotFoundException", 502, "Message", false},
	{"ResourceNotReadyException", 502, "message", false},
	{"SubnetIPAddressLimitReachedException", 502, "Message", false},
	// 503: lambada is starting or stopping (storage not ready). Unmodeled;
	// SDKs retry it.
	{ServiceUnavailable, 503, "message", true},
}

var catalogue = func() map[string]Spec {
	m := make(map[string]Spec, len(rows))
	for _, r := range rows {
		if _, dup := m[r.Code]; dup {
			panic("awserr: duplicate catalogue row " + r.Code)
		}
		m[r.Code] = r
	}
	return m
}()
