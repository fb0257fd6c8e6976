def func(event, context):
    return {"module": __name__, "event": event}
