"""When dynbench takes part in a pytest session (the ``pytest11`` entry point).

Installing dynbench must not change other projects' pytest runs, whose own options may well
be called ``--model`` or ``--seed``. So the entry point registers nothing by itself: it adds
the benchmark plugin (:mod:`dynbench.plugin`: options, hooks, fixtures) only to a *dynbench
session*, one where

1. the plugin is asked for by name, ``-p dynbench.plugin`` (what ``dynbench run`` passes), on
   the command line, in ``PYTEST_ADDOPTS`` or in the ini file's ``addopts``; or
2. a test path of the session is the benchmark module ``test_dynbench.py`` or a folder that
   directly holds it. Test paths are the command line's paths, else the ini file's
   ``testpaths``, else the folder pytest was started in; values of dynbench's own options
   (``--data-dir /data``) are not test paths.

``-p no:dynbench`` turns even that off. xdist workers get the same arguments and folder, so
they decide as their controller did.
"""

from __future__ import annotations

import copy
import importlib
import shlex
import warnings
from pathlib import Path

import pytest

PLUGIN = "dynbench.plugin"
BENCH_MODULE = "test_dynbench.py"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    manager = early_config.pluginmanager
    if manager.get_plugin(PLUGIN) is None:
        if not is_dynbench_session(early_config, parser, args):
            return
        if manager.is_blocked(PLUGIN):
            return
        # its pytest_addoption runs now (a historic hook); plain import, no assert rewriting
        manager.register(importlib.import_module(PLUGIN), PLUGIN)
    _reparse(early_config, parser, args)
    from dynbench.rootdir import fix_rootdir

    fix_rootdir(early_config, args)


def is_dynbench_session(config: pytest.Config, parser: pytest.Parser, args: list[str]) -> bool:
    ns, unknown = parser.parse_known_and_unknown_args(args, namespace=copy.copy(config.option))
    paths = [str(p) for p in ns.file_or_dir]
    if any(flag.startswith("--") and "=" not in flag for flag in unknown):
        taken = set(option_values(args))
        paths = [p for p in paths if p not in taken]
    setup = _setup(config, ns, paths)
    if setup is not None and PLUGIN in _ini_plugins(setup[1]):
        return True
    if paths:
        candidates = [Path(config.invocation_params.dir, p.split("::", 1)[0]) for p in paths]
    elif setup is not None and _ini_list(setup[1], "testpaths"):
        candidates = [setup[0] / p for p in _ini_list(setup[1], "testpaths")]
    else:
        candidates = [config.invocation_params.dir]
    return any(holds_benchmark(p) for p in candidates)


def holds_benchmark(path: Path) -> bool:
    return path.name == BENCH_MODULE or (path / BENCH_MODULE).is_file()


def option_values(args: list[str]) -> list[str]:
    """Arguments that are the values of dynbench options written ``--data-dir /data``."""
    valued = _valued_options()
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg in valued]


class _OptionRecorder:
    """Stands in for pytest's parser to learn which dynbench options take a value."""

    def __init__(self) -> None:
        self.valued: set[str] = set()

    def getgroup(self, *args, **kwargs) -> _OptionRecorder:
        return self

    def addoption(self, *names: str, **kwargs) -> None:
        if kwargs.get("action") not in ("store_true", "store_false", "count"):
            self.valued.update(names)

    def addini(self, *args, **kwargs) -> None:
        pass


def _valued_options() -> set[str]:
    from dynbench import plugin

    recorder = _OptionRecorder()
    plugin.pytest_addoption(recorder)
    return recorder.valued


def _setup(config: pytest.Config, ns, paths: list[str]) -> tuple[Path, dict] | None:
    """(rootdir, ini values) pytest would pick for these test paths; None if pytest's
    internals moved (then only the paths and the start folder decide)."""
    try:
        from _pytest.config.findpaths import determine_setup

        rootpath, _inipath, inicfg, _ignored = determine_setup(
            inifile=ns.inifilename, override_ini=ns.override_ini, args=paths,
            rootdir_cmd_arg=ns.rootdir or None, invocation_dir=config.invocation_params.dir)
    except (ImportError, AttributeError, TypeError) as exc:
        warnings.warn(f"dynbench could not read pytest's ini settings ({exc}); pass "
                      "-p dynbench.plugin to run the benchmark", stacklevel=1)
        return None
    return rootpath, inicfg


def _ini_list(inicfg: dict, key: str) -> list[str]:
    value = getattr(inicfg.get(key), "value", inicfg.get(key))  # pytest 9 wraps values
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _ini_plugins(inicfg: dict) -> list[str]:
    opts = _ini_list(inicfg, "addopts")
    named = [opts[i + 1] for i, opt in enumerate(opts[:-1]) if opt == "-p"]
    return named + [opt[2:] for opt in opts if opt.startswith("-p") and len(opt) > 2]


def _reparse(config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Parse the known arguments again now that dynbench's options exist, so that
    ``--data-dir /data`` no longer counts ``/data`` as a test path."""
    ns = parser.parse_known_args(args, namespace=copy.copy(config.option))
    if ns.confcutdir is None:
        ns.confcutdir = config.known_args_namespace.confcutdir
    config.known_args_namespace = ns
