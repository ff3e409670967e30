"""Other AWS services' logs beside Bedrock's: ``AWSLogs/<account>/<Service>/``.

A log bucket (or a local copy of one) often holds CloudTrail, load balancer, VPC flow and
other logs next to ``AWSLogs/<account>/BedrockModelInvocationLogs/``. Their files end in
``.json.gz`` or ``.log.gz`` like invocation logs do, but hold no invocation records: read,
each would be a quarantined line (a CloudTrail file is one ``{"Records": [...]}`` object) and
a year of them thousands. A service's folder is AWS's ``AWSLogs/<12-digit account>/<Service>/``
or, for an AWS Organizations trail, ``AWSLogs/<o-... org id>/<account>/<Service>/``; files
directly in the account folder belong to no service.

A folder that holds Bedrock's layout below it is no other service's: Bedrock's S3 key prefix
may be ``AWSLogs/<account>/bedrock``, which puts its logs in
``AWSLogs/<account>/bedrock/AWSLogs/<account>/BedrockModelInvocationLogs/``. (A key tells by
its path; a folder is looked into before it is skipped: see ``layout_inside``.)

Only a service folder below the source counts: a source pointed at ``AWSLogs/<account>/`` skips
the CloudTrail folder in it, and one pointed at ``AWSLogs/<account>/CloudTrail/`` (or below)
is read as asked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bedrock_finops.sources.time_folders import LAYOUT_FOLDER

AWS_LOGS = "AWSLogs"
_ACCOUNT = re.compile(r"[0-9]{12}")
_ORG = re.compile(r"o-[a-z0-9]{10,32}")
# the start of every reason given for another service's folder (the summary groups on it)
OTHER_SERVICE = "another AWS service's logs"
ABOVE = 3  # folders of the source that can start AWSLogs/<org>/<account>/ for one below it


@dataclass(frozen=True)
class ServiceFolder:
    folder: str  # relative to the source, ending in "/": AWSLogs/123456789012/CloudTrail/
    service: str  # the folder's name: CloudTrail, elasticloadbalancing, vpcflowlogs, ...

    @property
    def reason(self) -> str:
        return f"{OTHER_SERVICE} ({self.service}), not Bedrock invocation logs"

    def skipped(self) -> dict[str, str]:
        """Its ``files_skipped`` entry: the folder, listed once for all it holds."""
        return {"file": self.folder, "reason": self.reason}


def service_of(reason: str) -> str | None:
    """The service a ``files_skipped`` reason names, when it is another service's folder."""
    m = re.fullmatch(re.escape(OTHER_SERVICE) + r" \((.*)\), not Bedrock invocation logs", reason)
    return m.group(1) if m else None


def other_service_folder(rel: str, source_folders: Sequence[str] = ()) -> ServiceFolder | None:
    """The folder of another AWS service's logs that ``rel`` lies in (or is), else None.

    ``rel`` is a key or a folder (ending in ``/``) relative to the source; its file name is no
    folder. ``source_folders`` are the folders of the source itself, outermost first (an S3
    prefix's, a local folder's absolute path), so a source pointed at ``AWSLogs/<account>/``
    still finds the service folders in it. The service folder itself must be below the source.
    """
    above = list(source_folders)[-ABOVE:]
    parts = above + rel.split("/")[:-1]
    for i, part in enumerate(parts):
        if part != AWS_LOGS:
            continue
        j = i + 1
        if j < len(parts) and _ORG.fullmatch(parts[j]):
            j += 1
        if j + 1 < len(parts) and _ACCOUNT.fullmatch(parts[j]):
            service = j + 1
            if parts[service] in (LAYOUT_FOLDER, "") or service < len(above):
                return None  # Bedrock's own, no name (S3's a//b), or the source is in it
            if LAYOUT_FOLDER in parts[service + 1 :]:
                return None  # Bedrock's logs under a key prefix named like a service
            return ServiceFolder("/".join(parts[len(above) : service + 1]) + "/", parts[service])
    return None


LOOK_INSIDE_FOLDERS = 1000  # folders of a service's looked at for Bedrock's layout, at most
LOOK_INSIDE_DEPTH = 4  # levels: <prefix>/AWSLogs/<account>/BedrockModelInvocationLogs


def layout_inside(folder: Path) -> bool:
    """Whether Bedrock's layout folder is within a few levels below a local ``folder`` (its
    first ``LOOK_INSIDE_FOLDERS`` folders, breadth first: a service's region and date folders
    come long after those levels)."""
    level = [folder]
    seen = 0
    for _ in range(LOOK_INSIDE_DEPTH):
        below = []
        for path in level:
            try:
                with os.scandir(path) as entries:
                    names = [e.name for e in entries if e.is_dir()]
            except OSError:
                continue
            if LAYOUT_FOLDER in names:
                return True
            below.extend(path / n for n in sorted(names))
            seen += len(names)
            if seen >= LOOK_INSIDE_FOLDERS:
                return False
        level = below
    return False
