#!/usr/bin/python3
"""The receiving side of the regulator's dual-prevention platform, written from the published
field lists (the wwyt schema's entities, the public upload client's DTOs and paths; see
docs/national-upload.md) and independent of the daemon's code: it decrypts `datas`, checks
required fields, types, enums, the UUID form, the enterprise codes and referential integrity,
keeps the latest version of every record and the order records arrived in, and answers with
the platform's success code, an error code, an HTTP error, or not in time."""
import base64
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PATHS = {
    "/sec_hazard_source": "hazardSources",
    "/sec_security_risk_unit": "riskUnits",
    "/sec_security_risk_events": "riskEvents",
    "/sec_security_risk_control_measures": "controlMeasures",
    "/sec_hidden_check_mission": "checkTasks",
    "/sec_hidden_check_record": "checkRecords",
    "/sec_hidden_danger_info": "hazards",
    "/sec_deactivated_maintenance_record": "shutdownRecords",
    "/sec_monthly_report": "monthlyReports",
    "/sec_safety_promise": "safetyCommitments",
}

COMMON = ["id", "companyCode", "tyshxydm", "deleted", "createDate", "createBy", "updateDate", "updateBy"]
REQUIRED = {
    "hazardSources": ["hazardCode", "hazardName", "isMajor"],
    "riskUnits": ["hazardCode", "hazardDep", "hazardLiablePerson", "riskUnitName", "riskClass"],
    "riskEvents": ["riskUnitId", "riskEventName"],
    "controlMeasures": ["riskEventId", "dataSrc", "riskMeasureDesc", "classify1", "classify2", "troubleshootContent"],
    "checkTasks": ["riskMeasureId", "troubleshootContent", "checkCycle", "checkCycleUnit", "taskStartTime",
                   "workDayType", "workType"],
    "checkRecords": ["checkTaskId", "checkTime", "checkStatus", "createByMobile", "updateByMobile"],
    "hazards": ["hazardCode", "dangerName", "dangerLevel", "registTime", "registrant", "dangerSrc",
                "dangerManageType", "hazardDangerType", "hazardCategory", "dangerDesc", "liablePerson",
                "dangerManageDeadline", "dangerState"],
    "shutdownRecords": ["hazardCode", "riskUnitId", "stopStartTime", "stopReason"],
    "monthlyReports": ["reportMonth", "report"],
    "safetyCommitments": ["commitDate", "commitTime", "commitPerson", "majorSourceNum", "runningNum", "shutdownNum",
                          "maintenanceNum", "specialOperationNum", "openHazardNum", "majorHazardNum",
                          "generalHazardNum", "activeAlarmNum", "overdueTaskNum", "stopOrderNum", "commitContent"],
}
# the daily safety commitment's figures: counts, whole numbers from 0
COMMIT_COUNTS = ["majorSourceNum", "runningNum", "shutdownNum", "maintenanceNum", "specialOperationNum",
                 "openHazardNum", "majorHazardNum", "generalHazardNum", "activeAlarmNum", "overdueTaskNum",
                 "stopOrderNum"]
# fields that may be null on a deleted record (its snapshot may not have them)
NULLABLE_WHEN_DELETED = {"classify2", "troubleshootContent", "hazardDep", "hazardLiablePerson", "riskClass",
                         "hazardName", "riskEventName", "riskUnitName", "riskMeasureDesc", "classify1"}
ENUMS = {
    "deleted": {"0", "1"},
    "isMajor": {"0", "1"},
    "dataSrc": {"1", "2"},
    "classify1": {"1", "2", "3", "4"},
    "classify2": {f"{a}-{b}" for a, n in ((1, 5), (2, 3), (3, 4), (4, 5)) for b in range(1, n + 1)},
    "checkCycleUnit": {"小时", "天", "月", "年"},
    "workDayType": {"0", "1", "2"},
    "workType": {"0", "1", "2", "3"},
    "checkStatus": {"0", "1", "2", "3"},
    "dangerLevel": {"0", "1"},
    "dangerSrc": {str(i) for i in range(1, 11)},
    "dangerManageType": {"0", "1"},
    "hazardDangerType": {str(i) for i in range(1, 9)},
    "dangerState": {"0", "1", "9"},
}
# numbers in the wwyt schema (Integer fields), optional on a hazard
NUMBER_ENUMS = {
    "managementClassification": {1, 2, 3},        # 人的不安全行为 物的不安全状态 管理上的缺陷
    "occurrenceLink": set(range(1, 11)),           # 设计 … 运输
}
# 包保 tasks: workType 1 主要负责人 (checklist items 1-9), 2 技术负责人 (1-9), 3 操作负责人 (1-10)
TASK_NUM_MAX = {"1": 9, "2": 9, "3": 10}
UUID = re.compile(r"^([0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")
REFS = {  # field → (record type it names, may be null)
    "riskEvents": [("riskUnitId", "riskUnits", False)],
    "controlMeasures": [("riskEventId", "riskEvents", False)],
    "checkTasks": [("riskMeasureId", "controlMeasures", False)],
    "checkRecords": [("checkTaskId", "checkTasks", False)],
    "hazards": [("riskMeasureId", "controlMeasures", True), ("checkRecordId", "checkRecords", True)],
    "shutdownRecords": [("riskUnitId", "riskUnits", False)],
}
CC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_code_ok(code):
    if not isinstance(code, str) or len(code) != 18 or any(c not in CC_CHARS for c in code):
        return False
    total = sum(CC_CHARS.index(c) * w for c, w in zip(code, CC_WEIGHTS))
    return CC_CHARS[(31 - total % 31) % 31] == code[17]


def is_time(v, fmt):
    try:
        return isinstance(v, str) and time.strftime(fmt, time.strptime(v, fmt)) == v
    except ValueError:
        return False


def decrypt(key, text):
    k = key.encode()
    d = Cipher(algorithms.AES(k), modes.CBC(k)).decryptor()
    raw = d.update(base64.b64decode(text)) + d.finalize()
    u = padding.PKCS7(128).unpadder()
    return (u.update(raw) + u.finalize()).decode("utf-8")


class Platform:
    def __init__(self, aes_key=None, token=None, token_header="token", time_format="%Y%m%d%H%M%S"):
        self.aes_key, self.token, self.token_header, self.time_format = aes_key, token, token_header, time_format
        self.lock = threading.Lock()
        self.records = {k: {} for k in REQUIRED}   # kind → id → latest accepted record
        self.arrivals = []                          # (kind, id, record) in the order accepted
        self.errors = []                            # rejections: (path, message)
        self.refused = []                           # refused by self.refuse: (kind, id, record)
        self.posts = 0
        self.mode = "up"                            # up | down (HTTP 503) | slow (answer after delay_s)
        self.delay_s = 0
        self.received = threading.Event()           # set whenever a page was accepted
        self.refuse = None                          # (kind, record) → an error code the platform answers, or None
        self.server = None

    # ---- checks ----
    def check(self, kind, rec):
        if not isinstance(rec, dict):
            return "record is not an object"
        deleted = rec.get("deleted") == "1"
        for f in COMMON + REQUIRED[kind]:
            if f not in rec:
                return f"{kind}: missing field {f}"
            if rec[f] in (None, "") and f not in ("createByMobile", "updateByMobile") and \
                    not (deleted and f in NULLABLE_WHEN_DELETED):
                return f"{kind}: empty required field {f}"
        if not UUID.match(rec["id"]):
            return f"{kind}: id '{rec['id']}' is not a 32/36-character UUID"
        if not re.fullmatch(r"\d{9}", rec["companyCode"]):
            return f"{kind}: companyCode '{rec['companyCode']}' is not 9 digits"
        if not credit_code_ok(rec["tyshxydm"]):
            return f"{kind}: tyshxydm '{rec['tyshxydm']}' fails the GB 32100 check"
        for f, allowed in ENUMS.items():
            if f in rec and rec[f] is not None and rec[f] not in allowed:
                return f"{kind}: {f} = {rec[f]!r} not in the national list"
        for f, allowed in NUMBER_ENUMS.items():
            if rec.get(f) is not None and rec[f] not in allowed:
                return f"{kind}: {f} = {rec[f]!r} not in the national list"
        if kind == "checkTasks":
            wt, num = rec["workType"], rec.get("taskNum")
            if wt == "0" and num not in (None, ""):
                return f"checkTasks: taskNum {num!r} on a daily task (workType 0)"
            if wt != "0" and not (isinstance(num, str) and num.isdigit() and 1 <= int(num) <= TASK_NUM_MAX[wt]):
                return f"checkTasks: taskNum {num!r} is not an item 1-{TASK_NUM_MAX[wt]} of workType {wt}'s checklist"
        if "riskClass" in rec and rec["riskClass"] is not None and rec["riskClass"] not in (1, 2, 3, 4):
            return f"{kind}: riskClass {rec['riskClass']!r} not in 1 重大 … 4 低"
        if "checkCycle" in rec and not (isinstance(rec["checkCycle"], int) and rec["checkCycle"] > 0):
            return f"{kind}: checkCycle must be a number above 0"
        for f in ("createDate", "updateDate", "taskStartTime", "checkTime", "registTime", "stopStartTime",
                  "commitTime"):
            if f in rec and rec[f] is not None and not is_time(rec[f], self.time_format):
                return f"{kind}: {f} '{rec[f]}' is not {self.time_format}"
        if kind == "monthlyReports" and not is_time(rec["reportMonth"], "%Y-%m"):
            return f"monthlyReports: reportMonth '{rec['reportMonth']}' is not yyyy-MM"
        if kind == "safetyCommitments":
            err = self.check_commitment(rec)
            if err:
                return err
        if kind == "hazards" and not is_time(rec["dangerManageDeadline"], "%Y-%m-%d"):
            return f"hazards: dangerManageDeadline '{rec['dangerManageDeadline']}' is not a date"
        if kind == "hazards" and rec["dangerState"] == "9" and not rec.get("checkAcceptPerson"):
            return "hazards: checkAcceptPerson is required once accepted (9)"
        for f, target, nullable in REFS.get(kind, []):
            v = rec.get(f)
            if v is None and nullable:
                continue
            if v not in self.records[target]:
                return f"{kind}: {f} '{v}' names no {target} record received"
        return None

    @staticmethod
    def check_commitment(rec):
        if not is_time(rec["commitDate"], "%Y-%m-%d"):
            return f"safetyCommitments: commitDate '{rec['commitDate']}' is not yyyy-MM-dd"
        for f in COMMIT_COUNTS:
            if type(rec[f]) is not int or rec[f] < 0:
                return f"safetyCommitments: {f} = {rec[f]!r} is not a count"
        if rec["runningNum"] + rec["shutdownNum"] + rec["maintenanceNum"] != rec["majorSourceNum"]:
            return "safetyCommitments: running + shutdown + maintenance is not majorSourceNum"
        if rec["majorHazardNum"] + rec["generalHazardNum"] != rec["openHazardNum"]:
            return "safetyCommitments: major + general hazards is not openHazardNum"
        if rec["commitDate"] not in rec["commitContent"]:
            return "safetyCommitments: commitContent does not name commitDate"
        return None

    def accept(self, path, body):
        kind = PATHS.get(path)
        if not kind:
            return 404, {"code": 404, "msg": f"no such interface {path}"}
        try:
            datas = json.loads(body)["datas"]
            text = decrypt(self.aes_key, datas) if self.aes_key else datas
            page = json.loads(text)
        except Exception as e:  # noqa: BLE001 - any malformed body is the sender's error
            return 200, {"code": 500, "msg": f"cannot read datas: {e}"}
        if not isinstance(page, list) or not page:
            return 200, {"code": 500, "msg": "datas must be a non-empty list"}
        with self.lock:
            for rec in page:
                code = self.refuse(kind, rec) if self.refuse else None
                if code:
                    self.refused.append((kind, rec["id"], dict(rec)))
                    return 200, {"code": code, "msg": "数据不予接收 refused"}
                err = self.check(kind, rec)
                if err:
                    self.errors.append((path, err))
                    return 200, {"code": 400, "msg": err}
            for rec in page:
                self.records[kind][rec["id"]] = rec
                self.arrivals.append((kind, rec["id"], rec))
        self.received.set()
        return 200, {"code": 200, "msg": "success", "data": None}

    # ---- server ----
    def start(self):
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(n)
                with platform.lock:
                    platform.posts += 1
                mode = platform.mode
                if mode == "down":
                    return self.answer(503, {"code": 503, "msg": "maintenance"})
                if platform.token and self.headers.get(platform.token_header) != platform.token:
                    return self.answer(401, {"code": 401, "msg": "bad token"})
                status, reply = platform.accept(self.path, body)
                if mode == "slow":
                    time.sleep(platform.delay_s)
                self.answer(status, reply)

            def answer(self, status, obj):
                data = json.dumps(obj, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout, killed)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def port(self):
        return self.server.server_address[1]

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def wait_quiet(self, for_s=1.0, timeout=15):
        """Returns once no request has come or been taken for for_s seconds: a sender killed
        mid-request has had its last request read and judged."""
        deadline = time.monotonic() + timeout
        with self.lock:
            last = (self.posts, len(self.arrivals))
        while time.monotonic() < deadline:
            time.sleep(for_s)
            with self.lock:
                now = (self.posts, len(self.arrivals))
            if now == last:
                return
            last = now
        raise AssertionError("the platform never went quiet")

    def snapshot(self):
        with self.lock:
            return {k: dict(v) for k, v in self.records.items()}, list(self.arrivals), list(self.errors)
