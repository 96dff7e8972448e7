"""A service's isolation keys -> the `runtime.isolation.Isolation` its container runs with.

Docker's defaults unless the service says otherwise: its 14 capabilities;
the distribution's default seccomp profile (Podman's, from
containers-common) with Docker's gates on namespaces and mounts added
(`runtime.seccomp_gates`), while a profile the service names
(`seccomp=PATH`) applies as it is written; no_new_privileges off; Docker's
sysctls and resource limits. `privileged: true` gives every capability
Corral itself holds, every host device, writable /sys and no seccomp
filter, as Docker's does.
"""

import platform
from pathlib import Path

from orchestrator.spec.isolation_fields import SecurityOptions, parse_security_options
from orchestrator.spec.model import ServiceSpec
from runtime import seccomp
from runtime.isolation import (
    DEFAULT_SYSCTLS,
    Device,
    Isolation,
    Rlimit,
    apparmor_enabled,
    capability_set,
    default_rlimits,
    grantable_capabilities,
    parse_device_rule,
)
from runtime.seccomp_gates import gate


def isolation_of(service: ServiceSpec) -> Isolation:
    """The service's isolation; reads the seccomp profile (SeccompError,
    which names the package to install, if the default one is missing)."""
    options = parse_security_options(service.security_opt)
    privileged = bool(service.privileged)
    capabilities = capability_set(
        service.cap_add, service.cap_drop, privileged, grantable_capabilities()
    )
    limits = {limit.name: limit for limit in default_rlimits()}
    limits.update({u.name: Rlimit(u.name, u.soft, u.hard) for u in service.ulimits})
    return Isolation(
        capabilities=capabilities,
        privileged=privileged,
        no_new_privileges=options.no_new_privileges,
        seccomp=None if privileged else _seccomp(options, capabilities),
        sysctls=tuple({**dict(DEFAULT_SYSCTLS), **dict(service.sysctls)}.items()),
        rlimits=tuple(limits.values()),
        devices=tuple(Device(d.source, d.target, d.permissions) for d in service.devices),
        device_rules=tuple(parse_device_rule(rule) for rule in service.device_cgroup_rules),
        oom_score_adj=service.oom_score_adj,
        apparmor_profile=_apparmor(options.apparmor),
        unmasked_system_paths=privileged or options.unmasked_system_paths,
    )


def _seccomp(options: SecurityOptions, capabilities: tuple[str, ...]) -> dict[str, object] | None:
    if options.seccomp == "unconfined":
        return None
    if options.seccomp is not None:
        return seccomp.oci_seccomp(seccomp.load_profile(Path(options.seccomp)), capabilities)
    translated = seccomp.oci_seccomp(seccomp.load_profile(seccomp.DEFAULT_PROFILE), capabilities)
    return gate(translated, capabilities, platform.machine())


def _apparmor(profile: str | None) -> str | None:
    """The AppArmor profile to apply: none on a host without AppArmor (the
    loader warned), none for `unconfined`. Corral has no default profile."""
    if profile in (None, "unconfined") or not apparmor_enabled():
        return None
    return profile
