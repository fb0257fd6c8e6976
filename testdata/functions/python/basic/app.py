# Handlers for lambada's Python runtime tests (internal/runtimes/python_test.go).
# Line numbers matter: the tests compare stack traces.
import decimal
import logging
import os
import sys

import helper

COUNT = 0


def lambda_handler(event, context):
    return event


def context_handler(event, context):
    cc = context.client_context
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "identity": {
            "cognito_identity_id": context.identity.cognito_identity_id,
            "cognito_identity_pool_id": context.identity.cognito_identity_pool_id,
        },
        "client_context": None if cc is None else {
            "custom": cc.custom,
            "env": cc.env,
            "client": None if cc.client is None else {
                "installation_id": cc.client.installation_id,
                "app_title": cc.client.app_title,
                "app_version_name": cc.client.app_version_name,
                "app_version_code": cc.client.app_version_code,
                "app_package_name": cc.client.app_package_name,
            },
        },
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
        "runtime_dir": os.environ.get("LAMBDA_RUNTIME_DIR"),
        "sys_path": sys.path,
        "cwd": os.getcwd(),
        "helper": helper.WHERE,
    }


def counter_handler(event, context):
    global COUNT
    COUNT += 1
    return {"count": COUNT, "pid": os.getpid()}


def log_handler(event, context):
    print("hello from print")
    print("second\tprint line")
    logger = logging.getLogger()
    logger.info("info before setLevel is dropped")
    logger.warning("warning from the root logger")
    logger.setLevel(logging.INFO)
    logging.getLogger("mylib").info("info from a child logger")
    logger.error("first line\nsecond line")
    logger.setLevel(logging.WARNING)
    try:
        raise ValueError("inner")
    except ValueError:
        logger.exception("caught it")
    sys.stderr.write("to stderr\n")
    return {"request_id": context.aws_request_id}


class MyError(Exception):
    pass


def fail_inner():
    raise MyError("it broke")


def raise_handler(event, context):
    fail_inner()


def marshal_handler(event, context):
    return {"s": {1, 2}}


def none_handler(event, context):
    return None


def values_handler(event, context):
    return {
        "d": decimal.Decimal("1.10"),
        "e": decimal.Decimal("1E+2"),
        "n": decimal.Decimal("NaN"),
        "b": b"bytes",
        "u": "caf\u00e9",
        "f": 0.5,
        "l": [1, (2, 3)],
    }


def bytes_handler(event, context):
    return b"raw \x00 bytes"


def exit_handler(event, context):
    sys.exit(event.get("code", 3))


def os_exit_handler(event, context):
    os._exit(event.get("code", 5))


def big_handler(event, context):
    return "x" * event["n"]
