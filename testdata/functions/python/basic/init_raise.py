import os

SETTING = os.environ["LAMBADA_TEST_MISSING_SETTING"]


def handler(event, context):
    return SETTING
