package internal_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the module root, one level above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// markdownLink matches [text](target) and ![alt](target); the target ends
// at white space or the closing parenthesis.
var markdownLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// TestDocLinksResolve holds README.md and every page under docs/ to links
// that stay inside the repository and name a file or folder that exists:
// a newcomer must be able to follow every one from a clone alone.
func TestDocLinksResolve(t *testing.T) {
	root := repoRoot(t)
	pages := []string{filepath.Join(root, "README.md")}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			pages = append(pages, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 3 {
		t.Fatalf("found only %d pages; is docs/ missing?", len(pages))
	}
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, page)
		for _, m := range markdownLink.FindAllStringSubmatch(stripCode(string(b)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				t.Errorf("%s: link %q leaves the repository", rel, target)
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			if target == "" {
				continue // an anchor on the same page
			}
			if strings.HasPrefix(target, "/") {
				t.Errorf("%s: link %q is absolute; use a path relative to the page", rel, m[1])
				continue
			}
			abs := filepath.Join(filepath.Dir(page), filepath.FromSlash(target))
			if r, err := filepath.Rel(root, abs); err != nil || strings.HasPrefix(r, "..") {
				t.Errorf("%s: link %q points outside the repository", rel, m[1])
				continue
			}
			if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s: link %q names nothing: %v", rel, m[1], err)
			}
		}
	}
}

// stripCode removes fenced code blocks and inline code spans, where a
// bracket followed by a parenthesis is text, not a link.
func stripCode(s string) string {
	var b strings.Builder
	fenced := false
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		parts := strings.Split(line, "`")
		for i := 0; i < len(parts); i += 2 {
			b.WriteString(parts[i])
		}
	}
	return b.String()
}

// citation is a section reference in code: docs/<page>.md §N or
// docs/behaviour/<page>.md §N (a range "§1–§5" is checked by its first
// section).
var citation = regexp.MustCompile(`docs/((?:behaviour/)?[a-z0-9-]+\.md)(?:\s*§\s*([0-9]+(?:\.[0-9]+)*))?`)

// bareName is a behaviour page named without its folder.
var bareName = regexp.MustCompile(`(^|[^\w/.-])([a-z0-9-]+\.md)`)

// TestCitationsResolve holds code comments to the one citation form,
// docs/behaviour/<page>.md §N (or docs/architecture.md, docs/operations.md),
// and to pages and sections that exist; nothing may point at notes
// outside the repository.
func TestCitationsResolve(t *testing.T) {
	root := repoRoot(t)
	pages := map[string]bool{}
	entries, err := os.ReadDir(filepath.Join(root, "docs", "behaviour"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pages[e.Name()] = true
	}
	headings := map[string]map[string]bool{} // page → section numbers
	sections := func(page string) map[string]bool {
		if h, ok := headings[page]; ok {
			return h
		}
		h := map[string]bool{}
		if b, err := os.ReadFile(filepath.Join(root, "docs", filepath.FromSlash(page))); err == nil {
			for _, m := range regexp.MustCompile(`(?m)^#+\s+([0-9]+(?:\.[0-9]+)*)\.?\s`).FindAllStringSubmatch(string(b), -1) {
				h[m[1]] = true
			}
		} else {
			h = nil
		}
		headings[page] = h
		return h
	}
	outside := []string{"shared" + "/", "shared " + "design", "design" + ".md"}
	self, _ := filepath.Abs("docs_test.go")
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch {
			case d.Name() == "node_modules", d.Name() == ".git", rel == "docs":
				return filepath.SkipDir
			}
			return nil
		}
		code := false
		for _, ext := range []string{".go", ".js", ".mjs", ".cjs", ".py", ".sh"} {
			code = code || strings.HasSuffix(path, ext)
		}
		if path == self || (!code && !strings.HasSuffix(path, ".md")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, o := range outside {
				if strings.Contains(line, o) {
					t.Errorf("%s:%d cites notes outside the repository (%q): %s", rel, i+1, o, strings.TrimSpace(line))
				}
			}
			if !code {
				continue
			}
			for _, m := range citation.FindAllStringSubmatch(line, -1) {
				h := sections(m[1])
				switch {
				case h == nil:
					t.Errorf("%s:%d cites docs/%s, which does not exist", rel, i+1, m[1])
				case m[2] != "" && !h[m[2]]:
					t.Errorf("%s:%d cites docs/%s §%s, which has no such section", rel, i+1, m[1], m[2])
				}
			}
			for _, m := range bareName.FindAllStringSubmatch(line, -1) {
				if pages[m[2]] {
					t.Errorf("%s:%d names %s without its folder; cite docs/behaviour/%s §N", rel, i+1, m[2], m[2])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestArchitectureNamesEveryPackage: every package of the layering table
// has its row in docs/architecture.md, so a newcomer finds what it owns.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	for pkg := range allowed {
		if !strings.Contains(string(b), "`"+pkg+"`") {
			t.Errorf("docs/architecture.md has no row for %s: say what it owns", pkg)
		}
	}
}
