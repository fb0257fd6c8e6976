"""lambada's Python runtime client.

Runs an unmodified AWS Lambda Python handler against the Lambda Runtime API
(2018-06-01) of its environment, behaving like AWS's own Python runtime
(awslambdaric): the same handler resolution, context object, log format,
result marshalling and error documents. Standard library only; runs on
Python 3.9 and later.

lambada starts it as `python3 -u <dir>/bootstrap.py` with the working
directory LAMBDA_TASK_ROOT and the handler in _HANDLER.
"""

# Everything the runtime needs is imported before the task root goes on
# sys.path, so user modules cannot shadow it. Only what is cheap: the
# import time is part of every cold start (http.client alone, with the
# email parser it pulls in, cost as much as the interpreter's own start;
# decimal is looked up in sys.modules when a value might be one).
import importlib
import json
import logging
import math
import os
import re
import socket
import sys
import time
import traceback
import types

_API_VERSION = "2018-06-01"
_ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_XRAY_ERROR_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
_XRAY_HEADER_MAX = 1024 * 1024
_ERROR_LOG_LINE_TERMINATE = "\r"
_ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE, as AWS indents logged tracebacks
_LAMBDA_WARNING = "LAMBDA_WARNING"
_UNHANDLED_EXCEPTION_WARNING = (
    _LAMBDA_WARNING + ": "
    "Unhandled exception. "
    "The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, or can be applied automatically. "
    "To determine if the runtime has been updated, check the runtime version in the INIT_START log entry. "
    "If this error correlates with a change in the runtime version, you may be able to mitigate this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)
# AWS's runtimes for these versions emit non-ASCII characters as they are.
_UNESCAPED_UNICODE_RUNTIMES = {
    "AWS_Lambda_python3.12",
    "AWS_Lambda_python3.13",
    "AWS_Lambda_python3.14",
    "AWS_Lambda_python3.15",
}


class FaultException(Exception):
    """A failure the runtime reports with a Runtime.* error type."""

    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


# ---------------------------------------------------------------------------
# JSON, as AWS's marshaller (simplejson) writes it


class _Encoder(json.JSONEncoder):
    """json.JSONEncoder plus what AWS's simplejson-based encoder accepts:
    Decimal written as its exact text (NaN as NaN), bytes decoded as UTF-8.

    The C encoder cannot write raw text, so a Decimal becomes a unique
    placeholder string that encode() swaps for the number afterwards."""

    _token = "__lambada_decimal_" + os.urandom(16).hex() + "_"
    _token_re = re.compile('"' + _token + '([0-9]+)__"')

    def __init__(self):
        super().__init__(
            ensure_ascii=os.environ.get("AWS_EXECUTION_ENV") not in _UNESCAPED_UNICODE_RUNTIMES,
            allow_nan=True,
        )
        self._raw = []

    def default(self, o):
        # No Decimal exists unless something imported decimal.
        decimal = sys.modules.get("decimal")
        if decimal is not None and isinstance(o, decimal.Decimal):
            if o.is_nan():
                return math.nan
            self._raw.append(str(o))
            return "%s%d__" % (self._token, len(self._raw) - 1)
        if isinstance(o, bytes):
            return o.decode("utf-8")
        return super().default(o)

    def encode(self, o):
        self._raw = []
        out = super().encode(o)
        if self._raw:
            raw = self._raw
            out = self._token_re.sub(lambda m: raw[int(m.group(1))], out)
        return out


def to_json(obj):
    return _Encoder().encode(obj)


_json_loads = json.loads


def unmarshal_request(body, content_type):
    if content_type != "application/json":
        return body
    try:
        return _json_loads(body)
    except Exception as e:
        raise FaultException(
            FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(str(e)), None
        )


def marshal_response(response):
    if isinstance(response, bytes):
        return response, "application/unknown"
    try:
        return to_json(response).encode("utf-8"), "application/json"
    except Exception as e:
        raise FaultException(
            FaultException.MARSHAL_ERROR, "Unable to marshal response: {}".format(str(e)), None
        )


# ---------------------------------------------------------------------------
# The context object, attribute for attribute as AWS's LambdaContext


_W3C_ALLOWED_FIELDS = ("traceparent", "tracestate", "baggage")


class LambdaContext(object):
    def __init__(
        self,
        invoke_id,
        client_context,
        cognito_identity,
        epoch_deadline_time_in_ms,
        invoked_function_arn=None,
        tenant_id=None,
    ):
        self.aws_request_id = invoke_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        # A string, as on AWS (awslambdaric reads the variable as is).
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self._w3c_fields = self._extract_and_strip_w3c(client_context)

        self.client_context = _make_obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _make_obj_from_dict(Client, self.client_context.client)

        self.identity = _make_obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")

        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self):
        delta_ms = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return delta_ms if delta_ms > 0 else 0

    def w3c(self):
        return dict(self._w3c_fields)

    @staticmethod
    def _extract_and_strip_w3c(client_context):
        if not isinstance(client_context, dict) or "w3c" not in client_context:
            return {}
        raw = client_context.pop("w3c")
        if not isinstance(raw, dict):
            return {}
        return {k: raw[k] for k in _W3C_ALLOWED_FIELDS if isinstance(raw.get(k), str)}

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "{}([aws_request_id={},log_group_name={},log_stream_name={},function_name={},"
            "memory_limit_in_mb={},function_version={},invoked_function_arn={},"
            "client_context={},identity={},tenant_id={}])"
        ).format(
            self.__class__.__name__,
            self.aws_request_id,
            self.log_group_name,
            self.log_stream_name,
            self.function_name,
            self.memory_limit_in_mb,
            self.function_version,
            self.invoked_function_arn,
            self.client_context,
            self.identity,
            self.tenant_id,
        )


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return "{}([cognito_identity_id={},cognito_identity_pool_id={}])".format(
            self.__class__.__name__, self.cognito_identity_id, self.cognito_identity_pool_id
        )


class Client(object):
    __slots__ = [
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    ]

    def __repr__(self):
        return (
            "{}([installation_id={},app_title={},app_version_name={},"
            "app_version_code={},app_package_name={}])"
        ).format(
            self.__class__.__name__,
            self.installation_id,
            self.app_title,
            self.app_version_name,
            self.app_version_code,
            self.app_package_name,
        )


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return "{}([custom={},env={},client={}])".format(
            self.__class__.__name__, self.custom, self.env, self.client
        )


def _make_obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, d.get(field, None))
    return obj


def _parse_json_header(value, name):
    try:
        return _json_loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
            "Unable to parse {} JSON: {}".format(name, str(e)),
            None,
        )


def create_lambda_context(req):
    client_context = None
    if req.client_context:
        client_context = _parse_json_header(req.client_context, "Client Context")
    cognito_identity = None
    if req.cognito_identity:
        cognito_identity = _parse_json_header(req.cognito_identity, "Cognito Identity")
    return LambdaContext(
        req.invoke_id,
        client_context,
        cognito_identity,
        req.deadline_ms,
        req.invoked_function_arn,
        req.tenant_id,
    )


# ---------------------------------------------------------------------------
# Logging: AWS's root handler and error lines


_current_request_id = None
_current_tenant_id = None


class _LambdaLoggerFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _current_request_id or ""
        record.tenant_id = _current_tenant_id
        return True


class _LambdaFormatter(logging.Formatter):
    """AWS's text format. A record stays one log line: inner newlines
    become carriage returns, as AWS's runtimes do outside their framed
    telemetry channel."""

    def format(self, record):
        msg = super().format(record)
        if msg.endswith("\n"):
            msg = msg[:-1]
        return msg.replace("\n", "\r") + "\n"


class _LambdaLoggerHandler(logging.Handler):
    def emit(self, record):
        try:
            msg = self.format(record)
            sys.stdout.write(msg)
        except Exception:
            self.handleError(record)


class _JsonFormatter(logging.Formatter):
    """AWS's JSON format (AWS_LAMBDA_LOG_FORMAT=JSON): one object per
    record with timestamp (seconds), level, message, logger, requestId, the
    exception's errorType, errorMessage, stackTrace and location, and any
    extra attributes of the record."""

    _standard = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "aws_request_id", "tenant_id"}

    def format(self, record):
        entry = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname,
            "message": record.getMessage() if not isinstance(record.msg, dict) or record.args else record.msg,
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", "") or None,
        }
        if getattr(record, "tenant_id", None) is not None:
            entry["tenantId"] = record.tenant_id
        if record.exc_info and record.exc_info[1] is not None:
            etype, err, tb = record.exc_info
            entry["errorType"] = etype.__name__
            entry["errorMessage"] = str(err)
            entry["stackTrace"] = traceback.format_tb(tb)
            entry["location"] = "%s:%s:%d" % (record.pathname, record.funcName, record.lineno)
        for k, v in vars(record).items():
            if k not in self._standard and k not in entry:
                entry[k] = v
        return json.dumps(entry, default=str).replace("\n", "\r") + "\n"


def _setup_logging():
    logging.Formatter.converter = time.gmtime
    logger = logging.getLogger()
    handler = _LambdaLoggerHandler()
    if (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            _LambdaFormatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
    level = (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    if level == "WARN":
        level = "WARNING"
    if level in ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "FATAL", "CRITICAL"):
        logger.setLevel({"TRACE": "DEBUG", "FATAL": "CRITICAL"}.get(level, level))
    handler.addFilter(_LambdaLoggerFilter())
    logger.addHandler(handler)


def _replace_line_indentation(line, indent_char, new_indent_char):
    n = len(line) - len(line.lstrip(indent_char))
    return new_indent_char * n + line[n:]


def log_error(error_result):
    """`[ERROR] <type>: <message>` and the traceback, one log line."""
    description = "[ERROR]"
    error_type = error_result.get("errorType")
    if error_type:
        description += " " + error_type
    message = error_result.get("errorMessage")
    if message:
        if error_type:
            description += ":"
        description += " " + message
    lines = [description]
    stack_trace = error_result.get("stackTrace")
    if stack_trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            if element == "":
                lines.append("")
                continue
            for line in element.splitlines():
                lines.append(_replace_line_indentation(line, " ", _ERROR_LOG_IDENT))
    # Newlines inside the message stay inside the one log line too.
    text = _ERROR_LOG_LINE_TERMINATE.join(lines).replace("\n", _ERROR_LOG_LINE_TERMINATE)
    sys.stdout.write(text + "\n")


# ---------------------------------------------------------------------------
# Errors


def make_error(error_message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _user_frames(tb):
    """The traceback's frames from the first one outside this file."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i in range(len(frames)):
        if "/bootstrap.py" not in frames[i][0]:
            return frames[i:]
    return frames


def _xray_fault(ex_type, ex_msg, frames):
    stack = [{"label": name, "path": path, "line": line} for path, line, name, _ in frames]
    return {
        "working_directory": os.getcwd(),
        "exceptions": [{"message": ex_msg, "type": ex_type, "stack": stack}],
        "paths": list({path for path, _, _, _ in frames}),
    }


def build_fault_result(exc_info, invoke_id=None):
    etype, value, tb = exc_info
    frames = _user_frames(tb)
    error = make_error(str(value), etype.__name__, traceback.format_list(frames), invoke_id)
    return error, _xray_fault(etype.__name__, str(value), frames)


# ---------------------------------------------------------------------------
# The Runtime API client: one persistent HTTP/1.1 connection


class InvocationRequest(object):
    def __init__(self, **kwds):
        self.__dict__.update(kwds)


class LambdaRuntimeClientError(Exception):
    def __init__(self, endpoint, response_code, response_body):
        self.endpoint = endpoint
        self.response_code = response_code
        self.response_body = response_body
        super().__init__(
            "Request to Lambda Runtime '{}' endpoint failed. Reason: '{}'. Response body: '{}'".format(
                endpoint, response_code, response_body
            )
        )


def _snapshot(cls):
    """A subclass of cls holding cls's methods as they are now: tracing and
    async libraries (X-Ray, OpenTelemetry, gevent) patch networking classes
    in the handler's process, and the runtime's own requests must not go
    through them."""
    attrs = {}
    for klass in reversed(cls.__mro__[:-1]):
        for k, v in vars(klass).items():
            if isinstance(v, (types.FunctionType, staticmethod, classmethod, property)) or (
                isinstance(v, types.MethodDescriptorType) and not k.startswith("__")
            ):
                attrs[k] = v
    return type("_Runtime" + cls.__name__, (cls,), attrs)


_RuntimeSocket = _snapshot(socket.socket)
_getaddrinfo = socket.getaddrinfo


class _Disconnected(Exception):
    """The server closed the keep-alive connection before answering."""


class _Response(object):
    def __init__(self, status, headers):
        self.status = status
        self._headers = headers  # lower-cased names

    def getheader(self, name):
        return self._headers.get(name.lower())


def _header_bytes(value):
    """A header value as bytes; CR and LF cannot be part of one."""
    if not isinstance(value, bytes):
        value = str(value).encode("latin-1", "replace")
    return value.replace(b"\r", b" ").replace(b"\n", b" ")


class RuntimeClient(object):
    """HTTP/1.1 over one persistent loopback connection: the little of the
    protocol the Runtime API uses (Content-Length or chunked bodies,
    keep-alive), written out here because http.client's import and header
    parsing cost more than a whole warm invocation of the server's side,
    as AWS's own runtime client uses a C library for the same reason."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        if not host:
            host, port = address, "80"
        self._host = host.strip("[]")
        self._port = int(port)
        self._host_header = address.encode("latin-1")
        self._sock = None
        self._rfile = None
        v = sys.version_info
        self._user_agent = "aws-lambda-python/{}.{}.{}-lambada".format(
            v.major, v.minor, v.micro
        ).encode("latin-1")

    def _connect(self):
        err = None
        for family, kind, proto, _, addr in _getaddrinfo(self._host, self._port, 0, socket.SOCK_STREAM):
            sock = _RuntimeSocket(family, kind, proto)
            try:
                # Blocking, whatever socket.setdefaulttimeout() the handler's
                # code set: `next` is a long poll.
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.connect(addr)
            except OSError as e:
                sock.close()
                err = e
                continue
            self._sock = sock
            self._rfile = sock.makefile("rb")
            return
        raise err or OSError("no address for " + self._host)

    def _close(self):
        if self._sock is not None:
            self._rfile.close()
            self._sock.close()
        self._sock = self._rfile = None

    def _request(self, method, path, body=None, headers=None):
        """One request and its whole answer; a keep-alive connection the
        server closed in the meantime is reopened once."""
        head = [
            method.encode("ascii") + b" " + path.encode("latin-1") + b" HTTP/1.1",
            b"Host: " + self._host_header,
            b"User-Agent: " + self._user_agent,
        ]
        if headers:
            for k, v in headers.items():
                head.append(k.encode("latin-1") + b": " + _header_bytes(v))
        if body is not None or method == "POST":
            head.append(b"Content-Length: %d" % len(body or b""))
        head = b"\r\n".join(head) + b"\r\n\r\n"
        for attempt in (0, 1):
            fresh = self._sock is None
            if fresh:
                self._connect()
            try:
                if body and len(body) > 65536:
                    self._sock.sendall(head)
                    self._sock.sendall(body)
                else:
                    self._sock.sendall(head + (body or b""))
                return self._read_response()
            except (_Disconnected, ConnectionResetError, BrokenPipeError):
                self._close()
                if fresh or attempt == 1:
                    raise
            except BaseException:
                self._close()  # the connection's state is unknown now
                raise

    def _read_response(self):
        rfile = self._rfile
        line = rfile.readline(65537)
        if not line:
            raise _Disconnected("Remote end closed connection without response")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise OSError("bad status line from the Runtime API: %r" % line)
        status = int(parts[1])
        headers = {}
        while True:
            line = rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            n = int(headers.get("content-length") or 0)
            body = rfile.read(n) if n else b""
            if len(body) < n:
                raise _Disconnected("body cut off")
        if headers.get("connection", "").lower() == "close":
            self._close()
        return _Response(status, headers), body

    def _read_chunked(self):
        rfile = self._rfile
        out = []
        while True:
            line = rfile.readline(65537)
            if not line:
                raise _Disconnected("chunked body cut off")
            n = int(line.split(b";", 1)[0].strip(), 16)
            if n == 0:
                break
            out.append(rfile.read(n))
            rfile.readline(3)
        while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass  # trailers: none the runtime reads
        return b"".join(out)

    def next(self):
        path = "/{}/runtime/invocation/next".format(_API_VERSION)
        resp, body = self._request("GET", path)
        if resp.status != 200:
            raise LambdaRuntimeClientError(path, resp.status, body)
        deadline = resp.getheader("Lambda-Runtime-Deadline-Ms")
        try:
            deadline_ms = int(deadline)
        except (TypeError, ValueError):
            deadline_ms = 0
        return InvocationRequest(
            invoke_id=resp.getheader("Lambda-Runtime-Aws-Request-Id"),
            x_amzn_trace_id=resp.getheader("Lambda-Runtime-Trace-Id") or None,
            invoked_function_arn=resp.getheader("Lambda-Runtime-Invoked-Function-Arn"),
            deadline_ms=deadline_ms,
            client_context=resp.getheader("Lambda-Runtime-Client-Context") or None,
            cognito_identity=resp.getheader("Lambda-Runtime-Cognito-Identity") or None,
            tenant_id=resp.getheader("Lambda-Runtime-Aws-Tenant-Id") or None,
            content_type=resp.getheader("Content-Type") or None,
            event_body=body,
        )

    def _post(self, path, body, headers):
        resp, data = self._request("POST", path, body=body, headers=headers)
        if resp.status != 202:
            raise LambdaRuntimeClientError(path, resp.status, data)

    def post_invocation_result(self, invoke_id, result, content_type):
        path = "/{}/runtime/invocation/{}/response".format(_API_VERSION, invoke_id)
        self._post(path, result, {"Content-Type": content_type})

    def post_invocation_error(self, invoke_id, error_json, xray_fault_json):
        path = "/{}/runtime/invocation/{}/error".format(_API_VERSION, invoke_id)
        headers = {"Content-Type": "application/json"}
        xray = xray_fault_json.encode("utf-8")
        if len(xray) < _XRAY_HEADER_MAX:
            headers[_XRAY_ERROR_HEADER] = xray
        self._post(path, error_json.encode("utf-8"), headers)

    def post_init_error(self, error_result):
        path = "/{}/runtime/init/error".format(_API_VERSION)
        headers = {
            "Content-Type": "application/json",
            _ERROR_TYPE_HEADER: error_result["errorType"].encode("utf-8"),
        }
        self._post(path, to_json(error_result).encode("utf-8"), headers)


# ---------------------------------------------------------------------------
# The handler and the invoke loop


def get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME, "Bad handler '{}': {}".format(handler, str(e))
        )
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        m = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR,
            "Unable to import module '{}': {}".format(modname, str(e)),
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '{}': {}".format(modname, str(e)),
            trace,
        )
    try:
        return getattr(m, fname)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND,
            "Handler '{}' missing on module '{}'".format(fname, modname),
            None,
        )


def handle_event_request(client, request_handler, req):
    error_result = None
    xray_fault = None
    try:
        context = create_lambda_context(req)
        event = unmarshal_request(req.event_body, req.content_type)
        response = request_handler(event, context)
        result, content_type = marshal_response(response)
    except FaultException as e:
        xray_fault = _xray_fault("LambdaValidationError", e.msg, [])
        error_result = make_error(e.msg, e.exception_type, e.trace, req.invoke_id)
    except Exception:
        error_result, xray_fault = build_fault_result(sys.exc_info(), req.invoke_id)

    if error_result is not None:
        log_error(error_result)
        client.post_invocation_error(req.invoke_id, to_json(error_result), to_json(xray_fault))
    else:
        client.post_invocation_result(req.invoke_id, result, content_type)


def _update_xray_env_variable(trace_id):
    if trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)


def _set_sys_path(task_root):
    """As on AWS: the task root first, then the layers' folders; this
    file's own folder is not importable from (it holds only the runtime)."""
    here = os.path.dirname(os.path.realpath(__file__))

    def is_here(p):
        try:
            return os.path.realpath(p or os.getcwd()) == here
        except OSError:
            return False

    sys.path[:] = [p for p in sys.path if not is_here(p)]
    v = sys.version_info
    front = [
        task_root,
        "/opt/python/lib/python{}.{}/site-packages".format(v.major, v.minor),
        "/opt/python",
    ]
    sys.path[:] = front + [p for p in sys.path if p not in front]
    # The task root is read-only, as /var/task on AWS, so no bytecode cache
    # lands there; a runtime running as root could still write one into
    # the tree every environment of this code shares.
    sys.dont_write_bytecode = True


def _utf8_stdio():
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        enc = (getattr(stream, "encoding", "") or "").lower().replace("_", "-")
        if enc not in ("utf-8", "utf8") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(encoding="utf-8")
            except Exception:
                pass


def main():
    global _current_request_id, _current_tenant_id
    _utf8_stdio()
    handler = os.environ.get("_HANDLER") or (sys.argv[1] if len(sys.argv) > 1 else None)
    if not handler:
        sys.stderr.write("_HANDLER is not set\n")
        sys.exit(1)
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    _set_sys_path(task_root)

    error_result = None
    try:
        _setup_logging()
        request_handler = get_handler(handler)
    except FaultException as e:
        error_result = make_error(e.msg, e.exception_type, e.trace)
    except Exception:
        error_result, _ = build_fault_result(sys.exc_info())
    if error_result is not None:
        logging.warning(_UNHANDLED_EXCEPTION_WARNING)
        log_error(error_result)
        client.post_init_error(error_result)
        sys.exit(1)

    while True:
        req = client.next()
        _current_request_id = req.invoke_id
        _current_tenant_id = req.tenant_id
        _update_xray_env_variable(req.x_amzn_trace_id)
        handle_event_request(client, request_handler, req)


if __name__ == "__main__":
    main()
