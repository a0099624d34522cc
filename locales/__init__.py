"""Gettext catalogs: one folder per language, `<lang>/LC_MESSAGES/wijkbrug.po`, and the template
`wijkbrug.pot`. English is the source language and needs no catalog."""

from pathlib import Path

DOMAIN = "wijkbrug"
SOURCE_LANGUAGE = "en"
CATALOG_DIR = Path(__file__).parent
