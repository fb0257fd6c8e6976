# A syntax error on line 3.

def handler(event, context)
    return "unreachable"
