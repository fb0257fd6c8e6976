"""What infrastructure-as-code tools call besides the function itself, through
boto3 and the AWS CLI: tags, the settings read on every refresh, STS and layers.

Run through `go test ./conformance/` (TestPython), which boots lambada and
exports AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL_STS, the credentials and
LAMBADA_ECHO_ZIP.
"""

import io
import json
import os
import subprocess
import unittest
import uuid
import zipfile

import boto3
import botocore.exceptions

REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/lambda-role"


def lam():
    return boto3.client("lambda", region_name=REGION)


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def make_zip(files, modes=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = ((modes or {}).get(name, 0o100755 if name == "bootstrap" else 0o100644)) << 16
            z.writestr(info, data)
    return buf.getvalue()


def bootstrap_zip(tag):
    return make_zip({"bootstrap": "#!/bin/sh\necho %s\n" % tag})


def aws(*args, check=True):
    """Runs the AWS CLI; returns (exit status, parsed stdout or None, stderr)."""
    p = subprocess.run(["aws", *args, "--region", REGION, "--output", "json"],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"})
    out = json.loads(p.stdout) if p.stdout.strip() else None
    if check and p.returncode != 0:
        raise AssertionError("aws %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr))
    return p.returncode, out, p.stderr


class Boto3Tags(unittest.TestCase):
    def setUp(self):
        self.c = lam()
        self.name = unique("py-tags")
        out = self.c.create_function(FunctionName=self.name, Runtime="provided.al2023", Handler="bootstrap",
                                     Role=ROLE, Code={"ZipFile": bootstrap_zip("tags")}, Tags={"team": "a"},
                                     Publish=True)
        self.arn = out["FunctionArn"]
        self.c.get_waiter("function_active_v2").wait(FunctionName=self.name)
        self.addCleanup(self.c.delete_function, FunctionName=self.name)

    def test_tags_round_trip(self):
        self.assertEqual(self.c.list_tags(Resource=self.arn)["Tags"], {"team": "a"})
        self.c.tag_resource(Resource=self.arn, Tags={"team": "b", "env": "dev"})
        self.c.untag_resource(Resource=self.arn, TagKeys=["team", "absent"])
        self.assertEqual(self.c.list_tags(Resource=self.arn)["Tags"], {"env": "dev"})
        self.assertEqual(self.c.get_function(FunctionName=self.name)["Tags"], {"env": "dev"})

    def test_tag_errors(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.c.tag_resource(Resource=self.arn + ":1", Tags={"a": "b"})
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], "InvalidParameterValueException")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertIn("Tags on aliases and versions are not supported", err["Error"]["Message"])
        with self.assertRaises(self.c.exceptions.ResourceNotFoundException):
            self.c.list_tags(Resource=self.arn.replace(self.name, self.name + "-gone"))

    def test_settings_reads(self):
        csc = self.c.get_function_code_signing_config(FunctionName=self.name)
        self.assertEqual((csc["CodeSigningConfigArn"], csc["FunctionName"]), ("", self.name))
        rm = self.c.get_runtime_management_config(FunctionName=self.name)
        self.assertEqual((rm["UpdateRuntimeOn"], rm["FunctionArn"]), ("Auto", self.arn))
        self.assertEqual(self.c.list_provisioned_concurrency_configs(FunctionName=self.name)["ProvisionedConcurrencyConfigs"], [])
        with self.assertRaises(self.c.exceptions.ProvisionedConcurrencyConfigNotFoundException):
            self.c.get_provisioned_concurrency_config(FunctionName=self.name, Qualifier="1")
        with self.assertRaises(self.c.exceptions.InvalidParameterValueException) as cm:
            self.c.put_provisioned_concurrency_config(FunctionName=self.name, Qualifier="1", ProvisionedConcurrentExecutions=1)
        self.assertIn("Provisioned concurrency is not supported by this server", str(cm.exception))


class CLITags(unittest.TestCase):
    def test_tag_commands(self):
        name = unique("cli-tags")
        zpath = os.path.join(os.environ.get("TMPDIR", "/tmp"), name + ".zip")
        with open(zpath, "wb") as f:
            f.write(bootstrap_zip("cli"))
        self.addCleanup(os.remove, zpath)
        _, out, _ = aws("lambda", "create-function", "--function-name", name, "--runtime", "provided.al2023",
                        "--handler", "bootstrap", "--role", ROLE, "--zip-file", "fileb://" + zpath, "--tags", "a=1")
        self.addCleanup(aws, "lambda", "delete-function", "--function-name", name, check=False)
        arn = out["FunctionArn"]
        aws("lambda", "tag-resource", "--resource", arn, "--tags", "b=2,c=3")
        aws("lambda", "untag-resource", "--resource", arn, "--tag-keys", "a", "c")
        _, out, _ = aws("lambda", "list-tags", "--resource", arn)
        self.assertEqual(out["Tags"], {"b": "2"})
        _, out, _ = aws("lambda", "get-function-code-signing-config", "--function-name", name)
        self.assertEqual(out["FunctionName"], name)
        _, out, _ = aws("lambda", "get-runtime-management-config", "--function-name", name)
        self.assertEqual(out["UpdateRuntimeOn"], "Auto")
        rc, _, err = aws("lambda", "put-function-code-signing-config", "--function-name", name,
                         "--code-signing-config-arn",
                         "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0", check=False)
        self.assertIn(rc, (254, 255))
        self.assertIn("(InvalidParameterValueException)", err)
        self.assertIn("Code signing is not supported by this server", err)


class STS(unittest.TestCase):
    def test_boto3_get_caller_identity(self):
        out = boto3.client("sts", region_name=REGION).get_caller_identity()
        self.assertEqual(out["Account"], "000000000000")
        self.assertEqual(out["Arn"], "arn:aws:iam::000000000000:user/lambada")
        self.assertRegex(out["UserId"], r"^AIDA[A-Z2-7]{17}$")

    def test_boto3_unknown_action(self):
        c = boto3.client("sts", region_name=REGION)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            c.get_session_token()
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], "InvalidAction")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_cli_get_caller_identity(self):
        _, out, _ = aws("sts", "get-caller-identity")
        self.assertEqual((out["Account"], out["Arn"]), ("000000000000", "arn:aws:iam::000000000000:user/lambada"))


class Layers(unittest.TestCase):
    def test_boto3_layers(self):
        c = lam()
        layer = unique("py-layer")
        v1 = c.publish_layer_version(LayerName=layer, Content={"ZipFile": make_zip({"python/greet.py": "WHO = 'layer'\n"})},
                                     CompatibleRuntimes=["python3.12"], LicenseInfo="MIT")
        self.addCleanup(c.delete_layer_version, LayerName=layer, VersionNumber=1)
        self.assertEqual(v1["Version"], 1)
        self.assertEqual(v1["LicenseInfo"], "MIT")
        self.assertEqual(c.get_layer_version(LayerName=layer, VersionNumber=1)["LayerVersionArn"], v1["LayerVersionArn"])
        names = [l["LayerName"] for l in c.list_layers(CompatibleRuntime="python3.12")["Layers"]]
        self.assertIn(layer, names)
        c.add_layer_version_permission(LayerName=layer, VersionNumber=1, StatementId="all", Action="lambda:GetLayerVersion", Principal="*")
        pol = json.loads(c.get_layer_version_policy(LayerName=layer, VersionNumber=1)["Policy"])
        self.assertEqual(pol["Statement"][0]["Resource"], v1["LayerVersionArn"])
        fn = unique("py-layered")
        c.create_function(FunctionName=fn, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                          Code={"ZipFile": make_zip({"app.py": "import greet\ndef handler(e, c):\n    return greet.WHO\n"})},
                          Layers=[v1["LayerVersionArn"]])
        self.addCleanup(c.delete_function, FunctionName=fn)
        c.get_waiter("function_active_v2").wait(FunctionName=fn)
        out = c.invoke(FunctionName=fn)
        payload = out["Payload"].read()
        self.assertNotIn("FunctionError", out, payload)
        self.assertEqual(json.loads(payload), "layer")
        with self.assertRaises(c.exceptions.InvalidParameterValueException) as cm:
            c.update_function_configuration(FunctionName=fn, Layers=[v1["LayerVersionArn"]] * 6)
        self.assertIn("Cannot reference more than 5 layers.", str(cm.exception))

    def test_cli_layers(self):
        layer = unique("cli-layer")
        zpath = os.path.join(os.environ.get("TMPDIR", "/tmp"), layer + ".zip")
        with open(zpath, "wb") as f:
            f.write(make_zip({"bin/tool": "#!/bin/sh\necho tool\n"}, {"bin/tool": 0o100755}))
        self.addCleanup(os.remove, zpath)
        _, out, _ = aws("lambda", "publish-layer-version", "--layer-name", layer, "--zip-file", "fileb://" + zpath,
                        "--compatible-architectures", "x86_64", "arm64")
        self.assertEqual(out["Version"], 1)
        _, out, _ = aws("lambda", "list-layer-versions", "--layer-name", layer)
        self.assertEqual([v["Version"] for v in out["LayerVersions"]], [1])
        _, out, _ = aws("lambda", "get-layer-version-by-arn", "--arn", out["LayerVersions"][0]["LayerVersionArn"])
        self.assertEqual(out["CompatibleArchitectures"], ["x86_64", "arm64"])
        aws("lambda", "delete-layer-version", "--layer-name", layer, "--version-number", "1")
        rc, _, err = aws("lambda", "get-layer-version", "--layer-name", layer, "--version-number", "1", check=False)
        self.assertIn(rc, (254, 255))
        self.assertIn("(ResourceNotFoundException)", err)


if __name__ == "__main__":
    unittest.main()
