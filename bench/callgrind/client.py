"""Keep-alive load for the callgrind comparison: N GET /api/version over C connections.

usage: client.py PORT N C   (prints "bad K": answers that were not 200)
"""
import http.client
import sys
import threading

port, n, conns = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
bad = [0]


def worker(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(k):
        c.request("GET", "/api/version")
        r = c.getresponse()
        r.read()
        if r.status != 200:
            bad[0] += 1


threads = [threading.Thread(target=worker, args=(n // conns,)) for _ in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("bad", bad[0])
