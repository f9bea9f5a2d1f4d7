"""The HTTP server: serves the Backend over a socket with the standard library's threading server."""

import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import control
from .app import json_response

__all__ = ('SimulatorServer',)


class RequestHandler(BaseHTTPRequestHandler):
    """Hands each request to the backend, or to the control API under /_sim/."""

    protocol_version = 'HTTP/1.1'  # keep-alive, as clients pool connections
    server_version = 'meraki-sim'
    disable_nagle_algorithm = True  # headers and body go out as separate writes; don't wait on delayed ACKs
    timeout = 60  # close idle keep-alive connections, so their threads end

    def do_GET(self):
        self.serve('GET')

    def do_POST(self):
        self.serve('POST')

    def do_PUT(self):
        self.serve('PUT')

    def do_DELETE(self):
        self.serve('DELETE')

    def do_PATCH(self):
        self.serve('PATCH')

    def serve(self, method):
        """Answer one request, misbehaving as a fault asks."""
        backend = self.server.backend
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        try:
            if self.path == control.PREFIX or self.path.startswith(control.PREFIX + '/'):
                response = control.handle(backend, method, self.path, body)
            else:
                response = backend.handle(method, self.path, self.headers, self.client_address[0])
        except Exception as error:  # a bug here should answer, not leave the client hanging
            traceback.print_exc(file=sys.stderr)
            response = json_response(500, {'errors': [f'Simulator error: {error!r}']})
        if response.delay:
            backend.stopping.wait(response.delay)
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header('Content-Length', str(len(response.body)))
            if response.truncate:
                self.send_header('Connection', 'close')
            self.end_headers()
            if response.truncate:
                self.wfile.write(response.body[: len(response.body) // 2])
                self.close_connection = True
            else:
                self.wfile.write(response.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up, e.g. after its timeout

    def log_message(self, format, *args):
        """Stay quiet; counts are available from the control API."""


class SimulatorServer(ThreadingHTTPServer):
    """A threading HTTP server bound to a Backend."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, backend):
        super().__init__(address, RequestHandler)
        self.backend = backend

    @property
    def port(self):
        """The port the server listens on."""
        return self.server_address[1]
