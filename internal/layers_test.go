// Package internal_test holds the test that keeps imports flowing one way
// (docs/architecture.md §2: cli → server → {api, …} → … → store; function and awserr
// are leaves anyone may import).
package internal_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/lambada-dev/lambada/"

// allowed lists, per package, the internal packages its non-test code may
// import besides the leaves. A new package must be added here on purpose.
var allowed = map[string][]string{
	"cmd/lambada":                  {"internal/cli"},
	"internal/cli":                 {"internal/server", "internal/hotreload"},
	"internal/server":              {"internal/frontdoor", "internal/fncreds", "internal/sts", "internal/api", "internal/urls", "internal/api/sigv4", "internal/registry", "internal/natsnode", "internal/store", "internal/store/jetstream", "internal/membership", "internal/shares", "internal/invoke", "internal/async", "internal/pool", "internal/environment", "internal/runtimes", "internal/sandbox", "internal/recursion", "internal/runtimeapi", "internal/logstore", "internal/cwlogs", "internal/metricseries", "internal/console"},
	"internal/console":             {"internal/api/sigv4", "internal/frontdoor", "internal/invoke", "internal/async", "internal/registry", "internal/store", "internal/metricseries", "internal/logstore", "internal/cwlogs", "internal/membership"},
	"internal/console/consoletest": {"internal/servertest", "internal/server"},
	"internal/servertest":          {"internal/server", "internal/sandbox", "internal/syncbuf", "internal/waitfor", "internal/natsnode/natstest"},
	"internal/api":                 {"internal/frontdoor", "internal/api/sigv4", "internal/registry", "internal/invoke", "internal/async", "internal/recursion", "internal/cwlogs"},
	"internal/api/sigv4":           {},
	"internal/urls":                {"internal/frontdoor", "internal/api/sigv4", "internal/registry", "internal/invoke", "internal/recursion"},
	"internal/async":               {"internal/invoke", "internal/store", "internal/registry"},
	"internal/invoke":              {"internal/registry", "internal/recursion", "internal/pool", "internal/environment", "internal/runtimes", "internal/codezip", "internal/runtimeapi", "internal/sandbox", "internal/hotreload"},
	"internal/pool":                {"internal/environment"},
	"internal/hotreload":           {},
	"internal/environment":         {"internal/runtimeapi", "internal/sandbox", "internal/runtimes", "internal/codezip"},
	"internal/runtimeapi":          {},
	"internal/sandbox":             {"internal/sandbox/shim"},
	"internal/sandbox/shim":        {},
	"internal/runtimes":            {},
	"internal/recursion":           {},
	"internal/fncreds":             {},
	"internal/sts":                 {"internal/api/sigv4"},
	"internal/registry":            {"internal/store", "internal/codezip"},
	"internal/codezip":             {},
	"internal/store":               {},
	"internal/store/jetstream":     {"internal/store"},
	"internal/store/storetest":     {"internal/store"},
	"internal/natsnode":            {},
	"internal/membership":          {"internal/store", "internal/logkey"},
	"internal/shares":              {"internal/store", "internal/logkey"},
	"internal/natsnode/natstest":   {},
	"internal/function":            {},
	"internal/awserr":              {},
	"internal/logkey":              {},
	"internal/syncbuf":             {},
	"internal/frontdoor":           {},
	"internal/waitfor":             {},
	"internal/logstore":            {},
	"internal/metricseries":        {},
	"internal/cwlogs":              {"internal/logstore"},
}

var leaves = map[string]bool{"internal/function": true, "internal/awserr": true, "internal/logkey": true}

func TestImportsFlowOneWay(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "testdata", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(rel, "internal") && !strings.HasPrefix(rel, "cmd") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		ok, known := allowed[rel]
		if !known {
			if !seen[rel] {
				t.Errorf("package %s is not in the layering table: add it with the imports it may use", rel)
				seen[rel] = true
			}
			return nil
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			dep, internal := strings.CutPrefix(p, module)
			if !internal || leaves[dep] || dep == rel {
				continue
			}
			if !contains(ok, dep) {
				t.Errorf("%s imports %s, which the layering does not allow (%s)", rel, dep, filepath.Base(path))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
