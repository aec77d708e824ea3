#!/usr/bin/python3
"""A restart does not reset the counting that protects providers and people: a robot that has
had its rate_per_min sends this minute gets no more after a kill -9 and restart, and a person
whose digest window had its allowance gets the next message in a digest, not on its own."""
import json
import os
import sys

from dgtest import Daemon, db_rows, run_tests, start_sink, wait_until

CONFIG = """
site: {{ code: "410700-0001", name: 测试化工 }}
persons:
  - {{ id: zhang, name: 张工, roles: [operator] }}
  - {{ id: li, name: 李主任, roles: [workshop_director] }}
hazard_sources:
  - id: HS01
    name: 液氨储罐区
    units:
      - id: U01
        name: 1#液氨储罐
        responsible: {{ dept: 储运车间, person: zhang }}
        events:
          - {{ id: E01, name: 液氨泄漏中毒, accident_type: 中毒和窒息, lec: {{ l: 1, e: 1, c: 3 }},
               measures: [ {{ id: M01, desc: 有毒气体检测报警器有效投用, classify: "1-4", data_src: 2 }} ] }}
escalation:
  digest_window: 10m
  digest_after: 1
  channels:
    - {{ id: robot, type: webhook, url: "http://127.0.0.1:{port}/robot", rate_per_min: 2 }}
    - {{ id: hook, type: webhook, url: "http://127.0.0.1:{port}/people" }}
  policies:
    - id: major
      events: [major_hazard_opened]
      tiers: [ {{ persons: [li], channels: [robot] }} ]
    - id: rectify
      events: [hazard_opened]
      priorities: [high]
      tiers: [ {{ persons: [zhang], channels: [hook] }} ]
"""


def report(daemon, major):
    st, h = daemon.post("/api/v1/hazards", {"description": "罐区围堰破损", "danger_src": 1, "unit": "U01",
                                            "danger_level": 1 if major else 0, "liable_person": "zhang"}, actor="li")
    assert st == 201, h
    return h


def at(sink, path):
    return [r for r in sink.received if r["path"] == path]


def test_limits_survive_kill9(workdir, cleanup):
    sink = start_sink(cleanup)
    cfg = os.path.join(workdir, "plant.yaml")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(CONFIG.format(port=sink.port))
    daemon = Daemon(workdir, cfg, os.path.join(workdir, "dg.db"))
    cleanup.append(lambda: daemon.stop())
    daemon.start()
    report(daemon, True)
    report(daemon, True)
    wait_until(lambda: len(at(sink, "/robot")) == 2, 10, "two robot sends")
    report(daemon, False)
    wait_until(lambda: len(at(sink, "/people")) == 1, 10, "zhang's first message")
    wait_until(lambda: db_rows(daemon.db_path, "SELECT count(*) AS n FROM notify_sends")[0]["n"] == 2, 5,
               "the robot's sends logged")
    # the deliveries' outcomes committed, so the kill cannot fall in the window where a receiver
    # has a message whose delivery we have not recorded yet (that one is resent, by design)
    wait_until(lambda: db_rows(daemon.db_path, "SELECT count(*) AS n FROM outbox WHERE state = 1")[0]["n"] == 3, 10,
               "the three deliveries recorded")
    daemon.kill9()
    daemon.start()

    h4 = report(daemon, True)
    wait_until(lambda: "robot: held by its rate limit" in daemon.read_log(), 10, "the robot's limit after the restart")
    h5 = report(daemon, False)
    held = lambda: [t for r in db_rows(daemon.db_path, "SELECT s.detail FROM escalation_steps s JOIN escalations e"
                                       " ON e.id = s.escalation_id WHERE e.hazard_id = ?", (h5["id"],))
                    for t in json.loads(r["detail"])["told"]]
    told = wait_until(lambda: held(), 10, "zhang's second message decided")
    assert told == [{"person": "zhang", "channel": "hook", "held": "digest"}], told
    # The limited message waits for its minute (it is pending, not lost); nothing went out over
    # the limit nor past the digest.
    row = db_rows(daemon.db_path, "SELECT state FROM outbox WHERE channel = 'robot' AND body LIKE ?",
                  (f'%"hazard_id":{h4["id"]}%',))
    assert row == [{"state": 0}], row
    assert len(at(sink, "/robot")) == 2 and len(at(sink, "/people")) == 1, sink.received


if __name__ == "__main__":
    sys.exit(run_tests([test_limits_survive_kill9]))
