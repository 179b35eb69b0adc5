"""Keep pytest's rootdir right when option values are paths (``--data-dir /data``).

pytest picks its rootdir and ini file *before* it loads entry-point plugins, so at that
moment ``--data-dir /data`` is an unknown option followed by a free argument, and ``/data``
is taken for a test path: the rootdir moves there, the project's pytest.ini (testpaths,
addopts) is lost. Once our options are known, this re-runs pytest's own rootdir logic with
the correctly parsed free arguments and adopts its answer.
"""

from __future__ import annotations

import warnings

import pytest


def fix_rootdir(config: pytest.Config, args: list[str]) -> None:
    ns = config.known_args_namespace
    if getattr(ns, "rootdir", None) or getattr(ns, "inifilename", None):
        return  # the user chose explicitly
    try:
        from _pytest.config.findpaths import determine_setup

        rootpath, inipath, inicfg, ignored = determine_setup(
            inifile=None, override_ini=ns.override_ini, args=ns.file_or_dir,
            rootdir_cmd_arg=None, invocation_dir=config.invocation_params.dir)
        if (rootpath, inipath) == (config.rootpath, config.inipath):
            return
        _adopt(config, args, rootpath, inipath, inicfg, ignored)
    except (ImportError, AttributeError, TypeError) as exc:  # a pytest whose internals moved
        warnings.warn(f"dynbench could not correct pytest's rootdir ({exc}); write path "
                      "options as --data-dir=DIR", stacklevel=1)


def _adopt(config: pytest.Config, args: list[str], rootpath, inipath, inicfg, ignored) -> None:
    config._rootpath, config._inipath, config._inicfg = rootpath, inipath, inicfg
    config._ignored_config_files = ignored
    config._inicache.clear()
    config._parser.extra_info.update(rootdir=str(rootpath), inifile=str(inipath))
    config.known_args_namespace.confcutdir = str(inipath.parent if inipath else rootpath)
    args[:0] = config._validate_args(config.getini("addopts"), "via addopts config")
