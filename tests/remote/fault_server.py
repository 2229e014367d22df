#!/usr/bin/python3
"""A web server for h5ser's remote-load tests that fails as real servers and networks do, where
nginx cannot be made to: it serves the files of a directory by ranged GETs (ETag, If-Match,
Content-Range, as nginx does), and a path prefix chooses how it misbehaves:

    /ok/NAME                 serves NAME correctly
    /reset-once/NAME         resets the connection halfway through the first tensor request's body
    /reset-always/NAME       resets every tensor request halfway
    /5xx-once/NAME           answers the first tensor request 503
    /5xx-always/NAME         answers every tensor request 503
    /status-403/NAME         answers 403 to everything
    /stall/NAME              sends the headers and half the body of tensor requests, then nothing
    /ignore-range/NAME       answers 200 with the whole file, as a server without Range support
    /wrong-range/NAME        answers tensor requests with the bytes of another range
    /short/NAME              closes tensor requests after fewer bytes than Content-Length says, once
    /replace/NAME            serves NAME to the first request of each load, then NAME.next
                             (another file, another ETag), as if replaced in between
    /replace-no-etag/NAME    the same without ETag or Last-Modified headers

The first request of a load (from byte 0) is never faulted, so each fault hits the tensors.
It prints the port it listens on, then serves until killed. Usage: fault_server.py DIR
"""
import http.server
import os
import socket
import struct
import sys
import threading
import time

ROOT = sys.argv[1]
counts = {}
lock = threading.Lock()


def count(key):
    with lock:
        counts[key] = counts.get(key, 0) + 1
        return counts[key]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def do_GET(self):
        parts = self.path.split("/", 2)
        if len(parts) != 3:
            return self.send_error(404)
        mode, name = parts[1], parts[2]
        path = os.path.join(ROOT, name)
        first = self.headers.get("Range", "").startswith("bytes=0-")
        if mode in ("replace", "replace-no-etag") and not first and os.path.exists(path + ".next"):
            path = path + ".next"
        if not os.path.isfile(path):
            return self.send_error(404)
        with open(path, "rb") as f:
            data = f.read()
        etag = '"%x-%x"' % (len(data), hash(data) & 0xFFFFFFFF)
        if mode == "status-403":
            return self.send_error(403)
        wanted = self.headers.get("If-Match")
        if wanted is not None and wanted != etag:
            return self.send_error(412)
        rng = self.headers.get("Range")
        if mode == "ignore-range" or rng is None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", etag)
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:
                pass
            return
        start, end = (int(x) for x in rng[len("bytes="):].split("-"))
        end = min(end, len(data) - 1)
        key = (mode, name)
        n = 0 if first else count(key)
        if not first and (mode == "5xx-always" or (mode == "5xx-once" and n == 1)):
            return self.send_error(503)
        if not first and mode == "wrong-range":
            start, end = start + 1, end + 1 if end + 1 < len(data) else end
        body = data[start:end + 1]
        self.send_response(206)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))
        if mode != "replace-no-etag":
            self.send_header("ETag", etag)
        self.end_headers()
        half = len(body) // 2
        if not first and (mode == "reset-always" or (mode == "reset-once" and n == 1)):
            self.wfile.write(body[:half])
            self.wfile.flush()
            return self.reset()
        if not first and mode == "short" and n == 1:
            self.wfile.write(body[:half])
            self.wfile.flush()
            self.close_connection = True
            return
        if not first and mode == "stall":
            self.wfile.write(body[:half])
            self.wfile.flush()
            time.sleep(30)
            return self.reset()
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that stop a request (a load failing elsewhere) reset its connection: no news.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
