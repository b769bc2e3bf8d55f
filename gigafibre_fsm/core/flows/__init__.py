"""The flow engine, pure: catalogs, template validation, readiness, reorder, run advance.

Time, documents and side effects are passed in; nothing here reads the clock,
the database or the network.
"""
