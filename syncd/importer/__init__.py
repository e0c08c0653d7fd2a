"""Bulk import of a province's units and members from the spreadsheets it already keeps, and the
export back in the same columns (docs/import.md)."""
