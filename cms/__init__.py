"""The public portal on Wagtail (issue: public portal)."""
