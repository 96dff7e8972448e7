"""A seccomp profile in Docker's format -> the OCI runtime-spec `linux.seccomp` object.

The default profile is the one Podman uses, maintained by the distribution
(Debian's golang-github-containers-common). Docker-format profiles hold
rules for every architecture and capability set; the translation keeps the
rules that apply to one container on one machine, as moby's and Podman's
`setupSeccomp` do:

- `archMap` gives the native architecture and its sub-architectures (a
  top-level `architectures` list is taken as it is; a profile may not have both);
- a rule with `includes` is kept only if the native architecture is among
  its `arches`, every one of its `caps` is in the container's bounding set,
  and the running kernel is at least its `minKernel`; a rule with `excludes`
  is dropped if the architecture is among its `arches`, any of its `caps` is
  in the bounding set, or the kernel is at least its `minKernel`;
- `name` (the legacy single name) becomes `names`; `comment` and Podman's
  `errno` / `defaultErrno` (the names of the numbers in `errnoRet` and
  `defaultErrnoRet`) are documentation; a rule left with no names is dropped.

A JSON null is the same as an absent key, as in Go. Unlike Docker, an
unknown key is refused rather than ignored: a misspelt `excludes` would
otherwise widen the filter without a word. A profile that cannot be read or
checked is an error, never a container without a filter.
"""

import json
import os
import platform
import re
import sys
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from runtime.errors import ContainerRuntimeError, SeccompError

DEFAULT_PROFILE = Path("/usr/share/containers/seccomp.json")
PROFILE_PACKAGE = "golang-github-containers-common"

ACTIONS = frozenset({
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
})  # fmt: skip
OPERATORS = frozenset({
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
})  # fmt: skip
ARCHITECTURES = frozenset({
    "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
})  # fmt: skip
FLAGS = frozenset({
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
})  # fmt: skip

_MACHINES: dict[str, tuple[str, str]] = {
    "x86_64": ("amd64", "SCMP_ARCH_X86_64"),
    "amd64": ("amd64", "SCMP_ARCH_X86_64"),
    **dict.fromkeys(("i386", "i486", "i586", "i686"), ("x86", "SCMP_ARCH_X86")),
    "aarch64": ("arm64", "SCMP_ARCH_AARCH64"),
    "arm64": ("arm64", "SCMP_ARCH_AARCH64"),
    **dict.fromkeys(("arm", "armv6l", "armv7l", "armv8l"), ("arm", "SCMP_ARCH_ARM")),
    "ppc": ("ppc", "SCMP_ARCH_PPC"),
    "ppc64": ("ppc64", "SCMP_ARCH_PPC64"),
    "ppc64le": ("ppc64le", "SCMP_ARCH_PPC64LE"),
    "s390": ("s390", "SCMP_ARCH_S390"),
    "s390x": ("s390x", "SCMP_ARCH_S390X"),
    "riscv64": ("riscv64", "SCMP_ARCH_RISCV64"),
    "loongarch64": ("loong64", "SCMP_ARCH_LOONGARCH64"),
    "mips": ("mips", "SCMP_ARCH_MIPS"),
    "mipsel": ("mipsel", "SCMP_ARCH_MIPSEL"),
    "mips64": ("mips64", "SCMP_ARCH_MIPS64"),
    "mips64el": ("mipsel64", "SCMP_ARCH_MIPSEL64"),
}
"""platform.machine() -> (libseccomp's name for it, as in `includes.arches`;
the SCMP_ARCH_* name `archMap` is keyed by)."""

_PROFILE_KEYS = frozenset({
    "defaultAction", "defaultErrnoRet", "defaultErrno", "architectures", "archMap", "syscalls",
    "flags", "listenerPath", "listenerMetadata",
})  # fmt: skip
_RULE_KEYS = frozenset(
    {"names", "name", "action", "errnoRet", "errno", "args", "comment", "includes", "excludes"}
)
_ARG_KEYS = frozenset({"index", "value", "valueTwo", "op"})
_FILTER_KEYS = frozenset({"caps", "arches", "minKernel"})
_ARCH_MAP_KEYS = frozenset({"architecture", "subArchitectures"})
_UINT64 = 1 << 64
_SYSCALL_ARGS = 6


class _Invalid(Exception):
    """A problem at `field` of the profile; load_profile adds the path."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(field, problem)
        self.field = field
        self.problem = problem


def load_profile(path: Path = DEFAULT_PROFILE) -> Mapping[str, Any]:
    """Read and check a Docker-format profile.

    SeccompError names the path (and, for the default profile, the Debian
    package that installs it) if the file is missing, unreadable, not JSON or
    not a valid profile; then the field at fault, as `syscalls[3].args[0].op`.
    """
    hint = f"it is installed by the Debian package {PROFILE_PACKAGE}"
    hint_here = hint if path == DEFAULT_PROFILE else None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SeccompError(path, f"not UTF-8 text: {exc.reason}", hint=hint_here) from exc
    except OSError as exc:
        raise SeccompError(path, f"cannot read it: {exc.strerror}", hint=hint_here) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise SeccompError(path, problem, hint=hint_here) from exc
    try:
        _check_profile(data)
    except _Invalid as exc:
        raise SeccompError(path, exc.problem, exc.field or None, hint_here) from exc
    profile: dict[str, Any] = data
    return profile


def oci_seccomp(
    profile: Mapping[str, Any],
    capabilities: Collection[str],
    machine: str | None = None,
    kernel_release: str | None = None,
) -> dict[str, Any]:
    """The OCI linux.seccomp object for a container with these (bounding)
    capabilities on this machine (platform.machine() by default, e.g.
    'x86_64', 'aarch64') and kernel (os.uname().release by default).

    `profile` is one load_profile returned: it is not checked again.
    """
    if machine is None:
        machine = platform.machine()
        # uname says "mips"/"mips64" for either byte order; the userland knows.
        if machine in ("mips", "mips64") and sys.byteorder == "little":
            machine += "el"
    native, arch = _MACHINES.get(machine, ("", ""))
    kernel = _running_kernel(os.uname().release if kernel_release is None else kernel_release)

    def applies(rule: Mapping[str, Any]) -> bool:
        includes, excludes = rule.get("includes") or {}, rule.get("excludes") or {}
        if native in (excludes.get("arches") or ()):
            return False
        if any(cap in capabilities for cap in excludes.get("caps") or ()):
            return False
        if excludes.get("minKernel") and kernel >= _kernel_version(excludes["minKernel"]):
            return False
        if includes.get("arches") and native not in includes["arches"]:
            return False
        if not all(cap in capabilities for cap in includes.get("caps") or ()):
            return False
        return not (includes.get("minKernel") and kernel < _kernel_version(includes["minKernel"]))

    result: dict[str, Any] = {"defaultAction": profile["defaultAction"]}
    for key in ("defaultErrnoRet", "flags", "listenerPath", "listenerMetadata"):
        if profile.get(key) is not None:
            result[key] = profile[key]
    architectures = list(profile.get("architectures") or ())
    for entry in profile.get("archMap") or ():
        if entry["architecture"] == arch:
            architectures = [arch, *(entry.get("subArchitectures") or ())]
            break
    if architectures:
        result["architectures"] = architectures
    syscalls = [_oci_rule(rule) for rule in profile.get("syscalls") or () if applies(rule)]
    syscalls = [rule for rule in syscalls if rule["names"]]
    if syscalls:
        result["syscalls"] = syscalls
    return result


def _oci_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    names = [rule["name"]] if rule.get("name") else list(rule.get("names") or ())
    result: dict[str, Any] = {"names": names, "action": rule["action"]}
    if rule.get("errnoRet") is not None:
        result["errnoRet"] = rule["errnoRet"]
    args = [
        {"index": arg["index"], "value": arg["value"], "op": arg["op"]}
        | ({"valueTwo": arg["valueTwo"]} if arg.get("valueTwo") else {})
        for arg in rule.get("args") or ()
    ]
    if args:
        result["args"] = args
    return result


def _running_kernel(release: str) -> tuple[int, int]:
    """(kernel, major) of a release such as "6.1.0-18-amd64", as Docker reads it."""
    match = re.match(r"(\d+)\.(\d+)", release)
    if match is None:
        raise ContainerRuntimeError(f"kernel release {release!r} has no version to compare")
    return int(match[1]), int(match[2])


def _kernel_version(text: str) -> tuple[int, int]:
    kernel, major = text.split(".")
    return int(kernel), int(major)


# Checking: each function raises _Invalid naming the field it was given.


def _check_profile(profile: Any) -> None:
    _check_object(profile, "", _PROFILE_KEYS)
    if profile.get("defaultAction") is None:
        raise _Invalid("defaultAction", "missing: a profile must say what to do by default")
    _check_action(profile["defaultAction"], "defaultAction")
    _optional(profile, "defaultErrnoRet", "", _check_uint)
    _optional(profile, "defaultErrno", "", _check_string)
    _optional(profile, "listenerPath", "", _check_string)
    _optional(profile, "listenerMetadata", "", _check_string)
    _optional(profile, "flags", "", _list_of(_one_of(FLAGS, "flag")))
    _optional(profile, "architectures", "", _list_of(_check_arch))
    _optional(profile, "archMap", "", _list_of(_check_arch_map))
    if profile.get("architectures") and profile.get("archMap"):
        raise _Invalid("architectures", "a profile takes either architectures or archMap")
    _optional(profile, "syscalls", "", _list_of(_check_rule))


def _check_rule(rule: Any, field: str) -> None:
    _check_object(rule, field, _RULE_KEYS)
    if rule.get("action") is None:
        raise _Invalid(f"{field}.action", "missing")
    _check_action(rule["action"], f"{field}.action")
    _optional(rule, "name", field, _check_string)
    _optional(rule, "names", field, _list_of(_check_name))
    if rule.get("name") and rule.get("names"):
        raise _Invalid(f"{field}.name", "a rule takes either name or names")
    _optional(rule, "errnoRet", field, _check_uint)
    _optional(rule, "errno", field, _check_string)
    _optional(rule, "comment", field, _check_string)
    _optional(rule, "args", field, _list_of(_check_arg))
    _optional(rule, "includes", field, _check_filter)
    _optional(rule, "excludes", field, _check_filter)


def _check_arg(arg: Any, field: str) -> None:
    _check_object(arg, field, _ARG_KEYS)
    for key in ("index", "value", "op"):
        if arg.get(key) is None:
            raise _Invalid(f"{field}.{key}", "missing")
    _check_uint(arg["index"], f"{field}.index")
    if arg["index"] >= _SYSCALL_ARGS:
        raise _Invalid(f"{field}.index", f"{arg['index']} is not an argument: a system call has 6")
    _check_uint(arg["value"], f"{field}.value", _UINT64)
    _optional(arg, "valueTwo", field, lambda value, at: _check_uint(value, at, _UINT64))
    _one_of(OPERATORS, "operator")(arg["op"], f"{field}.op")


def _check_filter(conditions: Any, field: str) -> None:
    _check_object(conditions, field, _FILTER_KEYS)
    _optional(conditions, "caps", field, _list_of(_check_name))
    _optional(conditions, "arches", field, _list_of(_check_name))
    _optional(conditions, "minKernel", field, _check_kernel)


def _check_arch_map(entry: Any, field: str) -> None:
    _check_object(entry, field, _ARCH_MAP_KEYS)
    if entry.get("architecture") is None:
        raise _Invalid(f"{field}.architecture", "missing")
    _check_arch(entry["architecture"], f"{field}.architecture")
    _optional(entry, "subArchitectures", field, _list_of(_check_arch))


def _check_kernel(value: Any, field: str) -> None:
    """A "<kernel>.<major>" version, as moby's KernelVersion reads one; "" is none."""
    _check_string(value, field)
    if value and (
        re.fullmatch(r"\d+\.\d+", value) is None
        or not all(int(part) < 256 for part in value.split("."))
        or _kernel_version(value) == (0, 0)
    ):
        raise _Invalid(field, f'{value!r} is not a kernel version "<kernel>.<major>"')


def _check_action(value: Any, field: str) -> None:
    _one_of(ACTIONS, "action")(value, field)


def _check_arch(value: Any, field: str) -> None:
    _one_of(ARCHITECTURES, "architecture")(value, field)


def _one_of(known: frozenset[str], what: str) -> Callable[[Any, str], None]:
    def check(value: Any, field: str) -> None:
        _check_string(value, field)
        if value not in known:
            raise _Invalid(field, f"unknown {what} {value!r}")

    return check


def _list_of(check: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
    def check_list(value: Any, field: str) -> None:
        if not isinstance(value, list):
            raise _Invalid(field, f"expected a list, got {_kind(value)}")
        for index, item in enumerate(value):
            check(item, f"{field}[{index}]")

    return check_list


def _optional(
    container: Mapping[str, Any], key: str, field: str, check: Callable[[Any, str], None]
) -> None:
    if container.get(key) is not None:
        check(container[key], f"{field}.{key}" if field else key)


def _check_object(value: Any, field: str, keys: frozenset[str]) -> None:
    if not isinstance(value, dict):
        raise _Invalid(field, f"expected an object, got {_kind(value)}")
    for key in value:
        if key not in keys:
            raise _Invalid(f"{field}.{key}" if field else key, "unknown key")


def _check_name(value: Any, field: str) -> None:
    _check_string(value, field)
    if not value:
        raise _Invalid(field, "empty")


def _check_string(value: Any, field: str) -> None:
    if not isinstance(value, str):
        raise _Invalid(field, f"expected a string, got {_kind(value)}")


def _check_uint(value: Any, field: str, limit: int = 1 << 32) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise _Invalid(field, f"expected an integer from 0 to {limit - 1}, got {value!r}")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), "null")  # fmt: skip
