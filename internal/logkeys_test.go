package internal_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// keyLike is what a literal log key looks like; a message has spaces.
var keyLike = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// TestLogKeysAreConstants: server code passes log attribute keys as
// constants of internal/logkey, never as string literals, so one thing
// has one key everywhere (docs/architecture.md §7). It looks at the
// key positions of slog calls (Debug/Info/Warn/Error and their Context
// forms, With, slog.String/Any/…) in non-test code.
func TestLogKeysAreConstants(t *testing.T) {
	root := repoRoot(t)
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "testdata", ".git", "bench", "conformance":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if strings.HasPrefix(filepath.ToSlash(rel), "internal/logkey/") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			c, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := c.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			recv, _ := sel.X.(*ast.Ident)
			if recv != nil && (recv.Name == "http" || recv.Name == "errors" || recv.Name == "fmt") {
				return true
			}
			first := -1
			switch sel.Sel.Name {
			case "Debug", "Info", "Warn", "Error":
				first = 1
			case "DebugContext", "InfoContext", "WarnContext", "ErrorContext":
				first = 2
			case "With":
				first = 0
			case "String", "Any", "Int", "Int64", "Uint64", "Bool", "Duration", "Group", "Time", "Float64":
				if recv != nil && recv.Name == "slog" {
					check(t, fset, c.Args[0])
				}
				return true
			default:
				return true
			}
			for i := first; i < len(c.Args); i += 2 {
				if lit, ok := c.Args[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					check(t, fset, lit)
				} else if _, ok := c.Args[i].(*ast.CallExpr); ok {
					i-- // a slog.Attr takes one place, not two
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func check(t *testing.T, fset *token.FileSet, e ast.Expr) {
	t.Helper()
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return
	}
	if v, _ := strconv.Unquote(lit.Value); keyLike.MatchString(v) {
		t.Errorf("%s: log key %s is a literal; use a constant of internal/logkey", fset.Position(lit.Pos()), lit.Value)
	}
}
