package runtimes_test

// Layers as the three runtime families find them (docs/behaviour/layers.md
// §6): Node.js (CommonJS and ES modules), Python and custom runtimes
// import from two layers, the later one overriding a file of the earlier,
// and keep working after a layer version is deleted. Once without
// isolation (the search paths name the merged folder) and once with the
// host's isolation (the layers mounted at /opt where it can).

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/sandbox"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// layerZip builds a zip whose files under bin/ and named bootstrap are
// executable.
func layerZip(t *testing.T, files map[string]string, bins map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte, mode uint32) {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o644)
		if mode != 0 {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for n, c := range files {
		exe := uint32(0)
		if strings.HasPrefix(n, "bin/") || n == "bootstrap" {
			exe = 1
		}
		add(n, []byte(c), exe)
	}
	for n, b := range bins {
		add(n, b, 1)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipEntry returns one file of a zip.
func zipEntry(t *testing.T, zipped []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func publish(t *testing.T, c *lambda.Client, name string, zip []byte) string {
	t.Helper()
	out, err := c.PublishLayerVersion(context.Background(), &lambda.PublishLayerVersionInput{
		LayerName: aws.String(name), Content: &types.LayerVersionContentInput{ZipFile: zip},
	})
	if err != nil {
		t.Fatalf("PublishLayerVersion %s: %v", name, err)
	}
	return aws.ToString(out.LayerVersionArn)
}

func invokeJSON(t *testing.T, c *lambda.Client, name, payload string) map[string]any {
	t.Helper()
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload), LogType: types.LogTypeTail})
	if err != nil {
		t.Fatalf("Invoke %s: %v", name, err)
	}
	if out.FunctionError != nil {
		t.Fatalf("Invoke %s: %s %s", name, aws.ToString(out.FunctionError), out.Payload)
	}
	var m map[string]any
	if err := json.Unmarshal(out.Payload, &m); err != nil {
		t.Fatalf("Invoke %s: %s", name, out.Payload)
	}
	return m
}

func TestLayersInRuntimes(t *testing.T) {
	_, nodeErr := exec.LookPath("node")
	_, pyErr := exec.LookPath("python3")
	for _, mode := range []sandbox.Mode{sandbox.None, sandbox.Auto} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.Isolation = mode }})
			c := s.Client
			ctx := context.Background()
			echo := servertest.GoFunction(t, "echo")
			a := publish(t, c, "lib-a", layerZip(t, map[string]string{
				"nodejs/node_modules/greet/package.json": `{"name":"greet","main":"index.js"}`,
				"nodejs/node_modules/greet/index.js":     `module.exports = () => "A";`,
				"nodejs/node_modules/only-a/index.js":    `module.exports = "only-a";`,
				"python/greet.py":                        "def who():\n    return 'A'\n",
				"python/only_a.py":                       "X = 'only-a'\n",
				"bin/hello":                              "#!/bin/sh\necho A\n",
				"data/shared.txt":                        "from A",
			}, nil))
			b := publish(t, c, "lib-b", layerZip(t, map[string]string{
				"nodejs/node_modules/greet/index.js": `module.exports = () => "B";`,
				"python/greet.py":                    "def who():\n    return 'B'\n",
				"bin/hello":                          "#!/bin/sh\necho B\n",
			}, nil))
			layers := []string{a, b}

			// provided: the program on PATH and a file come from the later layer.
			if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
				FunctionName: aws.String("prov"), Role: aws.String(nodeRole), Runtime: types.RuntimeProvidedal2023,
				Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: echo}, Layers: layers,
			}); err != nil {
				t.Fatal(err)
			}
			if got := invokeJSON(t, c, "prov", `{"op":"run","msg":"hello"}`)["out"]; got != "B\n" {
				t.Errorf("hello on PATH printed %q, want B", got)
			}
			env := invokeJSON(t, c, "prov", `{"op":"env"}`)
			opt := "/opt"
			if !strings.Contains(env["PATH"].(string), ":/opt/bin") {
				// No mount namespace: the merged layers' own folder.
				p := env["PATH"].(string)
				opt = strings.TrimSuffix(p[strings.LastIndex(p, ":")+1:], "/bin")
			}
			if !strings.HasSuffix(env["LD_LIBRARY_PATH"].(string), ":"+opt+"/lib") {
				t.Errorf("LD_LIBRARY_PATH %q does not end with %s/lib", env["LD_LIBRARY_PATH"], opt)
			}
			if got := invokeJSON(t, c, "prov", `{"op":"read","msg":"`+opt+`/data/shared.txt"}`)["content"]; got != "from A" {
				t.Errorf("%s/data/shared.txt = %q", opt, got)
			}

			// A custom runtime whose bootstrap comes from a layer.
			if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
				FunctionName: aws.String("opt-boot"), Role: aws.String(nodeRole), Runtime: types.RuntimeProvidedal2023,
				Handler: aws.String("x"), Code: &types.FunctionCode{ZipFile: servertest.Zip(t, map[string]string{"README": "no bootstrap here"})},
				Layers: []string{publish(t, c, "runtime", layerZip(t, map[string]string{"extensions/ext": "#!/bin/sh\n"},
					map[string][]byte{"bootstrap": zipEntry(t, echo, "bootstrap")}))},
			}); err != nil {
				t.Fatal(err)
			}
			out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("opt-boot"), Payload: []byte(`{"op":"echo","k":"v"}`), LogType: types.LogTypeTail})
			if err != nil || out.FunctionError != nil || !strings.Contains(string(out.Payload), `"k":"v"`) {
				t.Fatalf("the layer's bootstrap: %v %s", err, out.Payload)
			}
			// Extensions in a layer are not started, and the log says so.
			if tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult)); !strings.Contains(string(tail),
				"Extensions are not supported by this server: /opt/extensions/ext not started.\n") {
				t.Errorf("no line about the layer's extension in the log:\n%s", tail)
			}

			if nodeErr == nil {
				node := servertest.Zip(t, map[string]string{
					"cjs.js":  `const g = require("greet"); const o = require("only-a"); exports.handler = async () => ({ who: g(), other: o });`,
					"esm.mjs": `import g from "greet"; import o from "only-a"; export const handler = async () => ({ who: g(), other: o });`,
				})
				for _, h := range []string{"cjs.handler", "esm.handler"} {
					name := "node-" + strings.TrimSuffix(h, ".handler")
					if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
						FunctionName: aws.String(name), Role: aws.String(nodeRole), Runtime: types.RuntimeNodejs22x,
						Handler: aws.String(h), Code: &types.FunctionCode{ZipFile: node}, Layers: layers,
					}); err != nil {
						t.Fatal(err)
					}
					if got := invokeJSON(t, c, name, `{}`); got["who"] != "B" || got["other"] != "only-a" {
						t.Errorf("%s: %v, want who B and other only-a", name, got)
					}
				}
			}
			if pyErr == nil {
				py := servertest.Zip(t, map[string]string{
					"app.py": "import greet, only_a\ndef handler(e, c):\n    return {'who': greet.who(), 'other': only_a.X}\n",
				})
				if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
					FunctionName: aws.String("py"), Role: aws.String(nodeRole), Runtime: types.RuntimePython312,
					Handler: aws.String("app.handler"), Code: &types.FunctionCode{ZipFile: py}, Layers: layers,
				}); err != nil {
					t.Fatal(err)
				}
				if got := invokeJSON(t, c, "py", `{}`); got["who"] != "B" || got["other"] != "only-a" {
					t.Errorf("python: %v, want who B and other only-a", got)
				}
			}

			// Deleting a layer version a function uses changes nothing for it,
			// also for a new environment (the configuration changes, so the
			// old environment is retired).
			if _, err := c.DeleteLayerVersion(ctx, &lambda.DeleteLayerVersionInput{LayerName: aws.String("lib-b"), VersionNumber: aws.Int64(1)}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("prov"), Description: aws.String("after delete")}); err != nil {
				t.Fatal(err)
			}
			if got := invokeJSON(t, c, "prov", `{"op":"run","msg":"hello"}`)["out"]; got != "B\n" {
				t.Errorf("after DeleteLayerVersion hello printed %q, want B", got)
			}
			cfg, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("prov")})
			if err != nil || len(cfg.Layers) != 2 || aws.ToString(cfg.Layers[1].Arn) != b {
				t.Errorf("configuration after delete: %v %+v", err, cfg)
			}
		})
	}
}
