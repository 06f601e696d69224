"""Ready and stats files of the harness processes (local_aws, fault_proxy).

A reader polls for the ready file, so it is written whole or not at all, and
removed at exit so a leftover never announces a dead server."""

from __future__ import annotations

import json
import os


def write_json_atomically(path: str, document: dict) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)


def remove_if_present(path: str | None) -> None:
    if path:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
