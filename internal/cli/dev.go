package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/hotreload"
	"github.com/lambada-dev/lambada/internal/server"
)

// devRole is the execution role `lambada dev` gives functions it creates.
const devRole = "arn:aws:iam::" + server.DefaultAccountID + ":role/lambada-dev"

// runDev is `lambada dev DIR` (docs/behaviour/dev-loop.md §5): the function
// runs from DIR (or, with --build, from a copy refreshed after each
// successful build), against a running server or an embedded one, and its
// log lines are followed until Ctrl-C, which leaves the function in place.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "function name (default: the folder's name)")
	runtime := fs.String("runtime", "", "runtime (default: guessed from the folder)")
	handler := fs.String("handler", "", "handler (default: guessed from the folder)")
	build := fs.String("build", "", `command run (sh -c, in DIR) after each change; the function keeps its old code when it fails`)
	endpoint := fs.String("endpoint-url", os.Getenv("AWS_ENDPOINT_URL_LAMBDA"), "a running lambada (default: start one in this process)")
	region := fs.String("region", envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", server.DefaultRegion)), "the region lambada serves")
	bucket := fs.String("hot-reload-bucket", server.DefaultHotReloadBucket, "the server's hot-reload marker bucket")
	debug := fs.Bool("debug", false, "debug mode: no timeout, one invocation at a time, Node's inspector / the debugger port (LAMBADA_DEBUG=1)")
	debugPort := fs.Int("debug-port", 0, "debug mode: the debugger's port (default 9229 for Node, 5678 for Python)")
	listen := fs.String("listen", server.DefaultListen, "embedded server: address to listen on")
	data := fs.String("data", server.DefaultDataDir, "embedded server: its data folder")
	var scfg server.Config
	fs.TextVar(&scfg.Isolation, "isolation", server.DefaultIsolation, "embedded server: sandbox mode (auto, strict, none)")
	var dir string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if dir == "" && fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	if dir == "" {
		if _, err := os.Stat(ProjectFile); err == nil {
			dir = "."
		}
	}
	if dir == "" {
		fmt.Fprintln(stderr, "usage: lambada dev DIR [--name N] [--runtime R] [--handler H] [--build CMD] [--endpoint-url URL]")
		return errUsage
	}
	fns, err := devFunctions(dir, *name, *runtime, *handler, *build, stdout)
	if err != nil {
		return err
	}
	var creds aws.CredentialsProvider = credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))
	var srv *server.Server
	if *endpoint == "" {
		scfg.Listen, scfg.DataDir = *listen, *data
		scfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		scfg.FunctionLogs = server.FunctionLogsOff // followed through the log store below
		scfg.AccessKeyID, scfg.SecretAccessKey = os.Getenv("LAMBADA_ACCESS_KEY_ID"), os.Getenv("LAMBADA_SECRET_ACCESS_KEY")
		srv, err = server.New(scfg)
		if err != nil {
			return err
		}
		if err := srv.Start(ctx); err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), server.DefaultShutdownTimeout)
			defer cancel()
			_ = srv.Close(cctx)
		}()
		c, _ := srv.Credentials()
		creds = credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")
		*endpoint = srv.URL()
		fmt.Fprintf(stdout, "# lambada is running in this process. Point the AWS SDK or CLI at it with:\n")
		fmt.Fprintf(stdout, "export AWS_ACCESS_KEY_ID=%s\n", c.AccessKeyID)
		fmt.Fprintf(stdout, "export AWS_SECRET_ACCESS_KEY=%s\n", c.SecretAccessKey)
		fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL_LAMBDA=%s\n", srv.URL())
		fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=%s\n", srv.URL())
		fmt.Fprintf(stdout, "# Web console: %s (sign in with the access key id and secret above)\n", srv.ConsoleURL())
	}
	lc := lambda.New(lambda.Options{Region: *region, BaseEndpoint: aws.String(*endpoint), Credentials: creds})

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, f := range fns {
		// Several functions in debug mode get consecutive ports.
		port := debugPortOf(*debugPort, f.Runtime) + i
		if err := f.start(ctx, &wg, lc, *bucket, *debug, port, stdout, stderr); err != nil {
			return err
		}
		if *debug {
			fmt.Fprintf(stdout, "# %s in debug mode: no timeout, one invocation at a time, debugger port 127.0.0.1:%d (LAMBADA_DEBUG_PORT)\n", f.Name, port)
		}
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			err := tailLogs(ctx, tailOptions{Name: name, Endpoint: *endpoint, LambdaEndpoint: *endpoint, Region: *region,
				Creds: creds, Start: time.Now(), Follow: true}, stdout)
			if err != nil && ctx.Err() == nil {
				fmt.Fprintf(stderr, "# following %s's logs: %v\n", name, err)
			}
		}(f.Name)
	}
	fmt.Fprintln(stdout, "# edits are live on the next invoke. Ctrl-C to stop.")
	<-ctx.Done()
	cancel()
	names := make([]string, len(fns))
	for i, f := range fns {
		names[i] = f.Name
	}
	fmt.Fprintf(stdout, "# stopped. Function %s is left in place", strings.Join(names, ", "))
	if srv != nil {
		fmt.Fprintf(stdout, " (in %s; the next `lambada server --data %s` serves it)", *data, *data)
	}
	fmt.Fprintln(stdout, ".")
	return nil
}

// ProjectFile lists several functions for `lambada dev`
// (docs/behaviour/dev-loop.md §7).
const ProjectFile = "lambada.json"

// devFunc is one function `lambada dev` runs.
type devFunc struct {
	Name    string            `json:"name"`
	Dir     string            `json:"dir"`
	Runtime string            `json:"runtime"`
	Handler string            `json:"handler"`
	Env     map[string]string `json:"env"`
	URL     bool              `json:"url"`
	Build   string            `json:"build"`
}

// devFunctions reads DIR/lambada.json when there is one, else makes DIR
// the one function; missing runtimes and handlers are guessed and printed.
func devFunctions(dir, name, runtime, handler, build string, stdout io.Writer) ([]*devFunc, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("dev: %s is not a folder", dir)
	}
	var fns []*devFunc
	if b, err := os.ReadFile(filepath.Join(dir, ProjectFile)); err == nil {
		var p struct {
			Functions []*devFunc `json:"functions"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("dev: reading %s: %w", filepath.Join(dir, ProjectFile), err)
		}
		if len(p.Functions) == 0 {
			return nil, fmt.Errorf("dev: %s lists no functions", filepath.Join(dir, ProjectFile))
		}
		for _, f := range p.Functions {
			if f.Name == "" || f.Dir == "" {
				return nil, fmt.Errorf("dev: every function in %s needs a name and a dir", ProjectFile)
			}
			if !filepath.IsAbs(f.Dir) {
				f.Dir = filepath.Join(dir, f.Dir)
			}
			if fi, err := os.Stat(f.Dir); err != nil || !fi.IsDir() {
				return nil, fmt.Errorf("dev: %s: %s is not a folder", f.Name, f.Dir)
			}
		}
		fns = p.Functions
	} else {
		if name == "" {
			name = filepath.Base(dir)
		}
		fns = []*devFunc{{Name: name, Dir: dir, Runtime: runtime, Handler: handler, Build: build}}
	}
	for _, f := range fns {
		if f.Runtime == "" || f.Handler == "" {
			rt, h := guessRuntime(f.Dir)
			if f.Runtime == "" {
				f.Runtime = rt
			}
			if f.Handler == "" {
				f.Handler = h
			}
			if f.Runtime == "" {
				return nil, fmt.Errorf("dev: cannot guess the runtime of %s (no bootstrap, go.mod, package.json, *.js, *.mjs or *.py); give --runtime and --handler", f.Dir)
			}
		}
		fmt.Fprintf(stdout, "# function %s: runtime %s, handler %s, code %s\n", f.Name, f.Runtime, f.Handler, f.Dir)
	}
	return fns, nil
}

// start deploys f and, with a build command, starts rebuilding it on
// change (the goroutine counted in wg).
func (f *devFunc) start(ctx context.Context, wg *sync.WaitGroup, lc *lambda.Client, bucket string, debug bool, debugPort int, stdout, stderr io.Writer) error {
	codeDir := f.Dir
	if f.Build != "" {
		// The function runs from a copy that only a successful build
		// refreshes, so a failing build keeps the old code running.
		// Named by the function and its source folder: the same project
		// finds its copy again, two projects' functions of the same
		// name do not share one.
		sum := sha256.Sum256([]byte(f.Dir))
		codeDir = filepath.Join(os.TempDir(), "lambada-dev-"+f.Name+"-"+hex.EncodeToString(sum[:4]))
		if err := runBuild(ctx, f.Dir, f.Build, stdout, stderr); err != nil {
			fmt.Fprintf(stdout, "# build failed: %v\n", err)
		}
		if err := syncDir(f.Dir, codeDir); err != nil {
			return fmt.Errorf("dev: copying %s: %w", f.Dir, err)
		}
	}
	existed, err := deployDev(ctx, lc, f, bucket, codeDir, debug, debugPort)
	if err != nil {
		return err
	}
	if existed != "" {
		fmt.Fprintf(stdout, "# %s existed (%s): updated to run from %s, runtime %s, handler %s\n", f.Name, existed, codeDir, f.Runtime, f.Handler)
	}
	fmt.Fprintf(stdout, "# %s runs from %s\n", f.Name, codeDir)
	if f.URL {
		u, err := devURL(ctx, lc, f.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "# %s: %s\n", f.Name, u)
	}
	if f.Build == "" {
		return nil
	}
	changed := make(chan struct{}, 1)
	w, err := hotreload.New(0, func(string) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}, nil)
	if err != nil {
		return err
	}
	if err := w.Watch(f.Dir); err != nil {
		_ = w.Close()
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer w.Close()
		// What DIR held when the last build ended: the build's own writes
		// (its outputs) come back as a change, which must not start the
		// same build again.
		built := dirStamps(f.Dir)
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			if now := dirStamps(f.Dir); maps.Equal(now, built) {
				continue
			}
			fmt.Fprintf(stdout, "# change in %s: running %s\n", f.Dir, f.Build)
			err := runBuild(ctx, f.Dir, f.Build, stdout, stderr)
			built = dirStamps(f.Dir)
			if err != nil {
				fmt.Fprintf(stdout, "# build failed (the function keeps its previous code): %v\n", err)
				continue
			}
			if err := syncDir(f.Dir, codeDir); err != nil {
				fmt.Fprintf(stdout, "# copying the build failed (the function keeps its previous code): %v\n", err)
				continue
			}
			fmt.Fprintln(stdout, "# build ok: the next invoke runs the new code")
		}
	}()
	return nil
}

// devURL gives the function a URL (AuthType NONE) unless it has one.
func devURL(ctx context.Context, lc *lambda.Client, name string) (string, error) {
	out, err := lc.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String(name), AuthType: types.FunctionUrlAuthTypeNone})
	if err == nil {
		return aws.ToString(out.FunctionUrl), nil
	}
	var conflict *types.ResourceConflictException
	if !errors.As(err, &conflict) {
		return "", fmt.Errorf("dev: a URL for %s: %w", name, err)
	}
	got, err := lc.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("dev: %s's URL: %w", name, err)
	}
	return aws.ToString(got.FunctionUrl), nil
}

// debugPortOf is the debugger port debug mode gives a runtime.
func debugPortOf(port int, runtime string) int {
	if port > 0 {
		return port
	}
	if function.RuntimeFamily(runtime) == "python" {
		return 5678
	}
	return 9229
}

// guessRuntime picks a runtime and handler from the folder's files.
func guessRuntime(dir string) (runtime, handler string) {
	has := func(pattern string) string {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		if len(m) == 0 {
			return ""
		}
		return filepath.Base(m[0])
	}
	switch {
	case has("bootstrap") != "" || has("go.mod") != "":
		return function.NewestRuntime("provided"), "bootstrap"
	case has("package.json") != "" || has("*.mjs") != "" || has("*.js") != "" || has("*.cjs") != "":
		for _, f := range []string{"index.mjs", "index.js", "index.cjs"} {
			if has(f) != "" {
				return function.NewestRuntime("nodejs"), "index.handler"
			}
		}
		f := has("*.mjs")
		if f == "" {
			f = has("*.js")
		}
		if f == "" {
			return function.NewestRuntime("nodejs"), "index.handler"
		}
		return function.NewestRuntime("nodejs"), strings.TrimSuffix(f, filepath.Ext(f)) + ".handler"
	case has("*.py") != "":
		if has("lambda_function.py") != "" {
			return function.NewestRuntime("python"), "lambda_function.lambda_handler"
		}
		if has("app.py") != "" {
			return function.NewestRuntime("python"), "app.handler"
		}
		f := has("*.py")
		return function.NewestRuntime("python"), strings.TrimSuffix(f, ".py") + ".handler"
	}
	return "", ""
}

// deployDev creates the function from the host folder, or points an
// existing one at it with the given runtime and handler; for an existing
// one it returns what its code was ("" when it was created).
func deployDev(ctx context.Context, lc *lambda.Client, f *devFunc, bucket, dir string, debug bool, debugPort int) (existed string, err error) {
	name, runtime, handler := f.Name, f.Runtime, f.Handler
	// debugEnv sets or clears debug mode (docs/behaviour/dev-loop.md §6)
	// in the function's variables.
	debugEnv := func(vars map[string]string) map[string]string {
		if vars == nil {
			vars = map[string]string{}
		}
		maps.Copy(vars, f.Env)
		delete(vars, "LAMBADA_DEBUG")
		delete(vars, "LAMBADA_DEBUG_PORT")
		if debug {
			vars["LAMBADA_DEBUG"] = "1"
			if debugPort > 0 {
				vars["LAMBADA_DEBUG_PORT"] = strconv.Itoa(debugPort)
			}
		}
		return vars
	}
	_, err = lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(devRole), Runtime: types.Runtime(runtime), Handler: aws.String(handler),
		Code:        &types.FunctionCode{S3Bucket: aws.String(bucket), S3Key: aws.String(dir)},
		Environment: &types.Environment{Variables: debugEnv(nil)},
	})
	var conflict *types.ResourceConflictException
	if !errors.As(err, &conflict) {
		if err != nil {
			return "", fmt.Errorf("dev: creating %s: %w", name, err)
		}
		return "", nil
	}
	before, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("dev: reading %s: %w", name, err)
	}
	existed = "code from a zip, runtime " + string(before.Configuration.Runtime) + ", handler " + aws.ToString(before.Configuration.Handler)
	if before.Code != nil {
		if loc, ok := strings.CutPrefix(aws.ToString(before.Code.Location), "file://"); ok {
			existed = "code from the folder " + loc + ", runtime " + string(before.Configuration.Runtime) + ", handler " + aws.ToString(before.Configuration.Handler)
		}
	}
	if _, err := lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name),
		S3Bucket: aws.String(bucket), S3Key: aws.String(dir)}); err != nil {
		return "", fmt.Errorf("dev: updating %s's code: %w", name, err)
	}
	var vars map[string]string
	if before.Configuration.Environment != nil {
		vars = before.Configuration.Environment.Variables
	}
	if _, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name),
		Runtime: types.Runtime(runtime), Handler: aws.String(handler), Environment: &types.Environment{Variables: debugEnv(vars)}}); err != nil {
		return "", fmt.Errorf("dev: updating %s's configuration: %w", name, err)
	}
	return existed, nil
}

// stamp is what tells a file's change: size, mode and modification time.
type stamp struct {
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

// dirStamps stamps every file and folder under dir (.git skipped).
func dirStamps(dir string) map[string]stamp {
	out := map[string]stamp{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // gone meanwhile: absent from the stamps
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if info, err := d.Info(); err == nil {
			out[p] = stamp{size: info.Size(), mode: info.Mode(), mtime: info.ModTime()}
		}
		return nil
	})
	return out
}

// runBuild runs cmd with sh -c in dir; its output goes to the terminal.
func runBuild(ctx context.Context, dir, cmd string, stdout, stderr io.Writer) error {
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.Dir, c.Stdout, c.Stderr = dir, stdout, stdout
	return c.Run()
}

// syncDir makes dst a copy of src: files copied over (and replaced by
// rename, so a running process keeps its old binary), files gone from src
// removed. .git is skipped.
func syncDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	keep := map[string]bool{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		keep[rel] = true
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		if old, err := os.Stat(target); err == nil && old.Size() == info.Size() && !old.ModTime().Before(info.ModTime()) {
			return nil // unchanged since the last copy
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		tmp := target + ".lambada-tmp"
		if err := os.WriteFile(tmp, b, info.Mode().Perm()); err != nil {
			return err
		}
		return os.Rename(tmp, target)
	})
	if err != nil {
		return err
	}
	var gone []string
	_ = filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dst, p)
		if !keep[rel] {
			gone = append(gone, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	for _, p := range gone {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}
