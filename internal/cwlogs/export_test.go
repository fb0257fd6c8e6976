package cwlogs

// CompileForTest exposes the filter pattern compiler to the external tests.
func CompileForTest(p string) (func(string) bool, error) {
	m, err := compile(p)
	return m, err
}
