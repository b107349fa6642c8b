"""Refresh assets/manifest.json's size and sha256 for the embedded voices, from the
archives `lightspeech voices export` makes of them (reproducible: fixed times and modes).

    python scripts/update_manifest.py

Run it after re-exporting a shipped voice; tests check that the manifest matches.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from lightspeech_cli.runtime.format.voice import embedded_voices_dir, find_voice
from lightspeech_cli.runtime.registry import MANIFEST, export_archive, sha256_of


def main() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        for entry in manifest["voices"]:
            if not (embedded_voices_dir() / entry["name"]).is_dir():
                continue
            archive = export_archive(find_voice(entry["name"]), Path(folder) / entry["file"])
            entry["size"], entry["sha256"] = archive.stat().st_size, sha256_of(archive)
            print(f"{entry['name']}: {entry['size']:,} bytes, sha256 {entry['sha256']}")
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
