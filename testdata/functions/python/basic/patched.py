# Handler code that changes process-wide networking at import, as tracing
# libraries and careful clients do: the runtime's own requests must not
# be affected.
import http.client
import os
import socket

socket.setdefaulttimeout(0.3)


def _refuse(self, *args, **kwargs):
    raise RuntimeError("the runtime went through patched http.client")


http.client.HTTPConnection.request = _refuse
http.client.HTTPConnection.getresponse = _refuse
http.client.HTTPResponse.read = _refuse
# As gevent-style and tracing libraries do to sockets.
socket.socket.connect = _refuse
socket.socket.sendall = _refuse
socket.socket.makefile = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
socket.socket = None


def handler(event, context):
    return {"pid": os.getpid()}
