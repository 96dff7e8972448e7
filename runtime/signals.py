"""Signal names as Docker reads them, for a spec's stop_signal and an image's StopSignal."""

import signal


def signal_name(value: object) -> str:
    """The canonical name ("SIGTERM") of `value`: a name with or without the
    SIG prefix, in any case, or a number (an int or a string of digits).
    ValueError for anything else."""
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        text = str(value).strip().upper()
        if text.isdigit():
            try:
                return signal.Signals(int(text)).name
            except ValueError:
                pass
        else:
            name = text if text.startswith("SIG") else f"SIG{text}"
            if name in signal.Signals.__members__:
                return name
    raise ValueError(f"{value!r} is not a signal name such as SIGTERM")
