# detect's Python worker: runs the unit tests of Python detections with
# panther-core, imported from the interpreter's own environment.
#
# It speaks newline-delimited JSON: requests on the file descriptor that
# was standard input, replies on the one that was standard output. Both are
# moved away first, so that nothing a detection prints or reads can reach
# the protocol. Standard error stays with detect, which keeps its tail to
# explain a crash.
#
# Replies: {"hello": ...} once at start; {"ready": ...} after "setup";
# for "detection": {"loaded": true} or {"setup_error": ...}, then one
# {"test": i, ...} per test, then {"done": true}. For a replay: "load"
# (streaming rules, once per worker) gives {"loaded_rules": n, "errors":
# [...]}; each "events" (a batch of events with the rules to run on each)
# gives one {"results": [...]} line holding only the events with a match
# or an error.
import contextlib
import io
import json
import os
import signal
import sys
import threading
import time
import traceback
import uuid

OUTPUT_LIMIT = 1_000_000


def _streams():
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdin = open(os.devnull, "r", encoding="utf-8")
    sys.stdout = open(os.devnull, "w", encoding="utf-8")
    return proto_in, proto_out


def _tie_to_parent():
    """Never outlive detect: a kill of the parent ends the worker."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux
        pass
    if os.getppid() != parent:
        os._exit(0)

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


class Capture(io.TextIOBase):
    """What a test prints, kept up to OUTPUT_LIMIT characters."""

    def __init__(self):
        super().__init__()
        self.parts = []
        self.size = 0
        self.dropped = 0

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            s = str(s)
        room = OUTPUT_LIMIT - self.size
        if room > 0:
            kept = s[:room]
            self.parts.append(kept)
            self.size += len(kept)
            self.dropped += len(s) - len(kept)
        else:
            self.dropped += len(s)
        return len(s)

    def getvalue(self):
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n... {self.dropped} more characters not kept (output truncated)"
        return text


class Destination:
    """An output a detection may name, as PAT's test command makes them."""

    def __init__(self, name):
        self.destination_id = str(uuid.uuid5(uuid.NAMESPACE_OID, "detect-destination:" + name))
        self.destination_display_name = name


def _where(exc, path):
    """The line (and column) of `path` an exception points at."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno, exc.offset
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if path and os.path.abspath(frame.filename) == os.path.abspath(path):
            return frame.filename, frame.lineno, None
    if frames:
        return frames[-1].filename, frames[-1].lineno, None
    return None, None, None


def _describe(exc, path):
    file, line, col = _where(exc, path)
    return {
        "message": f"{type(exc).__name__}: {exc}",
        "file": file,
        "line": line,
        "column": col,
        "traceback": "".join(traceback.format_exception(exc))[-4000:],
    }


class _JsonPathMemo:
    """Data models parse their JSONPaths with jsonpath-ng, which builds its
    parser anew for every path (about 30 ms each). The result only depends
    on the text, so it is kept, per jsonpath-ng version, in detect's cache
    folder and shared by the workers of this run and the next ones."""

    def __init__(self, cache_dir):
        import pickle

        import panther_core.data_model as data_model

        self.pickle = pickle
        self.path = None
        self.memo = {}
        try:
            from importlib.metadata import version

            tag = f"jsonpath-ng-{version('jsonpath-ng')}-py{sys.version_info[0]}.{sys.version_info[1]}"
        except Exception:
            tag = None
        if cache_dir and tag:
            self.path = os.path.join(cache_dir, tag + ".pickle")
            try:
                with open(self.path, "rb") as f:
                    loaded = pickle.load(f)
                if isinstance(loaded, dict):
                    self.memo = loaded
            except Exception:
                self.memo = {}
        self.known = len(self.memo)
        original = data_model.parse
        memo = self.memo

        def parse(text):
            found = memo.get(text)
            if found is None:
                found = original(text)
                memo[text] = found
            return found

        data_model.parse = parse

    def save(self):
        if not self.path or len(self.memo) == self.known:
            return
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            tmp = f"{self.path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                self.pickle.dump(self.memo, f)
            os.replace(tmp, self.path)
        except Exception:
            pass


class RuleTimeout(BaseException):
    """A rule ran past the time limit of one event (not an Exception, so
    a rule's own `except Exception` does not swallow it)."""


def _alarm(signum, frame):
    raise RuleTimeout()


class Worker:
    def __init__(self, out):
        self.out = out
        self.data_models = {}
        self.core = None
        self.replay_rules = {}
        self.paths = {}
        self.timeout = 15.0
        self.timed_out = set()
        self.reported = set()

    def send(self, obj):
        line = json.dumps(obj, ensure_ascii=False).encode("utf-8", "replace")
        self.out.write(line + b"\n")
        self.out.flush()

    def hello(self):
        info = {"python": sys.version.split()[0], "executable": sys.executable}
        try:
            from unittest.mock import MagicMock, patch
            from panther_core.enriched_event import PantherEvent
            from panther_core.exceptions import UnknownDestinationError
            from panther_core.filter import Filter
            from panther_core.policy import Policy
            from panther_core.rule import Rule
            from panther_core.testing import (
                FunctionTestResult,
                TestCaseEvaluator,
                TestExpectations,
                TestSpecification,
            )
            from panther_core.data_model import DataModel
        except Exception as exc:  # ImportError, or a broken install
            info["error"] = f"{type(exc).__name__}: {exc}"
            self.send({"hello": info})
            return False

        class Verdict(Filter):
            """An InlineFilter detect has already evaluated."""

            def __init__(self, passed):
                self.passed = passed

            def filter(self, event):
                return self.passed

        self.core = {
            "MagicMock": MagicMock,
            "patch": patch,
            "PantherEvent": PantherEvent,
            "UnknownDestinationError": UnknownDestinationError,
            "Verdict": Verdict,
            "Policy": Policy,
            "Rule": Rule,
            "TestCaseEvaluator": TestCaseEvaluator,
            "FunctionTestResult": FunctionTestResult,
            "TestExpectations": TestExpectations,
            "TestSpecification": TestSpecification,
            "DataModel": DataModel,
        }
        try:
            from importlib.metadata import version

            info["panther_core"] = version("panther-core")
        except Exception:
            info["panther_core"] = "unknown"
        self.send({"hello": info})
        return True

    def setup(self, msg):
        if msg.get("globals_dir") and msg["globals_dir"] not in sys.path:
            sys.path.append(msg["globals_dir"])
        memo = _JsonPathMemo(msg.get("cache_dir"))
        errors = []
        DataModel = self.core["DataModel"]
        for dm in msg.get("data_models", []):
            try:
                params = {
                    "id": dm["id"],
                    "mappings": [
                        {str(k).lower(): v for k, v in m.items()} if isinstance(m, dict) else m
                        for m in dm.get("mappings") or []
                    ],
                    "versionId": "",
                }
                if dm.get("path"):
                    with open(dm["path"], "r", encoding="utf-8") as f:
                        params["body"] = f.read()
                model = DataModel(params)
            except Exception as exc:
                errors.append({"id": dm["id"], **_describe(exc, dm.get("path"))})
                continue
            for log_type in dm.get("log_types", []):
                self.data_models.setdefault(log_type, model)
        memo.save()
        self.send({"ready": True, "errors": errors})

    def detection(self, msg):
        core = self.core
        kind = msg["analysis_type"]
        args = {
            "id": msg["id"],
            "analysisType": kind,
            "versionId": "0000-0000-0000",
            "filters": None,
        }
        if msg.get("body") is not None:
            args["body"] = msg["body"]
        else:
            args["path"] = msg["path"]
        if msg.get("suppress_alert") is not None:
            args["suppressAlert"] = msg["suppress_alert"]
        try:
            detection = (core["Policy"] if kind == "POLICY" else core["Rule"])(args)
            problem = detection.setup_exception
        except Exception as exc:
            problem = exc
        if problem is not None:
            self.send({"setup_error": _describe(problem, msg.get("path"))})
            return
        self.send({"loaded": True})
        names = msg.get("destinations") or []
        destinations = {n: Destination(n) for n in names}
        ignore = [] if names else [core["UnknownDestinationError"]]
        for test in msg["tests"]:
            reply = self.test(detection, kind, test, destinations, ignore)
            reply["test"] = test["index"]
            self.send(reply)
        self.send({"done": True})

    def test(self, detection, kind, test, destinations, ignore):
        core = self.core
        expected_destinations = test.get("expected_destinations")
        by_name = dict(destinations)
        if expected_destinations is not None:
            for name in expected_destinations:
                by_name.setdefault(name, Destination(name))
        buf = Capture()
        try:
            entry = test["data"]
            log_type = entry.get("p_log_type", "") or ""
            mocks = test.get("mocks") or []
            methods = {}
            if mocks:
                methods = {
                    m["objectName"]: core["MagicMock"](return_value=m["returnValue"])
                    for m in mocks
                    if "objectName" in m and "returnValue" in m
                }
            case = entry
            if kind != "POLICY":
                model = None if kind == "SCHEDULED_RULE" else self.data_models.get(log_type)
                case = core["PantherEvent"](entry, model)
            if test.get("filter") is not None:
                detection.filters = [core["Verdict"](test["filter"])]
            else:
                detection.filters = []
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                if methods:
                    with core["patch"].multiple(detection.module, **methods):
                        result = detection.run(case, {}, by_name, batch_mode=False)
                else:
                    result = detection.run(case, {}, by_name, batch_mode=False)
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}", "stdout": buf.getvalue()}
        expected_ids = None
        if expected_destinations is not None:
            expected_ids = (
                [by_name[n].destination_id for n in expected_destinations]
                if expected_destinations
                else ["SKIP"]
            )
        spec = core["TestSpecification"](
            id=test["name"],
            name=test["name"],
            data=entry,
            mocks=test.get("mocks") or {},
            expectations=core["TestExpectations"](detection=test["expected"]),
        )
        outcome = core["TestCaseEvaluator"](spec, result).interpret(ignore_exception_types=ignore)
        fns = outcome.functions
        if detection.suppress_alert:
            for name in (
                "dedupFunction",
                "destinationsFunction",
                "runbookFunction",
                "titleFunction",
                "severityFunction",
                "descriptionFunction",
                "referenceFunction",
                "uniqueFunction",
            ):
                setattr(fns, name, None)
        passed = outcome.passed
        if expected_ids is not None and sorted(expected_ids) != sorted(result.destinations_output or []):
            passed = False
            if fns.destinationsFunction is None:
                fns.destinationsFunction = core["FunctionTestResult"](output="null", error=None, matched=False)
            else:
                fns.destinationsFunction.matched = False
        functions = []
        for field in (
            "detectionFunction",
            "titleFunction",
            "dedupFunction",
            "alertContextFunction",
            "descriptionFunction",
            "referenceFunction",
            "severityFunction",
            "runbookFunction",
            "destinationsFunction",
        ):
            fr = getattr(fns, field, None)
            if not fr:
                continue
            name = field[: -len("Function")]
            if name == "detection":
                name = detection.matcher_function_name
            error = fr.error.message if fr.error else None
            functions.append(
                {
                    "name": name,
                    "output": fr.output,
                    "error": error,
                    "passed": not error and (fr.matched is None or bool(fr.matched)),
                }
            )
        # Exceptions that failed the test but have no line of their own
        # (`unique`, or a function whose line CreateAlert: false drops).
        hidden = []
        if not passed:
            shown = {f["name"] for f in functions if f["error"]}
            for attr, label in (
                ("title", "title"),
                ("dedup", "dedup"),
                ("alert_context", "alertContext"),
                ("description", "description"),
                ("reference", "reference"),
                ("severity", "severity"),
                ("runbook", "runbook"),
                ("destinations", "destinations"),
                ("unique", "unique"),
                ("filter", "InlineFilters"),
                ("input", "the event"),
            ):
                exc = getattr(result, attr + "_exception", None)
                if exc is not None and label not in shown:
                    hidden.append(f"`{label}` raised {type(exc).__name__}: {exc}")
        return {
            "hidden": hidden,
            "passed": bool(passed),
            "output": result.detection_output if isinstance(result.detection_output, bool) else None,
            "functions": functions,
            "stdout": buf.getvalue(),
        }


    def load(self, msg):
        """Loads the streaming rules of a replay, each under its own ID."""
        core = self.core
        self.timeout = float(msg.get("timeout") or 15.0)
        errors = []
        for r in msg.get("rules", []):
            args = {
                "id": r["id"],
                "analysisType": "RULE",
                "versionId": "0000-0000-0000",
                "filters": None,
                "path": r["path"],
            }
            if r.get("severity"):
                args["severity"] = r["severity"]
            try:
                rule = core["Rule"](args)
                problem = rule.setup_exception
            except Exception as exc:
                problem = exc
            if problem is not None:
                errors.append({"index": r["index"], **_describe(problem, r["path"])})
                continue
            # detect has evaluated the InlineFilters: only events that
            # pass them are sent.
            rule.filters = []
            self.replay_rules[r["index"]] = rule
            self.paths[r["index"]] = r["path"]
        self.send({"loaded_rules": len(self.replay_rules), "errors": errors})

    def events(self, msg):
        """Runs each event's rules as the log pipeline does (batch mode)."""
        PantherEvent = self.core["PantherEvent"]
        results = []
        for n, item in enumerate(msg.get("events", [])):
            matches = []
            errors = []
            try:
                event = PantherEvent(item["event"], self.data_models.get(item.get("log_type") or ""))
            except Exception as exc:
                for idx in item.get("rules", []):
                    errors.append({"r": idx, "error": f"the event: {type(exc).__name__}: {exc}"})
                results.append({"i": n, "m": matches, "e": errors})
                continue
            for idx in item.get("rules", []):
                rule = self.replay_rules.get(idx)
                if rule is None or idx in self.timed_out:
                    continue
                try:
                    signal.setitimer(signal.ITIMER_REAL, self.timeout)
                    try:
                        result = rule.run(event, {}, {}, batch_mode=True)
                    finally:
                        signal.setitimer(signal.ITIMER_REAL, 0)
                except BaseException as exc:
                    result = None
                    problem = exc
                else:
                    problem = result.detection_exception
                if isinstance(problem, RuleTimeout):
                    self.timed_out.add(idx)
                    errors.append(
                        {
                            "r": idx,
                            "error": f"timed out after {self.timeout:g} s; not run on later events",
                        }
                    )
                    continue
                if problem is not None and idx in self.reported:
                    # detect keeps the first error of a rule and counts
                    # the others.
                    errors.append({"r": idx, "error": ""})
                    continue
                if problem is not None:
                    self.reported.add(idx)
                    file, line, _ = _where(problem, self.paths.get(idx))
                    errors.append(
                        {
                            "r": idx,
                            "error": f"{type(problem).__name__}: {problem}",
                            "file": file,
                            "line": line,
                        }
                    )
                    continue
                if not result.trigger_alert:
                    continue
                matches.append(
                    {
                        "r": idx,
                        "title": result.title_output,
                        "dedup": result.dedup_output,
                        "severity": result.severity_output,
                        "context": result.alert_context_output,
                        "unique": result.unique_output,
                        "destinations": result.destinations_output,
                    }
                )
            if matches or errors:
                results.append({"i": n, "m": matches, "e": errors})
        self.send({"results": results})


def main():
    proto_in, proto_out = _streams()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, _alarm)
    _tie_to_parent()
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path.pop(0)
    worker = Worker(proto_out)
    if not worker.hello():
        return
    for line in proto_in:
        try:
            msg = json.loads(line)
        except ValueError as exc:
            worker.send({"fatal": f"bad request: {exc}"})
            return
        op = msg.get("op")
        if op == "setup":
            worker.setup(msg)
        elif op == "detection":
            try:
                worker.detection(msg)
            except Exception as exc:
                worker.send({"fatal": "".join(traceback.format_exception(exc))[-4000:]})
                return
        elif op in ("load", "events"):
            try:
                getattr(worker, op)(msg)
            except Exception as exc:
                worker.send({"fatal": "".join(traceback.format_exception(exc))[-4000:]})
                return
        elif op == "exit":
            return


main()
