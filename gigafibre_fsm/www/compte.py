"""The customer's account page (hooks: website_route_rules).

``/compte``: the customer types the e-mail or cell phone on file and gets a 24-hour link
(``gigafibre_fsm.api.billing.send_account_link``: same answer whether or not it is on file).
``/compte/<token>``: that customer's balance, invoices (PDF through the token), payments, active
services, a Pay button per open invoice (``account_pay``: the invoice's Stripe Checkout Session)
and Save a card (``account_save_card``: a SetupIntent confirmed with Stripe.js, loaded from Gigafibre
Settings' "Stripe.js URL": https://js.stripe.com/v3/, or the fake Stripe's in tests; the saved
card's brand, last 4 digits and expiry, with a warning when it expires soon). Everything shown
is read for the token's customer only (gigafibre_fsm.customers.account.summary); a refused link
shows one message and the request form. French or English: ``?lang=`` first, else the
customer's language, else the browser's, else French. Plain HTML and a small inline script: no
desk assets.
"""

from __future__ import annotations

import re

import frappe

from gigafibre_fsm.settings import get_settings

no_cache = 1
sitemap = 0

LANGS = ("fr", "en")
_NOT_TOKEN = re.compile(r"[^A-Za-z0-9_.\-]")
MAX_TOKEN = 1024

TEXT = {
	"fr": {
		"title": "Mon compte Gigafibre",
		"other": "English",
		"ask_title": "Accéder à mon compte",
		"ask_help": "Entrez le courriel ou le numéro de cellulaire à votre dossier : nous vous enverrons un lien valide 24 heures.",
		"ask_label": "Courriel ou cellulaire",
		"ask_button": "Recevoir mon lien",
		"expired": "Ce lien a expiré ou n'est plus valide. Demandez-en un nouveau ci-dessous.",
		"paid": "Merci ! Votre paiement a été reçu. Il apparaîtra à votre compte dans quelques instants.",
		"hello": "Bonjour",
		"balance": "Solde à payer",
		"nothing_due": "Aucun solde à payer. Merci !",
		"invoices": "Factures",
		"invoice": "Facture",
		"credit_note": "Note de crédit",
		"due": "échéance",
		"outstanding": "à payer",
		"pay": "Payer",
		"pdf": "PDF",
		"payments": "Paiements",
		"no_payments": "Aucun paiement.",
		"refund": "Remboursement",
		"card": "carte",
		"services": "Services actifs",
		"no_services": "Aucun service actif.",
		"per_month": "/ mois",
		"autopay": "Paiement automatique",
		"autopay_on": "Activé : chaque facture est payée avec votre carte enregistrée.",
		"autopay_off": "Enregistrez une carte : vos factures seront payées automatiquement.",
		"save_card": "Enregistrer une carte",
		"card_saved": "Carte enregistrée. Merci !",
		"card_pending": "Carte enregistrée. Merci ! Elle apparaîtra ici dans un instant.",
		"card_on_file": "Carte enregistrée",
		"card_expiring": "Cette carte expire bientôt : enregistrez-en une nouvelle pour que vos factures continuent d'être payées.",
		"card_expired": "Cette carte est expirée : enregistrez-en une nouvelle.",
		"replace_card": "Enregistrer une autre carte",
		"card_unavailable": "L'enregistrement de carte n'est pas disponible pour le moment.",
		"failed": "Le service ne répond pas. Réessayez dans quelques minutes.",
		"too_many": "Trop de demandes. Réessayez dans quelques minutes.",
		"sent": "Si ce courriel ou ce numéro est à votre dossier, un lien vers votre compte vous a été envoyé. Il est valide 24 heures.",
	},
	"en": {
		"title": "My Gigafibre account",
		"other": "Français",
		"ask_title": "Open my account",
		"ask_help": "Enter the e-mail or cell phone number on file: we will send you a link valid for 24 hours.",
		"ask_label": "E-mail or cell phone",
		"ask_button": "Send my link",
		"expired": "This link has expired or is no longer valid. Ask for a new one below.",
		"paid": "Thank you! Your payment was received. It will show on your account in a moment.",
		"hello": "Hello",
		"balance": "Balance due",
		"nothing_due": "Nothing to pay. Thank you!",
		"invoices": "Invoices",
		"invoice": "Invoice",
		"credit_note": "Credit note",
		"due": "due",
		"outstanding": "to pay",
		"pay": "Pay",
		"pdf": "PDF",
		"payments": "Payments",
		"no_payments": "No payments.",
		"refund": "Refund",
		"card": "card",
		"services": "Active services",
		"no_services": "No active services.",
		"per_month": "/ month",
		"autopay": "Automatic payment",
		"autopay_on": "On: each invoice is paid with your saved card.",
		"autopay_off": "Save a card and your invoices will be paid automatically.",
		"save_card": "Save a card",
		"card_saved": "Card saved. Thank you!",
		"card_pending": "Card saved. Thank you! It will show here in a moment.",
		"card_on_file": "Saved card",
		"card_expiring": "This card expires soon: save a new one to keep your invoices paid.",
		"card_expired": "This card has expired: save a new one.",
		"replace_card": "Save another card",
		"card_unavailable": "Saving a card is not available right now.",
		"failed": "The service is not answering. Try again in a few minutes.",
		"too_many": "Too many requests. Try again in a few minutes.",
		"sent": "If this e-mail or number is on file, a link to your account was sent. It is valid for 24 hours.",
	},
}


def _money(value) -> str:
	return f"{float(value or 0):,.2f}".replace(",", " ")


def get_context(context):
	from gigafibre_fsm.customers import account

	context.no_cache = 1
	context.no_header = 1
	context.no_breadcrumbs = 1
	token = _NOT_TOKEN.sub("", str(frappe.form_dict.get("token") or ""))[:MAX_TOKEN]
	context.token = token
	context.account = None
	context.expired = False
	if token:
		try:
			context.account = account.summary(account.customer_for(token))
		except account.AccountLinkError:
			frappe.clear_messages()
			context.expired = True
	asked = str(frappe.form_dict.get("lang") or "").lower()[:2]
	if asked in LANGS:
		lang = asked
	elif context.account and context.account["language"] in LANGS:
		lang = context.account["language"]
	else:
		request = getattr(frappe.local, "request", None)
		lang = (request.accept_languages.best_match(LANGS) if request is not None else None) or "fr"
	context.lang = lang
	context.t = TEXT[lang]
	context.other_lang = "en" if lang == "fr" else "fr"
	context.title = context.t["title"]
	context.paid = str(frappe.form_dict.get("paid") or "") == "1"
	context.card_just_saved = bool(context.account) and str(frappe.form_dict.get("card") or "") == "saved"
	context.stripe_js = get_settings().stripe.js_url
	context.money = _money
	context.api = "/api/method/gigafibre_fsm.api.billing."
	return context
