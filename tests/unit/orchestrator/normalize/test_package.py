"""The public surface of orchestrator.spec.normalize, pinned."""

import orchestrator.spec.normalize as normalize


def test_exported_names() -> None:
    assert sorted(normalize.__all__) == [
        "BindOptions", "BuildConfig", "Condition", "Dependency", "DeviceMapping", "FileKind",
        "FileReference", "Healthcheck", "ImageOptions", "NormalizeError", "PortConfig",
        "PortMode", "PortProtocol", "Propagation", "Recursive", "SELinuxLabel",
        "ServiceNetwork", "ServiceVolume", "TmpfsOptions", "Ulimit", "VolumeOptions",
        "VolumeType", "parse_build", "parse_cpus", "parse_depends_on", "parse_devices",
        "parse_expose", "parse_extra_hosts", "parse_file_references", "parse_healthcheck",
        "parse_key_values", "parse_ports", "parse_service_networks", "parse_service_volume",
        "parse_size", "parse_tmpfs", "parse_ulimits", "scalar_text", "string_or_list",
    ]  # fmt: skip
    assert all(hasattr(normalize, name) for name in normalize.__all__)


def test_error_is_a_value_error_with_a_path() -> None:
    error = normalize.NormalizeError("bad", ("ports", 0)).within("services", "web")
    assert isinstance(error, ValueError)
    assert (str(error), error.message, error.path) == (
        "bad",
        "bad",
        ("services", "web", "ports", 0),
    )
