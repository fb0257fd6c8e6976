package awserr

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sentCodes returns the code constants of catalogue.go's const block:
// name → value.
func sentCodes(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "catalogue.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			for i, name := range v.Names {
				lit, ok := v.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("constant %s is not a string literal", name.Name)
				}
				out[name.Name], _ = strconv.Unquote(lit.Value)
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d code constants in catalogue.go", len(out))
	}
	return out
}

// TestEveryCodeHasARow: a code constant without a catalogue row would
// render as a ServiceException (New's fallback) instead of itself.
func TestEveryCodeHasARow(t *testing.T) {
	for name, code := range sentCodes(t) {
		row, ok := catalogue[code]
		if !ok {
			t.Errorf("%s (%s) has no catalogue row", name, code)
			continue
		}
		if row.Status < 400 || row.Status > 599 || (row.MessageKey != "message" && row.MessageKey != "Message") {
			t.Errorf("%s: odd row %+v", name, row)
		}
		if e := New(code, "m"); e.Code != code {
			t.Errorf("New(%s) = %s", code, e.Code)
		}
	}
}

// TestEveryCodeIsSent: the constants are the codes lambada sends, so each
// one is used by code outside this package (test files do not count). A
// code nothing sends belongs in rows only, as a modelled code.
func TestEveryCodeIsSent(t *testing.T) {
	codes := sentCodes(t)
	used := map[string]bool{}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "testdata", ".git", "awserr":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for name := range codes {
			if strings.Contains(string(b), "awserr."+name) {
				used[name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range codes {
		// ServiceException is sent through Internal, in this package.
		if !used[name] && name != "ServiceException" {
			t.Errorf("awserr.%s is never sent outside package awserr; keep it as a row only", name)
		}
	}
}
