# spins_to_stop.py SECONDS -- a slow but honest server: on SIGTERM it computes for SECONDS of CPU time, then exits 0.
import signal
import sys
import time


def stop(signum, frame):
    until = time.process_time() + float(sys.argv[1])
    while time.process_time() < until:
        pass
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
print("READY 127.0.0.1:9", flush=True)
while True:
    signal.pause()
