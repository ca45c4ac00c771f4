"""Check the external links of every page (``python -m tools.check_links``).

Needs the network, so it is not part of ``make test``; the scheduled Links workflow runs
it and never blocks a merge. Prints each broken link with the pages that use it.
"""

from __future__ import annotations

import re
import sys
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from tools.paths import DOCS


LINK = re.compile(r"\]\((https?://[^)\s]+)\)")
OK_STATUSES = {200, 206, 403, 429}  # 403/429: sites that refuse robots or rate-limit are not broken


def status(url: str) -> int:
    request = urllib.request.Request(url, headers={"User-Agent": "dl-roadmap-link-check"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, TimeoutError):
        return 0


def main() -> int:
    pages = defaultdict(set)
    for page in DOCS.rglob("*.md"):
        for url in LINK.findall(page.read_text(encoding="utf-8")):
            pages[url].add(str(page.relative_to(DOCS)))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(zip(pages, pool.map(status, pages), strict=True))
    broken = {url: code for url, code in results.items() if code not in OK_STATUSES}
    for url, code in sorted(broken.items()):
        print(f"{code or 'no answer'} {url}  ({', '.join(sorted(pages[url]))})")
    print(f"{len(results)} links checked, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
