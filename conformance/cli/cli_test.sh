#!/usr/bin/env bash
# Conformance of lambada's function-management API with the real AWS CLI
# (v1 or v2): the commands a user types, in lifecycle order, plus the errors
# scripts branch on. Needs AWS_ENDPOINT_URL_LAMBDA, AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY (the lines "lambada server" prints), aws and python3.
# Stops at the first failure; the last line is "N passed, M failed".
#
# Each aws call costs about a second of Python start-up, so the script makes
# as few as the coverage allows and checks each answer with one python3 run.
set -euo pipefail

for v in AWS_ENDPOINT_URL_LAMBDA AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; do
	if [[ -z "${!v:-}" ]]; then
		echo "cli_test.sh: $v is not set; start 'lambada server' and export the lines it prints" >&2
		exit 2
	fi
done
for tool in aws python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "cli_test.sh: '$tool' is not on PATH (Debian: apt-get install awscli python3)" >&2
		exit 2
	fi
done

tmp=$(mktemp -d)
# Keep the user's own AWS profile, pager and retry settings out of the way.
: >"$tmp/config"
export AWS_CONFIG_FILE="$tmp/config" AWS_SHARED_CREDENTIALS_FILE="$tmp/credentials"
export AWS_PAGER="" AWS_MAX_ATTEMPTS=2
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN

passed=0
failed=0
step="setup"
run_id="$(date +%s)-$$-$RANDOM"
fn="cli-life-$run_id"
fn2="cli-list-$run_id"
cleanup=()
role="arn:aws:iam::000000000000:role/lambda-role"

finish() {
	local rc=$?
	# Best effort: leave no function behind when a step failed half-way.
	for f in "${cleanup[@]}"; do
		lam delete-function --function-name "$f" >/dev/null 2>&1 || true
	done
	rm -rf "$tmp"
	if ((rc != 0 && failed == 0)); then
		echo "FAIL: $step: a command exited with status $rc" >&2
		failed=1
	fi
	echo "$passed passed, $failed failed"
	((failed == 0)) || exit 1
}
trap finish EXIT

lam() {
	aws lambda "$@" --endpoint-url "$AWS_ENDPOINT_URL_LAMBDA" --region us-east-1 --output json
}

ok() {
	passed=$((passed + 1))
	echo "ok - $step: $1"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL: $step: $1" >&2
	exit 1
}

# jget JSON EXPR: a Python expression over JSON (bound to d); strings print
# raw, anything else as JSON.
jget() {
	python3 -c '
import json, sys
d = json.loads(sys.argv[1]) if sys.argv[1].strip() else {}
v = eval(sys.argv[2], {"d": d})
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
' "$1" "$2"
}

# check JSON EXPR WANT [EXPR WANT]...: each Python expression over the JSON
# (bound to d) must render as WANT (strings raw, anything else as JSON).
check() {
	local json=$1 line
	shift
	local results
	results=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1]) if sys.argv[1].strip() else {}
args = sys.argv[2:]
for expr, want in zip(args[::2], args[1::2]):
    try:
        v = eval(expr, {"d": d})
        got = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    except Exception as e:
        got = "<%s: %s>" % (type(e).__name__, e)
    print(("ok\t%s" if got == want else "FAIL\t%s\tgot %r, want %r") % ((expr,) if got == want else (expr, got, want)))
' "$json" "$@")
	while IFS= read -r line; do
		case $line in
		ok*) ok "${line#ok	}" ;;
		*) fail "${line#FAIL	}; answer: $json" ;;
		esac
	done <<<"$results"
}

# expect_error DESCRIPTION CODE MESSAGE-FRAGMENT -- AWS-LAMBDA-ARGS...
# The CLI exits 255 (v1) or 254 (v2) on a service error and names the code.
expect_error() {
	local desc=$1 code=$2 fragment=$3
	shift 4
	local rc=0
	lam "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [[ $rc -ne 254 && $rc -ne 255 ]]; then
		fail "$desc: exit status $rc, want 254 or 255; stderr: $(cat "$tmp/err")"
	fi
	if ! grep -q "($code)" "$tmp/err"; then
		fail "$desc: stderr does not name $code: $(cat "$tmp/err")"
	fi
	if ! grep -qF -- "$fragment" "$tmp/err"; then
		fail "$desc: stderr lacks '$fragment': $(cat "$tmp/err")"
	fi
	ok "$desc (exit $rc, $code)"
}

# mkzip FILE TAG: a deployment package with an executable bootstrap.
mkzip() {
	python3 - "$1" "$2" <<'PY'
import sys, zipfile
path, tag = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(path, "w") as z:
    info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
    info.create_system = 3  # Unix, so the mode below is honoured
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, "#!/bin/sh\necho %s\n" % tag)
PY
}

echo "# aws: $(aws --version 2>&1)"
echo "# endpoint: $AWS_ENDPOINT_URL_LAMBDA, function: $fn"

mkzip "$tmp/one.zip" one
mkzip "$tmp/two.zip" two
read -r sha1 sha2 size1 < <(python3 -c '
import base64, hashlib, os, sys
s = lambda p: base64.b64encode(hashlib.sha256(open(p, "rb").read()).digest()).decode()
print(s(sys.argv[1]), s(sys.argv[2]), os.path.getsize(sys.argv[1]))' "$tmp/one.zip" "$tmp/two.zip")

step="create-function"
cleanup+=("$fn")
out=$(lam create-function --function-name "$fn" --runtime provided.al2023 --handler bootstrap \
	--role "$role" --zip-file "fileb://$tmp/one.zip" --description "from the CLI suite" \
	--environment 'Variables={GREETING=hello}' --tags suite=cli)
arn=$(jget "$out" 'd["FunctionArn"]')
acct_re='^arn:aws:lambda:us-east-1:[0-9]{12}:function:'
[[ "$arn" =~ $acct_re$fn$ ]] && ok "FunctionArn $arn" || fail "FunctionArn $arn"
check "$out" 'd["FunctionName"]' "$fn" 'd["Version"]' '$LATEST' 'd["State"]' Pending \
	'd["CodeSha256"]' "$sha1" 'd["CodeSize"]' "$size1" 'd["LastUpdateStatus"]' Successful

step="get-function"
out=$(lam get-function --function-name "$fn")
check "$out" 'd["Configuration"]["State"]' Active 'd["Configuration"]["FunctionArn"]' "$arn" \
	'd.get("Tags")' '{"suite": "cli"}' 'd["Code"]["RepositoryType"]' S3
location=$(jget "$out" 'd["Code"]["Location"]')
python3 -c 'import sys,urllib.request; open(sys.argv[2],"wb").write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' \
	"$location" "$tmp/download.zip"
cmp -s "$tmp/one.zip" "$tmp/download.zip" && ok "Code.Location serves the uploaded zip" || fail "Code.Location serves other bytes"

step="get-function-configuration"
out=$(lam get-function-configuration --function-name "$fn")
check "$out" 'd["FunctionArn"]' "$arn" 'd["Environment"]["Variables"]' '{"GREETING": "hello"}' \
	'd["Description"]' "from the CLI suite" 'd["LastUpdateStatus"]' Successful
old_rev=$(jget "$out" 'd["RevisionId"]')

step="list-functions"
cleanup+=("$fn2")
lam create-function --function-name "$fn2" --runtime provided.al2023 --handler bootstrap \
	--role "$role" --zip-file "fileb://$tmp/two.zip" >/dev/null
# --page-size 1 makes the CLI follow NextMarker one function at a time.
out=$(lam list-functions --page-size 1)
check "$out" \
	"sorted(f['FunctionName'] for f in d['Functions'] if f['FunctionName'] in ('$fn', '$fn2'))" \
	"$(python3 -c 'import json,sys; print(json.dumps(sorted(sys.argv[1:])))' "$fn" "$fn2")" \
	'len(d["Functions"]) == len({f["FunctionName"] for f in d["Functions"]})' true \
	"[f['FunctionArn'] for f in d['Functions'] if f['FunctionName'] == '$fn']" "[\"$arn\"]"

step="update-function-configuration"
t0=$(date +%s%N)
out=$(lam update-function-configuration --function-name "$fn" --timeout 30 --memory-size 256 \
	--description "configured" --environment 'Variables={GREETING=hi,EXTRA=1}' --revision-id "$old_rev")
one_call_ms=$((($(date +%s%N) - t0) / 1000000))
check "$out" 'd["Timeout"]' 30 'd["MemorySize"]' 256 \
	'd["Environment"]["Variables"]' '{"EXTRA": "1", "GREETING": "hi"}' \
	"d['RevisionId'] != '$old_rev'" true
rev=$(jget "$out" 'd["RevisionId"]')
expect_error "a stale --revision-id is refused" PreconditionFailedException \
	"The Revision Id provided does not match the latest Revision Id" -- \
	update-function-configuration --function-name "$fn" --description stale --revision-id "$old_rev"

step="wait function-updated"
# The waiter sleeps 5 s between polls; one poll costs about what one aws
# call just cost, so anything near 5 s more means it did not stop at once.
t0=$(date +%s%N)
lam wait function-updated --function-name "$fn"
wait_ms=$((($(date +%s%N) - t0) / 1000000))
if ((wait_ms < one_call_ms + 4000)); then
	ok "returned after ${wait_ms} ms (one aws call: ${one_call_ms} ms)"
else
	fail "took ${wait_ms} ms against ${one_call_ms} ms for one aws call: the waiter polled more than once"
fi

step="publish-version"
out=$(lam publish-version --function-name "$fn")
check "$out" 'd["Version"]' 1 'd["FunctionArn"]' "$arn:1" 'd["CodeSha256"]' "$sha1" 'd["Timeout"]' 30

step="update-function-code"
out=$(lam update-function-code --function-name "$fn" --zip-file "fileb://$tmp/two.zip" \
	--revision-id "$rev" --publish)
# With --publish the answer is the new version.
check "$out" 'd["CodeSha256"]' "$sha2" 'd["Version"]' 2 'd["FunctionArn"]' "$arn:2"

step="list-versions-by-function"
out=$(lam list-versions-by-function --function-name "$fn")
check "$out" '[v["Version"] for v in d["Versions"]]' '["$LATEST", "1", "2"]' \
	'[v["FunctionArn"] for v in d["Versions"]]' "[\"$arn:\$LATEST\", \"$arn:1\", \"$arn:2\"]" \
	'd["Versions"][0]["CodeSha256"]' "$sha2"

step="create-alias"
out=$(lam create-alias --function-name "$fn" --name live --function-version 1 \
	--description canary --routing-config '{"AdditionalVersionWeights":{"2":0.25}}')
check "$out" 'd["AliasArn"]' "$arn:live" 'd["FunctionVersion"]' 1 \
	'd["RoutingConfig"]' '{"AdditionalVersionWeights": {"2": 0.25}}'
alias_rev=$(jget "$out" 'd["RevisionId"]')

step="get-alias"
out=$(lam get-alias --function-name "$fn" --name live)
check "$out" 'd["FunctionVersion"]' 1 'd["RevisionId"]' "$alias_rev" 'd["Description"]' canary

step="update-alias"
out=$(lam update-alias --function-name "$fn" --name live --function-version 2 \
	--routing-config '{"AdditionalVersionWeights":{}}' --revision-id "$alias_rev")
check "$out" 'd["FunctionVersion"]' 2 \
	'd.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})' '{}'

step="list-aliases"
out=$(lam list-aliases --function-name "$fn")
check "$out" '[a["Name"] for a in d["Aliases"]]' '["live"]' \
	'[a["AliasArn"] for a in d["Aliases"]]' "[\"$arn:live\"]"

step="get-account-settings"
out=$(lam get-account-settings)
check "$out" 'd["AccountLimit"]["CodeSizeZipped"]' 52428800 \
	'd["AccountLimit"]["CodeSizeUnzipped"]' 262144000 \
	'd["AccountUsage"]["FunctionCount"] >= 2' true
unreserved=$(jget "$out" 'd["AccountLimit"]["UnreservedConcurrentExecutions"]')

step="put-function-concurrency"
out=$(lam put-function-concurrency --function-name "$fn" --reserved-concurrent-executions 5)
check "$out" 'd["ReservedConcurrentExecutions"]' 5

step="get-function-concurrency"
out=$(lam get-function-concurrency --function-name "$fn")
check "$out" 'd["ReservedConcurrentExecutions"]' 5
out=$(lam get-account-settings)
check "$out" 'd["AccountLimit"]["UnreservedConcurrentExecutions"]' "$((unreserved - 5))"

step="put-function-event-invoke-config"
queue="arn:aws:sqs:us-east-1:000000000000:cli-queue"
out=$(lam put-function-event-invoke-config --function-name "$fn" --maximum-retry-attempts 1 \
	--destination-config "{\"OnFailure\":{\"Destination\":\"$queue\"}}")
# LastModified is epoch seconds on the wire: CLI v1 prints that number as
# it came, v2 an ISO 8601 text; either way it is now.
check "$out" 'd["FunctionArn"]' "$arn:\$LATEST" 'd["MaximumRetryAttempts"]' 1 \
	'"MaximumEventAgeInSeconds" in d' false \
	'd["DestinationConfig"]' "{\"OnFailure\": {\"Destination\": \"$queue\"}, \"OnSuccess\": {}}" \
	'(lambda v: abs((v if isinstance(v, (int, float)) else __import__("datetime").datetime.fromisoformat(v).timestamp()) - __import__("time").time()) < 60)(d["LastModified"])' true
lam put-function-event-invoke-config --function-name "$fn" --qualifier live --maximum-event-age-in-seconds 60 >/dev/null

step="get-function-event-invoke-config"
out=$(lam get-function-event-invoke-config --function-name "$fn" --qualifier live)
check "$out" 'd["FunctionArn"]' "$arn:live" 'd["MaximumEventAgeInSeconds"]' 60 \
	'd["DestinationConfig"]' '{"OnFailure": {}, "OnSuccess": {}}'

step="list-function-event-invoke-configs"
# --page-size 1 makes the CLI follow NextMarker one config at a time.
out=$(lam list-function-event-invoke-configs --function-name "$fn" --page-size 1)
check "$out" '[c["FunctionArn"] for c in d["FunctionEventInvokeConfigs"]]' "[\"$arn:\$LATEST\", \"$arn:live\"]"

step="delete-function-event-invoke-config"
lam delete-function-event-invoke-config --function-name "$fn" >/dev/null
ok "deleted"
expect_error "get-function-event-invoke-config after delete" ResourceNotFoundException \
	"The function $arn:\$LATEST doesn't have an EventInvokeConfig" -- \
	get-function-event-invoke-config --function-name "$fn"
expect_error "put-function-event-invoke-config out of range" ValidationException \
	"Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2" -- \
	put-function-event-invoke-config --function-name "$fn" --maximum-retry-attempts 3

step="function-recursion-config"
out=$(lam get-function-recursion-config --function-name "$fn")
check "$out" 'd["RecursiveLoop"]' Terminate
out=$(lam put-function-recursion-config --function-name "$fn" --recursive-loop Allow)
check "$out" 'd["RecursiveLoop"]' Allow
expect_error "put-function-recursion-config with a bad value" ValidationException \
	"Value 'Sometimes' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Terminate, Allow]" -- \
	put-function-recursion-config --function-name "$fn" --recursive-loop Sometimes
expect_error "get-function-recursion-config of a version" ValidationException \
	"Value '$fn:1' at 'functionName' failed to satisfy constraint" -- \
	get-function-recursion-config --function-name "$fn:1"
out=$(lam get-function-recursion-config --function-name "$arn")
check "$out" 'd["RecursiveLoop"]' Allow

step="delete-alias"
lam delete-alias --function-name "$fn" --name live >/dev/null
ok "deleted"
expect_error "get-alias after delete-alias" ResourceNotFoundException "Cannot find alias arn: $arn:live" -- \
	get-alias --function-name "$fn" --name live
expect_error "its event invoke config went with it" ResourceNotFoundException \
	"The function $arn:live doesn't have an EventInvokeConfig" -- \
	get-function-event-invoke-config --function-name "$fn" --qualifier live

step="delete-function --qualifier"
lam delete-function --function-name "$fn" --qualifier 1 >/dev/null
out=$(lam list-versions-by-function --function-name "$fn")
check "$out" '[v["Version"] for v in d["Versions"]]' '["$LATEST", "2"]'

step="delete-function"
lam delete-function --function-name "$fn" >/dev/null
cleanup=("$fn2")
ok "deleted"

step="errors"
expect_error "get-function-recursion-config of a missing function" ResourceNotFoundException "Function not found: $arn" -- \
	get-function-recursion-config --function-name "$fn"
expect_error "get-function of a missing function" ResourceNotFoundException "Function not found: $arn" -- \
	get-function --function-name "$fn"
expect_error "duplicate create-function" ResourceConflictException "Function already exist: $fn2" -- \
	create-function --function-name "$fn2" --runtime provided.al2023 --handler bootstrap \
	--role "$role" --zip-file "fileb://$tmp/two.zip"
AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY}x" \
	expect_error "wrong secret key" InvalidSignatureException "signature we calculated does not match" -- \
	get-account-settings

# Synchronous invoke of the Go echo function (built by the Go harness, which
# passes its zip in LAMBADA_ECHO_ZIP). CLI v2 reads --payload as base64
# unless told otherwise; v1 does not know --cli-binary-format and sends the
# text as is.
invoke_steps() {
step="invoke"
binfmt=()
if [[ "$(aws --version 2>&1)" == aws-cli/2.* ]]; then
	binfmt=(--cli-binary-format raw-in-base64-out)
fi
fe="cli-echo-$run_id"
cleanup+=("$fe")
lam create-function --function-name "$fe" --runtime provided.al2023 --handler bootstrap \
	--role "$role" --zip-file "fileb://$LAMBADA_ECHO_ZIP" >/dev/null
lam wait function-active --function-name "$fe"
out=$(lam invoke --function-name "$fe" --payload '{"op":"echo","key1":"value1"}' "${binfmt[@]}" \
	--log-type Tail "$tmp/out.json")
python3 -c '
import base64, json, sys
for line in base64.b64decode(json.loads(sys.argv[1])["LogResult"]).decode("utf-8", "replace").splitlines():
    print("# tail: " + line)' "$out"
check "$out" 'd["StatusCode"]' 200 'd["ExecutedVersion"]' '$LATEST' '"FunctionError" in d' false \
	'[w for w in ("START RequestId: ", "END RequestId: ", "REPORT RequestId: ", "\tBilled Duration: ") if w in __import__("base64").b64decode(d["LogResult"]).decode()]' \
	'["START RequestId: ", "END RequestId: ", "REPORT RequestId: ", "\tBilled Duration: "]'
check "$(cat "$tmp/out.json")" 'd' '{"key1": "value1", "op": "echo"}'

step="invoke function error"
out=$(lam invoke --function-name "$fe" --payload '{"op":"error","msg":"boom m1"}' "${binfmt[@]}" \
	--log-type Tail "$tmp/err.json")
check "$out" 'd["StatusCode"]' 200 'd["FunctionError"]' Unhandled \
	'"REPORT RequestId: " in __import__("base64").b64decode(d["LogResult"]).decode()' true
check "$(cat "$tmp/err.json")" 'd' '{"errorMessage": "boom m1", "errorType": "customErr"}'

step="invoke errors"
expect_error "invoke of a missing function" ResourceNotFoundException \
	"Function not found: ${arn%:*}:cli-none-$run_id:\$LATEST" -- \
	invoke --function-name "cli-none-$run_id" "$tmp/none.json"
out=$(lam invoke --function-name "$fe" --invocation-type DryRun "$tmp/dry.json")
check "$out" 'd["StatusCode"]' 204

step="invoke Event and invoke-async"
out=$(lam invoke --function-name "$fe" --invocation-type Event --payload '{"op":"echo"}' "${binfmt[@]}" "$tmp/event.json")
check "$out" 'd["StatusCode"]' 202
printf '{"op":"echo","via":"invoke-async"}' >"$tmp/args.json"
# v1 takes a blob argument as a plain path, v2 as fileb://.
args="$tmp/args.json"
if ((${#binfmt[@]} > 0)); then args="fileb://$args"; fi
out=$(lam invoke-async --function-name "$fe" --invoke-args "$args")
check "$out" 'd["Status"]' 202
# The function still answers synchronously afterwards.
out=$(lam invoke --function-name "$fe" --payload '{"op":"echo","after":"async"}' "${binfmt[@]}" "$tmp/after.json")
check "$out" 'd["StatusCode"]' 200
check "$(cat "$tmp/after.json")" 'd' '{"after": "async", "op": "echo"}'

# Function URL: create the config, open it to the public with the two
# statements AWS requires since 2025, read the policy back, then curl the
# URL exactly as printed (curl resolves *.localhost to loopback itself).
step="create-function-url-config"
out=$(lam create-function-url-config --function-name "$fe" --auth-type NONE)
check "$out" 'bool(__import__("re").match(r"^http://[a-z0-9]{32}\.lambda-url\.us-east-1\.localhost:\d+/$", d["FunctionUrl"]))' true \
	'd["AuthType"]' NONE 'd["FunctionArn"]' "${arn%:*}:$fe"
furl=$(jget "$out" 'd["FunctionUrl"]')
step="curl without a policy"
code=$(curl -s -o "$tmp/url.out" -w '%{http_code}' "$furl")
check "{\"code\": $code, \"body\": $(cat "$tmp/url.out")}" 'd["code"]' 403 'd["body"]["Message"]' \
	"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
step="add-permission"
out=$(lam add-permission --function-name "$fe" --statement-id url --action lambda:InvokeFunctionUrl \
	--principal '*' --function-url-auth-type NONE)
check "$out" 'd["Statement"]' \
	"{\"Sid\":\"url\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"lambda:InvokeFunctionUrl\",\"Resource\":\"${arn%:*}:$fe\",\"Condition\":{\"StringEquals\":{\"lambda:FunctionUrlAuthType\":\"NONE\"}}}"
lam add-permission --function-name "$fe" --statement-id invoke --action lambda:InvokeFunction \
	--principal '*' --invoked-via-function-url >/dev/null
step="get-policy"
out=$(lam get-policy --function-name "$fe")
check "$out" '[s["Sid"] for s in __import__("json").loads(d["Policy"])["Statement"]]' '["url", "invoke"]' \
	'__import__("json").loads(d["Policy"])["Statement"][1]["Condition"]' '{"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}' \
	'len(d["RevisionId"])' 36
step="curl the function URL"
out=$(curl -s -i -X POST -H 'Content-Type: application/json' --data '{"from":"curl"}' "${furl}some/path?q=1")
check "$(python3 -c '
import json, sys
head, _, body = sys.argv[1].replace("\r", "").partition("\n\n")
ev = json.loads(body)
print(json.dumps({"status": head.split()[1], "rawPath": ev["rawPath"], "q": ev["queryStringParameters"], "body": ev["body"],
  "idMatches": ("x-amzn-requestid: " + ev["requestContext"]["requestId"]) in head.lower()}))' "$out")" \
	'd["status"]' 200 'd["rawPath"]' /some/path 'd["q"]' '{"q": "1"}' 'd["body"]' '{"from":"curl"}' 'd["idMatches"]' true
if [[ -n "${AWS_ENDPOINT_URL_CLOUDWATCH_LOGS:-}" ]]; then
	logs_steps
fi
}

# The function's log group through the CloudWatch Logs API, with the
# endpoint from AWS_ENDPOINT_URL_CLOUDWATCH_LOGS (no --endpoint-url).
logs_steps() {
step="logs filter-log-events"
lam invoke --function-name "$fe" --payload '{"op":"log","lines":["from-the-cli"]}' "${binfmt[@]}" "$tmp/log.json" >/dev/null
group="/aws/lambda/$fe"
# The line reaches the store within a fraction of a second.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	out=$(aws logs filter-log-events --log-group-name "$group" --filter-pattern '"from-the-cli"' --region us-east-1 --output json 2>&1) || true
	[[ "$out" == *'from-the-cli\n'* ]] && break
	sleep 0.5
done
check "$out" 'len(d["events"])' 1 'd["events"][0]["message"]' 'from-the-cli
' 'bool(__import__("re").match(r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$", d["events"][0]["logStreamName"]))' true \
	'd["events"][0]["ingestionTime"] >= d["events"][0]["timestamp"] > 0' true 'd["events"][0]["eventId"].isdigit()' true \
	'"nextToken" in d' false 'd["searchedLogStreams"]' '[]'
stream=$(jget "$out" 'd["events"][0]["logStreamName"]')
# The CLI's paginator follows nextToken one event at a time.
out=$(aws logs filter-log-events --log-group-name "$group" --page-size 1 --region us-east-1 --output json)
check "$out" '[w for w in ("START RequestId: ", "from-the-cli", "END RequestId: ", "REPORT RequestId: ") if any(e["message"].startswith(w) for e in d["events"])]' \
	'["START RequestId: ", "from-the-cli", "END RequestId: ", "REPORT RequestId: "]' \
	'len({e["eventId"] for e in d["events"]}) == len(d["events"])' true

step="logs get-log-events"
out=$(aws logs get-log-events --log-group-name "$group" --log-stream-name "$stream" --start-from-head --region us-east-1 --output json)
check "$out" '[e["message"] for e in d["events"] if "from-the-cli" in e["message"]]' '["from-the-cli\n"]' \
	'd["nextForwardToken"][:2] + d["nextBackwardToken"][:2]' 'f/b/' \
	'd["events"][0]["message"].startswith("INIT_START ") or d["events"][0]["message"].startswith("echo init line")' true

step="logs errors"
rc=0
aws logs filter-log-events --log-group-name "/aws/lambda/cli-none-$run_id" --region us-east-1 --output json >"$tmp/out" 2>"$tmp/err" || rc=$?
if [[ $rc -ne 254 && $rc -ne 255 ]] || ! grep -q "(ResourceNotFoundException)" "$tmp/err" || ! grep -qF "The specified log group does not exist." "$tmp/err"; then
	fail "filter-log-events of a missing group: exit $rc: $(cat "$tmp/err")"
fi
ok "filter-log-events of a missing group (exit $rc, ResourceNotFoundException)"
}
# Hot reload (docs/behaviour/dev-loop.md), as a LocalStack script writes
# it: --code / --content S3Bucket=hot-reload,S3Key=<folder>. Needs the
# server on this machine's loopback, as the Go harness runs it.
hot_reload_steps() {
step="hot reload create-function"
fh="cli-hot-$run_id"
cleanup+=("$fh")
mkdir -p "$tmp/hot" "$tmp/hot-layer/python"
printf 'import shared\ndef handler(event, context):\n    return "v1:" + shared.V\n' >"$tmp/hot/app.py"
printf 'V = "layer1"\n' >"$tmp/hot-layer/python/shared.py"
out=$(lam publish-layer-version --layer-name "cli-hot-layer-$run_id" --content "S3Bucket=hot-reload,S3Key=$tmp/hot-layer")
check "$out" 'd["Content"]["CodeSha256"]' hot-reloading-hash-not-available 'd["Content"]["CodeSize"]' 0 \
	'd["Content"]["Location"]' "file://$tmp/hot-layer"
layer_arn=$(jget "$out" 'd["LayerVersionArn"]')
out=$(lam create-function --function-name "$fh" --runtime python3.12 --handler app.handler --role "$role" \
	--code "S3Bucket=hot-reload,S3Key=$tmp/hot" --layers "$layer_arn")
check "$out" 'd["CodeSha256"]' hot-reloading-hash-not-available 'd["CodeSize"]' 0
step="hot reload invoke after edits"
lam invoke --function-name "$fh" "$tmp/hot.json" >/dev/null
check "$(cat "$tmp/hot.json")" 'd' v1:layer1
printf 'import shared\ndef handler(event, context):\n    return "v2:" + shared.V\n' >"$tmp/hot/app.py"
printf 'V = "layer2"\n' >"$tmp/hot-layer/python/shared.py"
# Live ~50 ms after the save; each aws call takes longer than that.
for _ in 1 2 3 4 5; do
	lam invoke --function-name "$fh" "$tmp/hot.json" >/dev/null
	[[ "$(cat "$tmp/hot.json")" == '"v2:layer2"' ]] && break
done
check "$(cat "$tmp/hot.json")" 'd' v2:layer2
}

if [[ -n "${LAMBADA_ECHO_ZIP:-}" ]]; then
	invoke_steps
	hot_reload_steps
else
	echo "# LAMBADA_ECHO_ZIP is not set: skipping invoke (run through go test ./conformance/)"
fi
