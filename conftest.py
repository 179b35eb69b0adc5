"""Root conftest.

The dynbench plugin itself is registered through the ``pytest11`` entry point
(pyproject.toml), so that its options are known before pytest picks its rootdir; hooks that
belong to the plugin live in ``dynbench/plugin.py``, not here. This file only adds the run's
data and model to the pytest header.
"""


def pytest_report_header(config):
    from dynbench.plugin import STATE

    if STATE not in config.stash:
        return None
    state = config.stash[STATE]
    if state.error:
        return f"dynbench: {state.error}"
    model = f"predictions {state.predictions}" if state.predictions else state.spec.name
    return f"dynbench: data {state.root} | model {model} | report {state.report_dir}"
