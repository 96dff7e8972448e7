"""Signal names as Docker reads them, in a spec and in an image config."""

import pytest

from runtime.errors import ImageError
from runtime.images.config import image_config
from runtime.signals import signal_name


@pytest.mark.parametrize(
    ("value", "expected"),
    [("SIGTERM", "SIGTERM"), ("term", "SIGTERM"), ("SigQuit", "SIGQUIT"), (9, "SIGKILL"),
     ("10", "SIGUSR1"), (" USR2 ", "SIGUSR2")],
)  # fmt: skip
def test_names_and_numbers(value: object, expected: str) -> None:
    assert signal_name(value) == expected


@pytest.mark.parametrize("value", ["SIGNOPE", "", "999", -1, True, None, 1.5])
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="is not a signal name such as SIGTERM"):
        signal_name(value)


def test_an_images_stop_signal_is_read_by_its_canonical_name() -> None:
    quitting = image_config({"config": {"StopSignal": "quit"}}, "config of app")
    assert quitting.stop_signal == "SIGQUIT"
    assert image_config({"config": {}}, "config of app").stop_signal == ""


def test_an_images_bad_stop_signal_is_an_image_error_naming_it() -> None:
    with pytest.raises(ImageError) as caught:
        image_config({"config": {"StopSignal": "SIGNOPE"}}, "config of app:1")
    assert str(caught.value) == (
        "config of app:1: StopSignal 'SIGNOPE' is not a signal name such as SIGTERM"
    )
