"""The service keys that loosen or tighten a container's isolation, checked
while loading as Docker checks them when it creates the container: a
capability the kernel does not have, a host-wide sysctl, a malformed device
rule or security option is a problem of the file, not a failed start.

The model keeps the values as written (`corral config` prints them so),
except a seccomp profile's path, made absolute like every other path.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.spec.normalize import NormalizeError
from orchestrator.spec.normalize.values import at, strings
from runtime.isolation import (
    RLIMIT_NAMES,
    apparmor_enabled,
    capability_name,
    parse_device_rule,
    selinux_enabled,
    sysctl_problem,
)

if TYPE_CHECKING:
    from orchestrator.spec.model import Pairs
    from orchestrator.spec.normalize import Ulimit
    from orchestrator.spec.service_fields import FieldContext

_SWITCHES = {"true": True, "false": False}


@dataclass(frozen=True)
class SecurityOptions:
    """What a service's `security_opt` asks for."""

    seccomp: str | None = None
    """"unconfined", a profile's absolute path, or None for the default."""
    no_new_privileges: bool = False
    apparmor: str | None = None
    labels: tuple[str, ...] = ()
    """SELinux `label` options, as written."""
    unmasked_system_paths: bool = False
    """`systempaths=unconfined`: /proc and /sys paths neither masked nor read-only."""


def _split(entry: str) -> tuple[str, str | None]:
    """Docker's `key=value`, and its older `key:value` spelling."""
    for separator in ("=", ":"):
        if separator in entry:
            key, _, value = entry.partition(separator)
            return key, value
    return entry, None


def parse_security_options(entries: tuple[str, ...]) -> SecurityOptions:
    """`security_opt` as Docker reads it; NormalizeError for an option it refuses."""
    options: dict[str, Any] = {"labels": ()}
    for index, entry in enumerate(entries):
        at(index, _apply_option, (entry, options))
    return SecurityOptions(**options)


def _apply_option(item: tuple[str, dict[str, Any]]) -> None:
    entry, options = item
    key, value = _split(entry)
    if key == "no-new-privileges":
        if value is None:
            options["no_new_privileges"] = True
        elif value.lower() in _SWITCHES:
            options["no_new_privileges"] = _SWITCHES[value.lower()]
        else:
            raise NormalizeError(f"{entry!r}: no-new-privileges takes true or false")
    elif key == "seccomp" and value:
        options["seccomp"] = value
    elif key == "apparmor" and value:
        options["apparmor"] = value
    elif key == "label" and value:
        options["labels"] = (*options["labels"], value)
    elif key == "systempaths" and value == "unconfined":
        options["unmasked_system_paths"] = True
    else:
        raise NormalizeError(
            f"{entry!r} is not a security option (seccomp=..., no-new-privileges[:true|false], "
            "apparmor=..., label=..., systempaths=unconfined)"
        )


def host_option_warnings(entries: tuple[str, ...]) -> list[str]:
    """What this host cannot apply of `security_opt`: SELinux labels
    (Corral applies none yet) and AppArmor profiles on a host without it.
    Warnings, not problems, even with --strict: Docker ignores them so."""
    options = parse_security_options(entries)
    found = []
    if [label for label in options.labels if label != "disable"]:
        found.append("Corral does not apply SELinux labels; the label option is ignored"
                     if selinux_enabled() else
                     "this host has no SELinux; the label option is ignored")  # fmt: skip
    if options.apparmor not in (None, "unconfined") and not apparmor_enabled():
        found.append("this host has no AppArmor; the apparmor option is ignored")
    return found


def security_opt(value: Any, context: "FieldContext") -> tuple[str, ...]:
    """The entries, a seccomp profile's path made absolute and the profile
    read, so that a missing or malformed one is found before anything starts."""
    entries = strings(value, "a list of security options")
    options = parse_security_options(entries)
    if options.seccomp in (None, "unconfined"):
        return entries
    from runtime.errors import ContainerRuntimeError
    from runtime.seccomp import load_profile

    assert options.seccomp is not None
    path = Path(os.path.join(context.project_dir, os.path.expanduser(options.seccomp)))
    index = next(i for i, e in enumerate(entries) if _split(e)[0] == "seccomp")
    try:
        load_profile(path)
    except ContainerRuntimeError as exc:
        raise NormalizeError(str(exc), (index,)) from None
    return tuple(f"seccomp={path}" if i == index else e for i, e in enumerate(entries))


def _checked(check: Callable[[str], object]) -> Callable[[str], None]:
    """`check`, its ValueError a NormalizeError."""

    def run(text: str) -> None:
        try:
            check(text)
        except ValueError as exc:
            raise NormalizeError(str(exc)) from None

    return run


def capabilities(value: Any, _: "FieldContext") -> tuple[str, ...]:
    names = strings(value, "a list of capabilities")
    for index, name in enumerate(names):
        at(index, _checked(capability_name), name)
    return names


def check_sysctls(pairs: "Pairs") -> "Pairs":
    for name, _ in pairs:
        problem = sysctl_problem(name)
        if problem is not None:
            raise NormalizeError(problem, (name,))
    return pairs


def device_cgroup_rules(value: Any, _: "FieldContext") -> tuple[str, ...]:
    rules = strings(value, "a list of device cgroup rules")
    for index, rule in enumerate(rules):
        at(index, _checked(parse_device_rule), rule)
    return rules


def cgroup_parent(value: Any, _: "FieldContext") -> str:
    if not isinstance(value, str) or not value.strip("/"):
        raise NormalizeError(f"{value!r} is not a cgroup path")
    if ".." in value.split("/"):
        raise NormalizeError(f"{value!r}: a cgroup parent may not climb out with '..'")
    return value


def userns_mode(value: Any, _: "FieldContext") -> str:
    if value != "host":
        raise NormalizeError(
            f"{value!r}: only 'host' is a user namespace mode (Corral runs containers in the "
            "host's user namespace)"
        )
    return "host"


def check_ulimit_names(limits: "tuple[Ulimit, ...]") -> "tuple[Ulimit, ...]":
    for limit in limits:
        if limit.name not in RLIMIT_NAMES:
            raise NormalizeError(
                f"{limit.name!r} is not a ulimit ({', '.join(sorted(RLIMIT_NAMES))})",
                (limit.name,),
            )
    return limits
