"""Networking for containers on this host.

`ipam` picks subnets that do not clash with the host's routes and hands out
addresses; `netns` creates named network namespaces; `bridge` and `endpoint`
build a Linux bridge per network and a veth pair per container into its
namespace; `discovery` renders the hosts file that lets every container
resolve its neighbours by name.

This package never imports `orchestrator` or `runtime`: it receives a
container's network namespace as a path and knows nothing of Compose.
"""
