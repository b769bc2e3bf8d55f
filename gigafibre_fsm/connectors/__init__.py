"""Clients for the outside world (GenieACS, SNMP, Twilio, ...).

No frappe here: each client takes its settings as arguments (dataclasses from
gigafibre_fsm.core.settings), has explicit timeouts and raises typed errors from
gigafibre_fsm.connectors.errors. Enforced by import-linter.
"""
