package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/chromedp/chromedp"

	"github.com/lambada-dev/lambada/internal/console/consoletest"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// xss is what a function's owner controls and the console shows: it must
// stay text (docs/console.md §1).
const xss = `<script>window.xss=1</script><img src=x onerror="window.xss=2">`

// TestBrowserFunctions: a function created through the Lambda API is in
// the table and found by the search; its page shows its configuration, a
// masked environment value revealed on demand, its alias's weights and
// its URL; the Test tab runs an event and shows the result and the log
// tail, saves the event, and shows a streamed response chunk by chunk.
// Text the function controls stays inert.
func TestBrowserFunctions(t *testing.T) {
	c := consoletest.Start(t, servertest.Options{})
	ctx := context.Background()
	cl := c.Server.Client
	zip := servertest.GoFunction(t, "echo")
	for _, name := range []string{"console-fn", "other-fn"} {
		code := zip
		if name == "other-fn" {
			code = servertest.Zip(t, map[string]string{"bootstrap": "never run"}) // only listed
		}
		if _, err := cl.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), Role: aws.String("arn:aws:iam::000000000000:role/r"), Runtime: types.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: code}, Description: aws.String(xss),
			Environment: &types.Environment{Variables: map[string]string{"GREETING": "hello-secret-value", "HTML": xss}},
			Tags:        map[string]string{"team": xss},
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, mem := range []int32{256, 320} {
		if _, err := cl.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("console-fn"), MemorySize: aws.Int32(mem)}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("console-fn")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.CreateAlias(ctx, &lambda.CreateAliasInput{
		FunctionName: aws.String("console-fn"), Name: aws.String("live"), FunctionVersion: aws.String("1"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.25}},
	}); err != nil {
		t.Fatal(err)
	}
	url, err := cl.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("console-fn"), AuthType: types.FunctionUrlAuthTypeNone})
	if err != nil {
		t.Fatal(err)
	}

	c.SignIn()
	c.Open("/console/functions", "#functions")
	if table := c.Text("#fn-rows"); !strings.Contains(table, "console-fn") || !strings.Contains(table, "other-fn") || !strings.Contains(table, "provided.al2023") {
		t.Fatalf("table: %q", table)
	}
	c.Screenshot("functions")
	c.Run(chromedp.SendKeys(chromedp.ID("fn-q"), "console"))
	c.WaitFor(`!document.querySelector("#fn-rows").textContent.includes("other-fn")`)
	if table := c.Text("#fn-rows"); !strings.Contains(table, "console-fn") {
		t.Fatalf("search: %q", table)
	}
	c.Screenshot("functions-search")

	c.Click(`#fn-rows a[href$="/console-fn"]`)
	c.Run(chromedp.WaitVisible(chromedp.ID("config")))
	if got := c.Text("#aliases"); !strings.Contains(got, "version 1: 75%") || !strings.Contains(got, "version 2: 25%") {
		t.Errorf("alias weights: %q", got)
	}
	if got := c.Text("#versions"); !strings.Contains(got, "$LATEST") || !strings.Contains(got, "2") {
		t.Errorf("versions: %q", got)
	}
	if got := c.Text("#url-\\$LATEST"); got != aws.ToString(url.FunctionUrl) {
		t.Errorf("function URL %q, want %q", got, aws.ToString(url.FunctionUrl))
	}
	if env := c.Text("#environment"); strings.Contains(env, "hello-secret-value") {
		t.Errorf("the environment value is shown before it is revealed: %q", env)
	}
	c.Click(`button[aria-label="Show GREETING"]`)
	c.WaitText("#env-GREETING", "hello-secret-value")
	c.Click(`button[aria-label="Show HTML"]`)
	c.WaitText("#env-HTML", "<script>")
	if got := c.Text("#description"); got != xss {
		t.Errorf("description %q", got)
	}
	c.Screenshot("function-detail")

	c.Click(`nav.tabs a[href$="/test"]`)
	c.Run(chromedp.WaitVisible(chromedp.ID("payload")))
	c.SetValue("#payload", `{"op":"log","lines":["hello from the console test"]}`)
	c.Click("#invoke")
	c.WaitText("#r-status", "200")
	if got := c.Text("#r-log"); !strings.Contains(got, "hello from the console test") || !strings.Contains(got, "REPORT RequestId") {
		t.Errorf("log tail: %q", got)
	}
	if got := c.Text("#r-payload"); !strings.Contains(got, `"pid"`) {
		t.Errorf("result: %q", got)
	}
	for _, id := range []string{"#r-duration", "#r-billed", "#r-memory"} {
		if c.Text(id) == "" {
			t.Errorf("%s is empty", id)
		}
	}
	if got := c.Text("#r-fnerror"); got != "none" {
		t.Errorf("function error %q", got)
	}
	c.Screenshot("test-result")

	// Saved events.
	c.SetValue("#event", "greeting")
	c.Click("#save-event")
	c.WaitText("#saved-message", "Saved greeting")
	c.Open("/console/functions/console-fn/test", "#payload")
	c.SetValue("#saved", "greeting")
	c.Run(chromedp.Evaluate[chromedp.Void](`document.getElementById("saved").dispatchEvent(new Event("change", {bubbles: true}))`))
	c.WaitText("#payload", "hello from the console test")
	// htmx is done once the swapped element has settled.
	c.WaitFor(`!document.querySelector("#payload").classList.contains("htmx-settling") && !document.querySelector(".htmx-request")`)

	// A function error.
	c.SetValue("#payload", `{"op":"error","msg":"it broke"}`)
	c.Click("#invoke")
	c.WaitText("#r-fnerror", "Unhandled")
	if got := c.Text("#r-payload"); !strings.Contains(got, "it broke") {
		t.Errorf("error payload: %q", got)
	}
	c.Screenshot("test-function-error")

	// A streamed response, chunk by chunk.
	c.SetValue("#payload", `{"op":"stream","n":3,"ms":30}`)
	c.Click("#invoke-stream")
	c.WaitText("#result-summary", "Round trip")
	if got := c.Text("#stream-output"); got != "chunk-0;chunk-1;chunk-2;" {
		t.Errorf("streamed output %q", got)
	}
	if n := consoletest.Eval[int](c, `document.querySelectorAll("#stream-output .chunk").length`); n < 1 {
		t.Errorf("%d chunks shown", n)
	}
	c.Screenshot("test-stream")
	c.Narrow()
	c.Screenshot("test-stream-narrow")
	c.Dark(true)
	c.Open("/console/functions/console-fn", "#config")
	c.Screenshot("function-detail-narrow-dark")
	c.Dark(false)
	c.Wide()

	// A function returning markup as it is (Node.js does not escape it as
	// Go's encoding/json does).
	if _, err := cl.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("markup"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: servertest.FolderFunction(t, "node/basic")},
	}); err != nil {
		t.Fatal(err)
	}
	c.Open("/console/functions/markup/test", "#payload")
	c.SetValue("#payload", `{"op":"echo","html":"`+strings.ReplaceAll(xss, `"`, `\"`)+`"}`)
	c.Click("#invoke")
	c.WaitText("#r-status", "200")
	if got := c.Text("#r-payload"); !strings.Contains(got, "<script>window.xss=1</script>") {
		t.Errorf("markup payload: %q", got)
	}
	c.Screenshot("test-markup")

	// Nothing the function controls ran.
	if v := consoletest.Eval[string](c, `String(window.xss)`); v != "undefined" {
		t.Errorf("window.xss = %s: markup from the function ran", v)
	}
	c.Open("/console/functions/console-fn", "#config")
	c.Click(`button[aria-label="Show HTML"]`)
	c.WaitText("#env-HTML", "<script>")
	if v := consoletest.Eval[string](c, `String(window.xss) + document.querySelectorAll("main img, main script").length`); v != "undefined0" {
		t.Errorf("after revealing markup: %s", v)
	}
}
