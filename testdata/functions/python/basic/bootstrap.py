# A user module named like the runtime's own file: it must win.
WHERE = "user bootstrap module"


def handler(event, context):
    return {"where": WHERE}
