#!/usr/bin/python3
"""The dashboard's first paint from the daemon on localhost, in headless Chromium (Debian's,
driven over the DevTools protocol, browser cache disabled): for each of RUNS fresh loads of
the risk map, the browser's first contentful paint and the moment the page painted its first
data from the API (the performance mark "dg-first-data", set right after the first render with
data). Target: first data under 1 s. Printed, never asserted.

  /usr/bin/python3 bench/bench_first_paint.py [runs]
Run from the source tree after building (build/dualguardd)."""
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from dgtest import Mosquitto, start_daemon, wait_until  # noqa: E402
from test_dashboard import OPEN_READS, Browser, DASHBOARD_DIR  # noqa: E402
from test_ledger_closed_loop import breach  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
PAINT = ("(() => { const p = performance.getEntriesByName('first-contentful-paint')[0];"
         " const d = performance.getEntriesByName('dg-first-data')[0];"
         " const n = performance.getEntriesByType('navigation')[0];"
         " const a = performance.getEntriesByType('resource').find(r => r.name.endsWith('/api/v1/alarms'));"
         " return p && d && n && a ? [p.startTime, d.startTime, n.responseEnd, n.domContentLoadedEventEnd,"
         " a.startTime, a.duration] : null; })()")


def main():
    workdir = tempfile.mkdtemp(prefix="dg-bench-paint-")
    cleanup = []
    try:
        broker = Mosquitto(workdir).start()
        cleanup.append(broker.stop)
        daemon = start_daemon(workdir, cleanup, OPEN_READS.format(mqtt_port=broker.port, hook_port=9),
                              connected=True, extra_args=["--dashboard", DASHBOARD_DIR])
        breach(daemon, broker, "t/gt101", "R-GT101-H")  # an alarm, a hazard: the page has data to show
        browser = Browser(workdir)
        cleanup.append(browser.close)
        fcp, data, parts = [], [], []
        for i in range(RUNS + 1):
            # A new tab each time: a fresh renderer, nothing cached (the cache is disabled too).
            target = browser.call("Target.createTarget", url="about:blank")["targetId"]
            browser.session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            browser.resize(1600, 1000)
            browser.call("Network.enable", browser.session)
            browser.call("Network.setCacheDisabled", browser.session, cacheDisabled=True)
            browser.goto(f"http://127.0.0.1:{daemon.port}/#risk")
            got = wait_until(lambda: browser.evaluate(PAINT), 30, "the first data painted")
            browser.call("Target.closeTarget", targetId=target)
            if i == 0:
                continue  # the first load also warms the browser up: not counted
            fcp.append(got[0])
            data.append(got[1])
            parts.append(got[2:])
        load = os.getloadavg()[0]
        print(f"{RUNS} loads of the dashboard from the daemon on localhost, cache disabled, load {load:.1f}")
        med = [statistics.median(p[k] for p in parts) for k in range(4)]
        print(f"medians: page received {med[0]:.0f} ms, DOMContentLoaded {med[1]:.0f} ms, "
              f"/api/v1/alarms requested at {med[2]:.0f} ms and answered in {med[3]:.0f} ms")
        print(f"first contentful paint: median {statistics.median(fcp):.0f} ms, max {max(fcp):.0f} ms")
        print(f"first data painted:     median {statistics.median(data):.0f} ms, max {max(data):.0f} ms "
              f"(target < 1000 ms: {'met' if statistics.median(data) < 1000 else 'NOT met'} at the median)")
    finally:
        for c in reversed(cleanup):
            try:
                c()
            except Exception:
                pass


if __name__ == "__main__":
    main()
