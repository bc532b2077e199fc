# A preforking server on the loopback, for `vmtree record` (see
# scripts/record-corpus.sh): the parent builds a cache on its heap, listens
# on 127.0.0.1 (a port the kernel picks), forks WORKERS workers that each
# answer exactly PER requests from the shared, copy-on-write cache, then
# acts as the client for all WORKERS*PER requests and reaps the workers.
# Bounded: it ends by itself, and only ever talks to 127.0.0.1.
import os
import socket
import sys

WORKERS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
PER = int(sys.argv[2]) if len(sys.argv) > 2 else 4

cache = [bytes([i % 251]) * (512 + (i % 7) * 256) for i in range(3000)]

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', 0))
srv.listen(64)
port = srv.getsockname()[1]

workers = []
for w in range(WORKERS):
    pid = os.fork()
    if pid == 0:
        srv.settimeout(30)
        for _ in range(PER):
            conn, _addr = srv.accept()
            key = int(conn.recv(64) or b'0')
            body = b''.join(cache[key % 3000:key % 3000 + 40])
            log = [body[i:i + 64] for i in range(0, len(body), 64)]  # some work on the worker's own heap
            conn.sendall(b'%d %d\n' % (len(body), len(log)))
            conn.close()
        os._exit(0)
    workers.append(pid)

total = 0
for i in range(WORKERS * PER):
    c = socket.create_connection(('127.0.0.1', port), timeout=30)
    c.sendall(b'%d' % (i * 97))
    total += int(c.recv(64).split()[0])
    c.close()
for pid in workers:
    os.waitpid(pid, 0)
print('served', WORKERS * PER, 'requests,', total, 'bytes')
