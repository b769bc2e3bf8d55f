"""Referral credits are negative invoice lines: let ERPNext accept them on sites installed before
referrals existed (a new site gets this from after_install)."""

from gigafibre_fsm.customers.referral_credits import allow_credit_lines


def execute():
	allow_credit_lines()
