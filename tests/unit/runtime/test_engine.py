"""Which OCI runtime the engine drives."""

import shutil

from runtime.engine import runtime_binary


def test_corral_runtime_names_the_runtime() -> None:
    assert runtime_binary({"CORRAL_RUNTIME": "runc"}) == "runc"
    assert runtime_binary({"CORRAL_RUNTIME": "/opt/bin/crun"}) == "/opt/bin/crun"


def test_crun_is_preferred_when_installed() -> None:
    expected = "crun" if shutil.which("crun") else "runc"
    assert runtime_binary({}) == expected
    assert runtime_binary({"CORRAL_RUNTIME": ""}) == expected
