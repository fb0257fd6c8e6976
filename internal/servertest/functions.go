package servertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// built caches the bootstraps built by this test binary, per function.
var built struct {
	sync.Mutex
	dir  string
	zips map[string][]byte
}

// GoFunction builds testdata/functions/<name> (an aws-lambda-go program)
// into a provided.al2023 deployment package with its bootstrap, once per
// test binary.
func GoFunction(t testing.TB, name string) []byte {
	t.Helper()
	built.Lock()
	defer built.Unlock()
	if z, ok := built.zips[name]; ok {
		return z
	}
	if built.zips == nil {
		dir, err := os.MkdirTemp("", "lambada-functions-")
		if err != nil {
			t.Fatal(err)
		}
		built.dir, built.zips = dir, map[string][]byte{}
	}
	root := moduleRoot(t)
	out := filepath.Join(built.dir, name, "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./testdata/functions/"+name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building function %s: %v\n%s", name, err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	z := Zip(t, map[string]string{"bootstrap": string(bin)})
	built.zips[name] = z
	return z
}

// moduleRoot finds the directory holding go.mod above the test's folder.
func moduleRoot(t testing.TB) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		t.Fatal("not inside the lambada module")
	}
	return filepath.Dir(mod)
}

// FolderFunction zips testdata/functions/<dir> as it is: a Node.js or
// Python handler folder, deployed unchanged.
func FolderFunction(t testing.TB, dir string) []byte {
	t.Helper()
	root := filepath.Join(moduleRoot(t), "testdata", "functions", filepath.FromSlash(dir))
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("zipping %s: %v", dir, err)
	}
	return Zip(t, files)
}
