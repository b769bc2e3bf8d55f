"""Pure rules of gigafibre_fsm.

Nothing here imports frappe, erpnext or any other part of the app, reads the
clock or touches the network: time and data are passed in. The contract is
enforced by import-linter (see pyproject.toml) in the test command.
"""
