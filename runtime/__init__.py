"""Containers on this host.

Layering, bottom up: `images` keeps OCI images in a content-addressed store
and unpacks their layers; `rootfs` mounts a container's overlay root from
those layers; `oci` writes an OCI runtime-spec bundle from plain values;
`engine` drives the OCI runtime binary and reports exits through pidfds.

This package never imports `orchestrator` or `netplug`: it receives a
container's network namespace as a path and knows nothing of Compose.
"""
