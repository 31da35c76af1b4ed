"""Stand-in for interbotix_common_modules (see interbotix_xs_modules/__init__.py)."""
