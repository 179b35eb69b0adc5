"""The dynbench pytest plugin: options, case generation and report hooks.

Added to a pytest session only when it is a dynbench session (see :mod:`dynbench.activation`,
the ``pytest11`` entry point), so other projects' pytest runs never see these options. Hooks
stay thin and delegate to :class:`dynbench.session.DynBench`.
"""

from __future__ import annotations

import argparse
import json
import re

import pytest

from dynbench import exitcodes, gate
from dynbench.data import Case
from dynbench.fixtures.model import dynbench_adapter, dynbench_run, dynbench_runner  # noqa: F401
from dynbench.gpus import parse_gpu_list, pin_worker, visible_gpus
from dynbench.loadcheck import LoadFailed, LoadFailure
from dynbench.progress import LiveLine, PlainLines, Progress, live_terminal, outcome_word
from dynbench.runfolder import ReportDirError
from dynbench.session import RECORD_KEY, DynBench
from dynbench.shards import describe as describe_shard
from dynbench.tasks import DIMENSIONS, TASKS

STATE = pytest.StashKey[DynBench]()
GATE = pytest.StashKey["gate.GateSetup | None"]()
# fixture -> case kinds it runs; file-level problems of unknown kind run (and fail) as QA cases
CASE_FIXTURES = {"qa_case": ("qa", "data"), "mask_case": ("mask",)}


def _number(kind, low: float, what: str):
    """An argparse type: a number of ``kind`` that is at least ``low``."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value < low or value != value:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    parse.__name__ = what
    return parse


GPU_ID = re.compile(r"^(\d+|GPU-[0-9a-fA-F-]+|MIG-[\w/-]+)$")  # what CUDA_VISIBLE_DEVICES takes


def _gpu_list(text: str) -> str:
    try:
        ids = parse_gpu_list(text) or []
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    bad = [g for g in ids if not GPU_ID.match(g)]
    if bad:
        raise argparse.ArgumentTypeError(f"{', '.join(map(repr, bad))} is not a GPU id (use "
                                         "indices like 0,1 or GPU-/MIG- UUIDs)")
    return text


POSITIVE = _number(int, 1, "a positive integer")
NON_NEGATIVE = _number(float, 0, "a number >= 0")
POSITIVE_NUMBER = _number(float, 1e-12, "a number > 0")


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("dynbench", "Dyn-Bench video VLM benchmark")

    def add(name: str, **kw) -> None:
        g.addoption(f"--{name}", dest="dynbench_" + name.replace("-", "_"), **kw)

    add("data-dir", metavar="DIR", help="dataset root (frames/ masks/ multi_json/); "
        "default $DYNBENCH_DATA, else the bundled sample data")
    add("model", metavar="ID_OR_PATH", help="hub id, local folder, hub-cache snapshot path, "
        "'baseline' (default) or tiny:<family>")
    add("model-config", metavar="FILE", help="model config yaml (name, alias, torch_dtype, ...)")
    add("alias", metavar="ORG/NAME", help="evaluate a renamed local folder as this hub id")
    add("adapter", metavar="FAMILY", help="force a model family (see `dynbench families`)")
    add("device", metavar="DEVICE", help="cuda, cuda:1, cpu (default: cuda when available)")
    add("dtype", metavar="DTYPE", help="auto, bf16, fp16, fp32 (default auto)")
    add("attn", metavar="IMPL", help="auto, flash_attention_2, sdpa, eager (default auto)")
    add("cache-dir", metavar="DIR", help="Hugging Face cache dir for model files")
    add("revision", metavar="REV", help="model revision (branch, tag or commit)")
    add("task", metavar="LIST", help="exact tasks, comma separated: cameraqa,cameramask,qa,"
        "objmask,sceneqa,scenemask (unlike -k qa, which matches every QA task)")
    add("limit", type=POSITIVE, metavar="N", help="first N cases of each task (deterministic)")
    add("max-frames", type=POSITIVE, metavar="K", help="show at most K uniformly sampled frames")
    add("predictions", metavar="DIR", help="score saved predictions (answers.jsonl, "
        "masks/<case id>/frame_XXXX.png) instead of running a model")
    add("follow-symlinks", action="store_true", help="read symlinks that leave the dataset or "
        "predictions folder (refused by default)")
    add("report-dir", metavar="DIR", help="where report files go (default "
        "reports/<model>/<run-id>/)")
    add("save-masks", action="store_true", help="save predicted masks as PNG in the report dir")
    add("protocol", default="fair", choices=("fair", "reference"), help="fair (default) or "
        "reference: the reference code's answer matching and J&F measure")
    add("jf-mode", choices=("davis", "reference"), help="boundary measure (default: davis; "
        "reference under --protocol reference)")
    add("bound-th", type=POSITIVE_NUMBER, default=0.008, metavar="X", help="boundary tolerance: <1 "
        "fraction of the diagonal, >=1 pixels (default 0.008)")
    add("qa-mode", default="generate", choices=("generate", "logits"), help="generate "
        "(default): free-text answers; logits: rank the option letters by next-token logits "
        "(a different protocol, named in the report)")
    add("seed", type=int, default=0, metavar="N", help="seed of the chance baseline (default 0)")
    add("shard", metavar="I/N|auto[/N]", help="run part I of N (0-based) of the selected "
        "cases, whole videos balanced by cost; auto: from SLURM_ARRAY_TASK_ID/_COUNT or "
        "JOB_COMPLETION_INDEX (auto/N); join the parts with `dynbench merge`")
    add("resume", action="store_true", help="reuse finished case results of an earlier run "
        "with the same model, settings and data (recomputes anything that changed)")
    add("resume-dir", metavar="DIR", help="where --resume keeps results (default "
        "reports/.resume)")
    add("gpus", type=_gpu_list, metavar="LIST", help="GPU ids to spread -n workers over (default: "
        "CUDA_VISIBLE_DEVICES, else all)")
    add("gpus-per-worker", type=POSITIVE, default=1, metavar="K", help="GPUs per xdist worker, for "
        "models that need several (default 1)")
    add("progress-every", type=NON_NEGATIVE, default=30.0, metavar="S", help="progress: a "
        "live status line on a terminal, else a plain line every S seconds (0: off; "
        "default 30)")
    add("baseline", metavar="PATH", help="regression gate: compare with this earlier run "
        "(report dir or report.json); exit 10 on a significant drop")
    add("max-drop", type=float, metavar="POINTS", help="gate: a drop larger than this many "
        f"points (and significant) is a regression (default {gate.DEFAULT_MAX_DROP:g})")
    add("alpha", type=float, metavar="A", help="gate: significance level of the paired "
        f"tests (default {gate.DEFAULT_ALPHA:g})")
    add("fail-under", action="append", metavar="NAME=SCORE,...", help="gate: absolute "
        "floors for tasks, dimensions or overall, e.g. cameraqa=40,inter_object=35,overall=30")
    add("baseline-force", action="store_true", help="gate: compare even when the data or "
        "the scoring settings differ from the baseline's")
    add("allow-missing", action="store_true", help="gate: a --fail-under floor on a score "
        "the run did not measure passes (default: it fails)")


def _state(config: pytest.Config) -> DynBench:
    if STATE not in config.stash:
        config.stash[STATE] = DynBench(config)
    return config.stash[STATE]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dynbench: a Dyn-Bench benchmark case")
    for task in TASKS.values():
        config.addinivalue_line("markers", f"{task.name}: Dyn-Bench task {task.name}")
    for dim in DIMENSIONS:
        config.addinivalue_line("markers", f"{dim}: Dyn-Bench dimension {dim}")
    state = _state(config)
    if config.option.help or config.option.version:
        return
    if state.error:
        raise pytest.UsageError(f"dynbench: {state.error}")
    _group_scenes_on_workers(config)
    if not hasattr(config, "workerinput"):
        config.stash[GATE] = _gate_setup(config, state)
        if not config.option.collectonly:
            try:
                state.claim_report_dir()
            except ReportDirError as exc:
                raise pytest.UsageError(f"dynbench: {exc}") from None
    if not hasattr(config, "workerinput") and not config.getoption("json_report", False):
        config.option.json_report = True  # we save it ourselves, into the report dir
        config.option.json_report_file = None
        # per-item collector entries cost ~100 us each and say nothing the records don't
        config.option.json_report_omit = [*config.option.json_report_omit, "collectors"]


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = config.stash.get(STATE, None)
    if state is None:
        return None
    if state.error:
        return [f"dynbench: {state.error}"]
    model = f"predictions {state.predictions}" if state.predictions else state.spec.name
    lines = [f"dynbench: data {state.root} | model {model} | report {state.report_dir}"]
    if state.shard is not None:
        lines.append(f"dynbench: shard {state.shard.label} ({state.shard.source})")
    return lines


def _gate_setup(config: pytest.Config, state: DynBench) -> gate.GateSetup | None:
    """Gate options, checked before any case runs (a usage error, exit 4)."""
    def opt(name: str):
        return config.getoption("dynbench_" + name)

    try:
        setup = gate.make_setup(baseline=opt("baseline"), fail_under=opt("fail_under"),
                                max_drop=opt("max_drop"), alpha=opt("alpha"),
                                force=opt("baseline_force"), cwd=config.invocation_params.dir,
                                allow_missing=opt("allow_missing"))
        gate.preflight(setup, state.settings_dict())
    except gate.GateUsageError as exc:
        raise pytest.UsageError(f"dynbench: {exc}") from None
    return setup


def _group_scenes_on_workers(config: pytest.Config) -> None:
    """With ``-n``, send all cases of a video to one worker so its frames decode once."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        if workerinput.get("dynbench_loadgroup"):
            config.option.loadgroup = True  # the worker then tags node ids with the group
        if workerinput.get("dynbench_gpus"):
            pin_worker(workerinput["workerid"], workerinput["dynbench_gpus"],
                       config.getoption("dynbench_gpus_per_worker"))
        return
    args = [str(a) for a in config.invocation_params.args]
    explicit = any(a == "--dist" or a.startswith("--dist=") or a == "-d" for a in args)
    if getattr(config.option, "dist", "no") == "load" and not explicit:
        config.option.dist = "loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") == "loadgroup":
        from dynbench.scheduling import SceneScheduling

        return SceneScheduling(config, log)
    return None


def pytest_configure_node(node) -> None:
    """Every xdist worker writes into the controller's report dir."""
    node.workerinput["dynbench_report_dir"] = str(_state(node.config).report_dir)
    node.workerinput["dynbench_loadgroup"] = node.config.option.dist == "loadgroup"
    try:
        explicit = parse_gpu_list(node.config.getoption("dynbench_gpus"))
    except ValueError as exc:
        raise pytest.UsageError(f"dynbench: {exc}") from None
    node.workerinput["dynbench_gpus"] = visible_gpus(explicit)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture, kinds in CASE_FIXTURES.items():
        if fixture in metafunc.fixturenames:
            cases = [c for kind in kinds for c in _state(metafunc.config).selected(kind)]
            metafunc.parametrize(fixture, [pytest.param(c, id=c.id, marks=_marks(c))
                                           for c in cases])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the placeholder item pytest makes for an empty case list (e.g. no data errors),
    and run the cases video by video (QA and mask cases of a scene together), so each
    video's frames are decoded once."""
    empty = [i for i in items if _is_empty_case_item(i)]
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = [i for i in items if not _is_empty_case_item(i)]
    slots = [n for n, item in enumerate(items) if _case_of(item) is not None]
    first_seen: dict[str, int] = {}
    for n in slots:
        first_seen.setdefault(_case_of(items[n]).scene_key, len(first_seen))
    ordered = sorted((items[n] for n in slots), key=lambda i: first_seen[_case_of(i).scene_key])
    for n, item in zip(slots, ordered, strict=True):
        items[n] = item


def _is_empty_case_item(item: pytest.Item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(name in params and not isinstance(params[name], Case) for name in CASE_FIXTURES)


_MARKS: dict[str, pytest.MarkDecorator] = {}


def _mark(name: str, *args) -> pytest.MarkDecorator:
    key = f"{name}:{args}"
    if key not in _MARKS:
        _MARKS[key] = getattr(pytest.mark, name)(*args) if args else getattr(pytest.mark, name)
    return _MARKS[key]


def _marks(case) -> list[pytest.MarkDecorator]:
    marks = [_mark("dynbench"), _mark("xdist_group", case.scene_key)]
    if case.task in TASKS:
        marks += [_mark(case.task), _mark(case.dimension)]
    return marks


def _case_of(item: pytest.Item | None) -> Case | None:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return next((v for v in params.values() if isinstance(v, Case)), None)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """In a serial run the item order is the run order: map each case to the first case of
    the next video, so that video can be prepared while this one's questions run."""
    state = _state(session.config)
    next_video: Case | None = None
    following: Case | None = None
    for item in reversed(session.items):
        case = _case_of(item)
        if case is None:
            continue
        if following is not None and following.scene_key != case.scene_key:
            next_video = following
        state.lookahead[item.nodeid] = next_video
        following = case


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Tell the runner which video comes next, so it can prefetch it. Under xdist only the
    immediate next item of this worker is known."""
    state = _state(item.config)
    if state.is_controller and item.nodeid in state.lookahead:
        state.upcoming = state.lookahead[item.nodeid]
    else:
        state.upcoming = _case_of(nextitem)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """Load the model before the first case (in each process that runs cases). One that
    cannot load stops the run here, once, instead of failing every case."""
    cases = [c for item in session.items if (c := _case_of(item)) is not None]
    if session.config.option.collectonly or not cases:
        return None
    state = _state(session.config)
    try:
        state.load_model(needs_qa=any(c.kind != "mask" for c in cases))
    except LoadFailed as exc:
        state.load_failure = exc.failure
        session.shouldstop = exc.failure.headline()  # under xdist this stops the controller
        return True
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    """``-v`` says what a case scored (CORRECT, WRONG B vs D, UNPARSED, J&F 41.2)."""
    if report.when != "call" or not (report.passed or report.skipped):
        return None
    record = next((v for k, v in getattr(report, "user_properties", ()) if k == RECORD_KEY),
                  None)
    if record is None:
        return None
    word = outcome_word(record)
    return ("passed", ".", word) if report.passed else ("skipped", "s", word)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    state = _state(session.config)
    if state.is_controller:
        session.config.pluginmanager.register(Controller(state), "dynbench-controller")


class Controller:
    """Controller-side hooks: gather records, aggregate once, write and print the report."""

    def __init__(self, state: DynBench) -> None:
        self.state = state
        self.session: pytest.Session | None = None
        self.summary: dict | None = None
        self.gate_setup = state.config.stash.get(GATE, None)
        self.html_note: str | None = None
        self.write_error: str | None = None
        self.progress = Progress()
        every = state.config.getoption("dynbench_progress_every")
        reporter = state.config.pluginmanager.get_plugin("terminalreporter")
        live = every > 0 and reporter is not None and live_terminal(state.config)
        self.live = LiveLine(reporter) if live else None
        self.plain = PlainLines(reporter, every) if every > 0 and reporter and not live \
            else None

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.state.expect([item.nodeid for item in session.items])
        self.progress.total = len(self.state.expected)

    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.state.expect(ids)
        self.progress.total = len(self.state.expected)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_logstart(self):
        if self.live:
            self.live.clear()
        yield
        if self.live and self.progress.done:
            self.live.draw(self.progress.line())

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport):
        if self.live:
            self.live.clear()
        yield
        record = self.state.record_from_report(report)
        if record is not None and not (record["id"] in self.state.records
                                       and report.when != "call"):
            self.state.add_record(record)
            self.progress.add(record)
        if self.live and self.progress.done:
            self.live.draw(self.progress.line(), force=record is not None)
        elif self.plain and record is not None:
            self.plain.maybe_write(self.progress.line())

    @pytest.hookimpl(hookwrapper=True)
    def pytest_testnodedown(self, node, error):
        if self.live:
            self.live.clear()
        yield
        output = getattr(node, "workeroutput", {})
        facts = output.get("dynbench_model")
        if facts:
            self.state.model_facts.update(json.loads(facts))
        self.state.processes.update(json.loads(output.get("dynbench_processes", "{}")))
        self.state.notices.extend(json.loads(output.get("dynbench_notices", "[]")))
        failure = output.get("dynbench_load_failure")
        if failure and self.state.load_failure is None:
            self.state.load_failure = LoadFailure(**json.loads(failure))

    def pytest_keyboard_interrupt(self) -> None:
        if self.live:
            self.live.clear()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session):
        self.session = session
        if self.live:
            self.live.clear()
            self.live = None
        if session.config.option.collectonly:
            yield
            return
        if self.state.load_failure is not None:
            self.summary = self.state.failure_summary()
            session.exitstatus = exitcodes.LOAD_FAILED
            self._write(lambda: self.state.finish(self.summary))
            yield
            return
        for record in self.state.unfinished():
            self.state.add_record(record)
        if self.state.shard is not None:
            self._account_for_empty_shard(session)
        if self.state.records or self.state.shard is not None:
            if any(r["status"] == "error" for r in self.state.records.values()) and \
                    session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            self.summary = self.state.summary()
            if self.gate_setup is not None:
                verdict = gate.evaluate(self.gate_setup, self.summary,
                                        list(self.state.records.values()))
                self.summary["gate"] = verdict
                session.exitstatus = gate.exit_status(session.exitstatus, verdict)
            if self._write(lambda: self.state.finish(self.summary)):
                self.html_note = _write_html(self.state.report_dir, self.summary)
        yield

    def _write(self, write) -> bool:
        """Run a report write; a full or read-only folder ends the run with its own exit
        code and says where the case records are."""
        if self.write_error is not None:
            return False
        try:
            write()
            return True
        except OSError as exc:
            rescued = self.state.rescue()
            kept = (f"the {len(self.state.records)} case results are in {rescued}"
                    if rescued else "the case results could not be saved anywhere")
            self.write_error = (f"the report could not be written to {self.state.report_dir} "
                                f"({exc.strerror or exc}); {kept}")
            if self.session is not None:
                self.session.exitstatus = exitcodes.REPORT_NOT_WRITTEN
            return False

    def _account_for_empty_shard(self, session: pytest.Session) -> None:
        """More shards than videos leaves a shard empty: still a report (merge needs it)."""
        if not self.state.plan().cases[self.state.shard.index] and \
                session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            session.exitstatus = pytest.ExitCode.OK

    @pytest.hookimpl(optionalhook=True)
    def pytest_json_modifyreport(self, json_report: dict) -> None:
        if self.summary is not None:
            json_report["dynbench"] = self.summary
            run = self.summary.get("run", {})
            json_report["environment"] = {k: run.get(k) for k in (
                "dynbench", "git", "python", "platform", "host", "packages")}
            self._write(lambda: self.state.write_report_json(json_report))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        tr = terminalreporter
        if self.state.load_failure is not None:
            self._load_failure_summary(tr)
        elif self.summary is not None:
            self._score_summary(tr)
        if self.write_error:
            tr.write_line(f"ERROR: {self.write_error}", red=True, bold=True)

    def _load_failure_summary(self, tr) -> None:
        tr.write_sep("=", "Dyn-Bench: the model could not be loaded", red=True)
        for line in self.state.load_failure.lines():
            tr.write_line(line)
        done = len(self.state.records)
        ran = (f"{done} case(s) finished on other workers, kept in samples.partial.jsonl"
               if done else "no case ran")
        tr.write_line(f"{ran} ({len(self.state.expected)} selected); exit code "
                      f"{exitcodes.LOAD_FAILED}; report: {self.state.report_dir} "
                      "(status load_failed)")

    def _score_summary(self, tr) -> None:
        model = self.summary["model"]
        settings = self.summary["settings"]
        mode = "" if settings.get("qa_mode", "generate") == "generate" else " qa_mode=logits"
        tr.write_sep("=", f"Dyn-Bench: {model.get('label') or model['name']} "
                          f"[{model.get('kind')}] protocol={settings['protocol']}{mode}")
        for line in _table(self.summary):
            tr.write_line(line)
        for err in self.summary["errors"][:20]:
            tr.write_line(f"ERROR {err['id']}: {err['message']}")
        if len(self.summary["errors"]) > 20:
            tr.write_line(f"... and {len(self.summary['errors']) - 20} more errors (report)")
        for message in self.summary.get("warnings", []):
            tr.write_line(f"WARNING: {message}", yellow=True)
        if self.summary.get("gate"):
            tr.write_sep("-", "Dyn-Bench regression gate")
            for line in gate.render_verdict(self.summary["gate"]):
                tr.write_line(line)
        if self.summary.get("shard"):
            tr.write_line(describe_shard(self.state.shard, self.state.plan()))
        run = self.summary.get("run", {})
        workers = f", {run['xdist_workers']} workers" if run.get("xdist_workers") else ""
        tr.write_line(f"run {run.get('id')}: {self.summary['counts']['cases']} cases in "
                      f"{run.get('wall_s', 0):.1f} s ({run.get('cases_per_s', 0):.2f} "
                      f"cases/s{workers})")
        if self.write_error is None:
            tr.write_line(f"report: {self.state.report_dir}")
        if self.html_note:
            tr.write_line(self.html_note)


def _write_html(folder, summary: dict) -> str:
    """report.html; a rendering failure is a warning, never a lost run (the JSON stays)."""
    try:
        from dynbench.html import write_html

        return f"html: {write_html(folder, summary)}"
    except Exception as exc:  # noqa: BLE001 - the run's results are already on disk
        return f"WARNING: report.html not written ({type(exc).__name__}: {exc})"


def _table(summary: dict) -> list[str]:
    from dynbench.report import render_table

    return render_table(summary)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Workers send what the controller reports: model facts, devices, warnings, and a
    load failure."""
    config = session.config
    if hasattr(config, "workeroutput") and STATE in config.stash:
        state = config.stash[STATE]
        out = config.workeroutput
        out["dynbench_model"] = json.dumps(state.model_facts, default=str)
        out["dynbench_processes"] = json.dumps(state.processes, default=str)
        out["dynbench_notices"] = json.dumps(state.notices.messages)
        if state.load_failure is not None:
            out["dynbench_load_failure"] = json.dumps(state.load_failure.as_dict())


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None:
        state.notices.detach()
