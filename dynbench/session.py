"""The state of one benchmark session, in one process (controller or xdist worker).

``plugin.py`` keeps only thin hooks; they delegate here. The controller collects records
from every worker (they arrive through ``user_properties`` on replayed test reports),
appends each to ``samples.partial.jsonl`` as it lands, and aggregates once at the end.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from dynbench import runfacts, runfolder
from dynbench.adapters.base import Adapter
from dynbench.data import DATA_ENV, Case, DataError, Dataset, read_dataset, resolve_root
from dynbench.loadcheck import LoadFailed, LoadFailure, explain, preflight, preflight_spec
from dynbench.modelspec import ModelSpec, ModelSpecError, build_spec
from dynbench.notices import Notices, warn
from dynbench.records import video_of
from dynbench.resume import ResumeCache, model_key, scoring_key
from dynbench.runner import RunSettings, failed_score
from dynbench.scoring import ScoringSettings
from dynbench.shards import (
    Plan,
    Shard,
    data_fingerprint,
    make_plan,
    parse_shard,
    selection_fingerprint,
    shard_document,
)
from dynbench.tasks import TASKS, parse_task_list

RECORD_KEY = "dynbench"
CASE_ID = re.compile(r"::test_(?:qa|mask)\[(?P<id>.*)\](?:@.*)?$")
CASE_TEST = re.compile(r"::test_(?:qa|mask)\[")


def _opt(config: pytest.Config, name: str):
    return config.getoption(f"dynbench_{name}")


def spec_from_options(config: pytest.Config) -> ModelSpec:
    return build_spec(
        _opt(config, "model"), _opt(config, "model_config"), alias=_opt(config, "alias"),
        adapter=_opt(config, "adapter"), device=_opt(config, "device"),
        torch_dtype=_opt(config, "dtype"), attn_implementation=_opt(config, "attn"),
        max_frames=_opt(config, "max_frames"), seed=_opt(config, "seed"),
        cache_dir=_opt(config, "cache_dir"), revision=_opt(config, "revision"),
        protocol=_opt(config, "protocol"))


def data_root(chosen: str | None) -> Path:
    """The dataset root; a folder that was named but does not exist says so, and by whom."""
    source, text = ("--data-dir", chosen) if chosen else (f"${DATA_ENV}", os.environ.get(DATA_ENV))
    if text and not Path(text).expanduser().exists():
        raise DataError(f"data dir {text} ({source}) does not exist")
    return resolve_root(chosen)


def scoring_from_options(config: pytest.Config) -> ScoringSettings:
    protocol = _opt(config, "protocol")
    jf_mode = _opt(config, "jf_mode") or ("reference" if protocol == "reference" else "davis")
    return ScoringSettings(protocol=protocol, jf_mode=jf_mode, bound_th=_opt(config, "bound_th"),
                           qa_mode=_opt(config, "qa_mode"))


class DynBench:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.workerinput: dict | None = getattr(config, "workerinput", None)
        self.error: str | None = None
        self.predictions = _opt(config, "predictions")
        self.family = "predictions"
        self.root: Path | None = None  # set below; None only when the options are invalid
        self.tasks: tuple[str, ...] = ()
        from dynbench import safefs

        safefs.set_follow_symlinks(bool(_opt(config, "follow_symlinks")))
        self.shard: Shard | None = None
        try:
            self.shard = parse_shard(_opt(config, "shard"), os.environ)
            self.root = data_root(_opt(config, "data_dir"))
            self.spec = spec_from_options(config)
            self.tasks = parse_task_list(_opt(config, "task"))
            if _opt(config, "protocol") == "reference" and self.spec.max_frames:
                raise ValueError("--protocol reference reproduces the reference code, which "
                                 "shows every frame; drop --max-frames (or max_frames in the "
                                 "model config), or use --jf-mode reference alone")
            if _opt(config, "protocol") == "reference":
                from dynbench.reference.summary import check_options

                check_options(jf_mode=_opt(config, "jf_mode"), qa_mode=_opt(config, "qa_mode"))
            if self.predictions is None:
                from dynbench.adapters.registry import resolve_family

                self.family = resolve_family(self.spec).name
        except (DataError, ModelSpecError, ValueError) as exc:
            self.error = str(exc)
            self.spec = ModelSpec(name=_opt(config, "model") or "baseline")
        self.scoring = scoring_from_options(config)
        self.limit: int | None = _opt(config, "limit")
        self.started = time.time()
        self.report_dir = self._report_dir()
        self.named_report_dir = bool(_opt(config, "report_dir")) or not self.is_controller
        self.records: dict[str, dict] = {}
        self.model_facts: dict[str, Any] = {}
        self.processes: dict[str, dict] = {}  # "main" or xdist worker id -> devices it used
        self.notices = Notices().attach()
        self.adapter: Adapter | None = None
        self.load_failure: LoadFailure | None = None
        self.environment: dict[str, Any] = {}
        self.samples_written = False
        self._dataset: Dataset | None = None
        self._selection: list[Case] | None = None
        self._plan: Plan | None = None
        self._shard_doc: dict[str, Any] | None = None
        self._partial = runfolder.PartialSamples(self.report_dir)
        self.expected: set[str] = set()
        self._case_ids: dict[str, str] | None = None  # node-id form of a case id -> case id
        self.upcoming: Case | None = None  # the next video's case, for prefetching
        self.lookahead: dict[str, Case | None] = {}  # node id -> first case of the next video

    def require_valid(self) -> None:
        """A safety net: pytest_configure already refuses invalid options."""
        if self.error:
            pytest.exit(f"dynbench: {self.error}", returncode=pytest.ExitCode.USAGE_ERROR)

    @property
    def is_controller(self) -> bool:
        return self.workerinput is None

    def _report_dir(self) -> Path:
        if self.workerinput and "dynbench_report_dir" in self.workerinput:
            return Path(self.workerinput["dynbench_report_dir"])
        chosen = _opt(self.config, "report_dir")
        if chosen:
            return Path(chosen).expanduser().resolve()
        run_id = runfolder.run_id(self.started)
        if self.shard is not None:  # array tasks start together: one folder per shard
            run_id += f"-shard{self.shard.index}of{self.shard.count}"
        return self.config.rootpath / "reports" / self.model_slug / run_id

    def claim_report_dir(self) -> None:
        """Create the report folder before any case runs (controller): a fresh run id for a
        default folder, a writable folder for ``--report-dir``; ReportDirError otherwise."""
        if self.named_report_dir:
            runfolder.ensure_writable(self.report_dir)
        else:
            self.report_dir = runfolder.claim_new(self.report_dir.parent, self.report_dir.name)
        self._partial = runfolder.PartialSamples(self.report_dir)
        self.environment = runfacts.environment()

    @property
    def model_slug(self) -> str:
        return "predictions--" + Path(self.predictions).resolve().name if self.predictions \
            else self.spec.slug

    # --- cases -----------------------------------------------------------------------
    @property
    def dataset(self) -> Dataset:
        if self._dataset is None and self.scoring.protocol == "reference":
            from dynbench.reference.listing import read_dataset as read_official

            self._dataset = read_official(self.root)
        if self._dataset is None:
            self._dataset = read_dataset(self.root)
        return self._dataset

    def selection(self) -> list[Case]:
        """Every selected case (all kinds) after ``--task`` and the per-task ``--limit``,
        in dataset order, before ``--shard``."""
        self.require_valid()
        if self._selection is None:
            per_task: dict[str, int] = {}
            self._selection = []
            for case in self.dataset.cases:
                if case.kind != "data" and case.task not in self.tasks:
                    continue
                per_task[case.task] = per_task.get(case.task, 0) + 1
                if self.limit is None or per_task[case.task] <= self.limit:
                    self._selection.append(case)
        return self._selection

    def plan(self) -> Plan | None:
        """The ``--shard`` plan over the whole selection (the same on every machine)."""
        if self.shard is not None and self._plan is None:
            self._plan = make_plan(self.selection(), self.root, self.spec.max_frames,
                                   self.shard.count)
        return self._plan

    def selected(self, kind: str) -> list[Case]:
        """Cases of one kind: the selection, narrowed to this process's ``--shard``."""
        plan = self.plan()
        mine = set(plan.cases[self.shard.index]) if plan is not None else None
        return [c for c in self.selection() if c.kind == kind and (mine is None or c.id in mine)]

    def shard_document(self) -> dict[str, Any]:
        """``shard.json`` of this shard (see ``dynbench.shards``); computed once."""
        if self._shard_doc is None:
            from dynbench.resume import IDENTITY_FIELDS

            model = {f: getattr(self.spec, f) for f in IDENTITY_FIELDS}
            model.update(family=self.family, predictions=self.predictions)
            selection = self.selection()
            self._shard_doc = shard_document(
                self.shard, self.plan(), model=model, total_cases=len(selection),
                selection=selection_fingerprint(selection, self.tasks, self.limit),
                data=data_fingerprint(selection, self.root))
        return self._shard_doc

    # --- model -----------------------------------------------------------------------
    @property
    def model_label(self) -> str:
        if self.predictions is not None:
            return f"predictions folder {self.predictions}"
        return f"model {self.spec.name} (family {self.family})"

    def load_model(self, needs_qa: bool = True) -> Adapter:
        """The adapter, created, checked and loaded once per process; any failure is a
        :class:`LoadFailed` naming the model, the cause and the fix."""
        if self.adapter is not None:
            return self.adapter
        try:
            if self.predictions is None and self.family != "baseline":
                preflight_spec(self.spec)
            adapter = self.create_adapter()
            preflight(adapter, qa_mode=self.scoring.qa_mode, needs_qa=needs_qa)
            start = time.perf_counter()
            adapter.load()
            facts = {"load_s": round(time.perf_counter() - start, 3), **adapter.describe()}
        except Exception as exc:  # noqa: BLE001 - every load failure ends the run the same way
            raise LoadFailed(explain(exc, self.model_label, self.spec.hub_id)) from exc
        if self.predictions is None:
            facts["revision"] = runfacts.model_revision(getattr(adapter, "spec", self.spec))
        self.model_facts.update(facts)
        self.processes[self.process_name] = {
            **runfacts.process_devices(), "device": facts.get("device"), "gpu": facts.get("gpu")}
        self.adapter = adapter
        return adapter

    @property
    def process_name(self) -> str:
        return (self.workerinput or {}).get("workerid", "main")

    def create_adapter(self) -> Adapter:
        if self.predictions is not None and self.scoring.protocol == "reference":
            from dynbench.reference.runner import ReferencePredictions

            return ReferencePredictions(self.spec, Path(self.predictions))
        if self.predictions is not None:
            from dynbench.adapters.predictions import SavedPredictions

            return SavedPredictions(self.spec, Path(self.predictions))
        from dynbench.adapters.registry import create_adapter

        return create_adapter(self.spec)

    def run_settings(self) -> RunSettings:
        return RunSettings(root=self.root, max_frames=self.spec.max_frames, scoring=self.scoring,
                           save_masks=self.report_dir if _opt(self.config, "save_masks")
                           else None, thumbs=self.report_dir)

    def resume_cache(self) -> ResumeCache | None:
        """The ``--resume`` cache of this model and these scoring settings, if asked for."""
        if not _opt(self.config, "resume"):
            return None
        root = Path(_opt(self.config, "resume_dir") or self.config.rootpath / "reports" /
                    ".resume")
        # shards on many nodes may share one resume dir: the host keeps their files apart
        writer = f"{socket.gethostname()}-{self.process_name}-{os.getpid()}"
        return ResumeCache(root, model_key(self.spec, self.family, self.predictions),
                           scoring_key(self.scoring.as_dict()), writer)

    def settings_dict(self) -> dict[str, Any]:
        return {**self.scoring.as_dict(), "data_dir": str(self.root),
                "max_frames": self.spec.max_frames, "limit": self.limit,
                "tasks": list(self.tasks)}

    # --- records (controller) --------------------------------------------------------
    def add_record(self, record: dict) -> None:
        self.records[record["id"]] = record
        self._partial.append(record)

    def expect(self, nodeids: list[str]) -> None:
        """Remember which cases this run collected, to account for every one at the end."""
        self.expected = {case_id for n in nodeids if (case_id := self.case_id_of(n))}

    def case_id_of(self, nodeid: str) -> str | None:
        """The case id a node id was made from. pytest escapes ids (``café`` becomes
        ``caf\\xe9``, a newline ``\\n``) and xdist appends ``@<group>``, so ids are looked up
        among the dataset's own cases instead of being parsed back."""
        m = CASE_TEST.search(nodeid)
        if m is None:
            return None
        plain = CASE_ID.search(nodeid)
        if plain and not any(ch in plain["id"] for ch in "\\[]@"):
            return plain["id"]  # nothing escaped, nothing ambiguous: the common case
        if self._case_ids is None:
            from _pytest.compat import ascii_escaped

            cases = self.dataset.cases if self.root is not None else []
            self._case_ids = {form: c.id for c in cases for form in (c.id, ascii_escaped(c.id))}
        rest = nodeid[m.end():]
        for end in (i for i, ch in enumerate(rest) if ch == "]"):
            tail = rest[end + 1:]
            if (tail == "" or tail.startswith("@")) and rest[:end] in self._case_ids:
                return self._case_ids[rest[:end]]
        found = CASE_ID.search(nodeid)
        return found["id"] if found else None

    def record_from_report(self, report: pytest.TestReport) -> dict | None:
        """The record a report carries; for a case that failed without one (setup error,
        crashed xdist worker) an error record made from the report."""
        for name, value in getattr(report, "user_properties", ()):
            if name == RECORD_KEY:
                return value
        case_id = self.case_id_of(report.nodeid)
        if report.failed and case_id:
            crash = getattr(report.longrepr, "reprcrash", None)
            text = (crash.message if crash else str(report.longrepr)).strip().splitlines()
            stage = report.when if report.when in ("setup", "call", "teardown") else "run"
            return error_record(case_id, f"{stage} failed: {text[-1] if text else '?'}")
        return None

    def unfinished(self) -> list[dict]:
        """Error records for collected cases that never reported (interrupted run, dead
        worker): they are visible as errors instead of silently missing."""
        return [error_record(case_id, "not run: the run was interrupted or its worker died")
                for case_id in sorted(self.expected - self.records.keys())]

    def model_dict(self) -> dict[str, Any]:
        model = {"name": self.spec.name, "hub_id": self.spec.hub_id, "family": self.family,
                 **self.model_facts}
        model.setdefault("kind", "predictions" if self.predictions else "model")
        return model

    def run_facts(self, cases: int) -> dict[str, Any]:
        """``dynbench.run``: code, environment, processes and timing of this run."""
        workers = getattr(self.config.option, "numprocesses", None) or 0
        return {"id": self.report_dir.name, **runfacts.timing(self.started, time.time(), cases),
                **self.environment, "xdist_workers": workers,
                "processes": dict(sorted(self.processes.items()))}

    def summary(self) -> dict[str, Any]:
        from dynbench.report import aggregate  # scipy.stats: imported only when reporting

        records = list(self.records.values())
        summary = aggregate(records, model=self.model_dict(), settings=self.settings_dict())
        if self.shard is not None:  # shard.json has the case lists; the summary the rest
            summary["shard"] = {k: v for k, v in self.shard_document().items()
                                if k not in ("cases", "plan")}
        return {"status": "complete", **summary, "warnings": self.notices.messages,
                "run": self.run_facts(len(records))}

    def failure_summary(self) -> dict[str, Any]:
        """The report of a run whose model could not be loaded: no case ran."""
        failure = self.load_failure.as_dict() if self.load_failure else None
        return {"status": "load_failed", "load_error": failure, "model": self.model_dict(),
                "settings": self.settings_dict(), "tasks": {}, "dimensions": {},
                "overall": {"score": None, "entered": []},
                "counts": {"cases": 0, "errors": 0, "not_applicable": 0, "unparsed": 0,
                           "not_run": len(self.expected - self.records.keys()),
                           "finished_elsewhere": len(self.records)},
                "errors": [], "warnings": self.notices.messages, "run": self.run_facts(0)}

    def finish(self, summary: dict) -> None:
        """The final files but report.json; OSError on a full disk or read-only folder (then
        :meth:`rescue`)."""
        self._partial.close()
        if summary.get("status") == "load_failed":  # no case ran: no samples to write
            runfolder.atomic_write(self.report_dir / runfolder.SUMMARY,
                                   json.dumps(summary, indent=2, default=str) + "\n")
            return
        runfolder.write_run_files(self.report_dir, list(self.records.values()), summary)
        if self.shard is not None:
            runfolder.write_shard(self.report_dir, self.shard_document())
        self.samples_written = True

    def write_report_json(self, report: dict) -> Path:
        path = runfolder.write_report(self.report_dir, report)
        finished = report.get("dynbench", {}).get("status") == "complete"
        if finished and not self.named_report_dir and self.shard is None:
            try:
                runfolder.point_latest(self.report_dir)
            except OSError as exc:
                warn(f"could not point {self.report_dir.parent / runfolder.LATEST} at this "
                     f"run ({exc})")
        return path

    def rescue(self) -> Path | None:
        """After the report folder failed: where the case records are now (samples.jsonl or
        samples.partial.jsonl if complete, else a file written under the temp dir), or None."""
        if self.samples_written:
            return self.report_dir / runfolder.SAMPLES
        self._partial.flush()
        if self._partial.complete:
            return self._partial.path
        try:
            fd, name = tempfile.mkstemp(prefix=f"dynbench-{self.report_dir.name}-",
                                        suffix=".samples.jsonl")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, sort_keys=True, default=str) + "\n"
                             for r in self.records.values())
        except OSError:
            return None
        return Path(name)


def error_record(case_id: str, message: str) -> dict[str, Any]:
    task = case_id.split("/", 1)[0]
    kind = TASKS[task].kind if task in TASKS else "data"
    score = failed_score(kind)
    return {"id": case_id, "task": task, "kind": kind, "video": video_of({"id": case_id}),
            "dimension": TASKS[task].dimension if task in TASKS else None,
            "status": "error", "error": message, "notes": [], "file_problem": False, **score}

