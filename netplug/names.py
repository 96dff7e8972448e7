"""Where named network namespaces live, and which there are.

Plain file-system reads with nothing else imported, so that the CLI can ask
whether a project left namespaces behind before it loads Trio (`netns`
creates and removes them).
"""

import os
from pathlib import Path

NETNS_DIR = Path("/run/netns")


def list_netns(prefix: str) -> list[str]:
    """Names of the namespaces under NETNS_DIR that start with `prefix`, sorted."""
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(name for name in names if name.startswith(prefix))
