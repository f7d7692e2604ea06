"""Where things are: the repository root and the folders tests read or write."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"  # screenshots and logs a run keeps (git-ignored)
POSTMAN = ROOT / "postman"
SHARED_CSV_DIR = ROOT.parent / "shared" / "data" / "crypto-daily"
