"""dynbench: a pytest-native Dyn-Bench evaluation suite for video vision-language models."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dynbench")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
