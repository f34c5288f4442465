"""Builders every area's tests share, one module per app area, loaded as pytest plugins by tests/conftest.py
(`pytest_plugins`): a fixture such as `make_member` is available in every test directory without importing it.

A builder makes a valid object with the fewest arguments and takes any column as an override; it flushes and
never commits.
"""
