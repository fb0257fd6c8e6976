package cwlogs

// Matcher compiles a CloudWatch Logs filter pattern, the subset
// FilterLogEvents accepts (docs/behaviour/logs.md §5), into a test of one
// message; the error is the InvalidParameterException FilterLogEvents
// would answer. The console's live tail filters with it.
func Matcher(pattern string) (func(msg string) bool, error) {
	m, err := compile(pattern)
	if err != nil {
		return nil, err
	}
	return m, nil
}
