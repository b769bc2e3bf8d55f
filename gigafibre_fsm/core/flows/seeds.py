"""The system flow templates seeded with the app, as plain data.

gigafibre_fsm.flows.seeds installs them (is_system: duplicate to change); the
benchmarks read their conditions from here.
"""

from __future__ import annotations

HAS_CELL = {"!": {"blank": [{"var": "customer.cell_phone"}]}}
HAS_EMAIL = {"!": {"blank": [{"var": "customer.email_billing"}]}}
STILL_DUE = {">": [{"var": "doc.outstanding_amount"}, 0]}
HAS_CARD = {"!": {"blank": [{"var": "doc.gigafibre_payment_method"}]}}
DAY = 24 * 60  # minutes


def step(sid, label, kind, config=None, deps=(), parent=None, condition=None):
	return {
		"step_id": sid,
		"label": label,
		"kind": kind,
		"config": config or {},
		"depends_on": list(deps),
		"parent_step": parent,
		"condition": condition,
	}


SEEDS = [
	{
		"seed_key": "residential_installation",
		"title": "Installation fibre résidentielle",
		"category": "Project",
		"kind": "residential_installation",
		"applies_to": "Service Contract",
		"trigger_event": "on_contract_signed",
		"trigger_condition": {"==": [{"var": "doc.contract_type"}, "Residential"]},
		"description": "Contrat résidentiel signé → dossier d'installation, préparation, rendez-vous.",
		"steps": [
			step(
				"s1",
				"Dossier d'installation",
				"create_issue",
				{
					"subject": "Installation résidentielle {{doc.name}} — {{doc.customer}}",
					"description": "Contrat {{doc.name}} signé. Installation fibre à planifier.",
					"priority": "Medium",
				},
			),
			step("s2", "Préparation", "group", deps=["s1"]),
			step(
				"s3",
				"Réserver l'ONT et le modem",
				"create_todo",
				{
					"description": "Réserver l'ONT et le modem pour {{doc.customer}} ({{doc.name}})",
					"role": "Dispatcher",
				},
				parent="s2",
			),
			step(
				"s4",
				"Raccordement fibre",
				"create_dispatch_job",
				{
					"job_type": "Installation",
					"chain_kind": "Installation",
					"subject": "Raccordement fibre {{doc.name}}",
					"duration_minutes": 90,
					"issue_step": "s1",
				},
				deps=["s2"],
			),
			step(
				"s5",
				"Installation chez le client",
				"create_dispatch_job",
				{
					"job_type": "Installation",
					"chain_kind": "Installation",
					"subject": "Installation ONT et Wi-Fi {{doc.name}}",
					"duration_minutes": 120,
					"chain_root_step": "s4",
					"after_steps": ["s4"],
					"issue_step": "s1",
				},
				deps=["s4"],
			),
			step(
				"s6",
				"Confirmer le rendez-vous",
				"create_todo",
				{
					"description": "Confirmer le rendez-vous d'installation avec {{doc.customer}}",
					"role": "Customer Service",
				},
				deps=["s5"],
			),
		],
	},
	{
		"seed_key": "commercial_installation",
		"title": "Installation commerciale",
		"category": "Project",
		"kind": "commercial_installation",
		"applies_to": "Service Contract",
		"trigger_event": "on_contract_signed",
		"trigger_condition": {"==": [{"var": "doc.contract_type"}, "Commercial"]},
		"description": "Contrat commercial signé → dossier, étude de faisabilité approuvée, installation.",
		"steps": [
			step(
				"s1",
				"Dossier d'installation",
				"create_issue",
				{
					"subject": "Installation commerciale {{doc.name}} — {{doc.customer}}",
					"description": "Contrat commercial {{doc.name}} signé.",
					"priority": "High",
				},
			),
			step(
				"s2",
				"Étude de faisabilité",
				"create_todo",
				{
					"description": "Étude de faisabilité pour {{doc.customer}} ({{doc.name}})",
					"role": "Network Operator",
				},
				deps=["s1"],
			),
			step(
				"s3",
				"Approbation du projet",
				"approval",
				{"description": "Approuver l'installation commerciale {{doc.name}}", "role": "FSM Manager"},
				deps=["s2"],
			),
			step(
				"s4",
				"Travaux de raccordement",
				"create_dispatch_job",
				{
					"job_type": "Installation",
					"chain_kind": "Installation",
					"subject": "Raccordement commercial {{doc.name}}",
					"duration_minutes": 240,
					"priority": "High",
					"issue_step": "s1",
				},
				deps=["s3"],
				condition={"==": [{"var": "steps.s3.approved"}, True]},
			),
			step(
				"s5",
				"Mise en service",
				"create_dispatch_job",
				{
					"job_type": "Installation",
					"chain_kind": "Installation",
					"subject": "Mise en service commerciale {{doc.name}}",
					"duration_minutes": 180,
					"chain_root_step": "s4",
					"after_steps": ["s4"],
					"issue_step": "s1",
				},
				deps=["s4"],
			),
		],
	},
	{
		"seed_key": "repair",
		"title": "Appel de réparation",
		"category": "Project",
		"kind": "repair",
		"applies_to": "Issue",
		"trigger_event": "on_insert",
		"trigger_condition": {"in_list": [{"var": "doc.issue_type"}, ["Repair", "Réparation"]]},
		"description": "Billet de réparation → diagnostic à distance, puis visite si nécessaire.",
		"steps": [
			step(
				"s1",
				"Diagnostic à distance",
				"create_todo",
				{
					"description": "Diagnostiquer à distance : {{doc.subject}}",
					"role": "Network Operator",
					"priority": "High",
				},
			),
			step(
				"s2",
				"Planifier une visite",
				"create_todo",
				{"description": "Planifier une visite de réparation : {{doc.subject}}", "role": "Dispatcher"},
				deps=["s1"],
			),
		],
	},
	{
		"seed_key": "relocation",
		"title": "Déménagement",
		"category": "Project",
		"kind": "relocation",
		"applies_to": "Customer",
		"trigger_event": "manual",
		"description": "Déménagement d'un client : retrait à l'ancienne adresse, installation à la nouvelle.",
		"steps": [
			step(
				"s1",
				"Dossier de déménagement",
				"create_issue",
				{
					"subject": "Déménagement — {{doc.customer_name}}",
					"description": "Déménagement du client {{doc.name}}.",
				},
			),
			step(
				"s2",
				"Retrait à l'ancienne adresse",
				"create_todo",
				{
					"description": "Planifier le retrait de l'équipement de {{doc.customer_name}}",
					"role": "Dispatcher",
				},
				deps=["s1"],
			),
			step(
				"s3",
				"Installation à la nouvelle adresse",
				"create_todo",
				{
					"description": "Planifier l'installation à la nouvelle adresse de {{doc.customer_name}}",
					"role": "Dispatcher",
				},
				deps=["s1"],
			),
			step(
				"s4",
				"Mettre à jour la facturation",
				"create_todo",
				{
					"description": "Mettre à jour l'adresse de service et la facturation de {{doc.customer_name}}",
					"role": "Customer Service",
				},
				deps=["s2", "s3"],
			),
		],
	},
	{
		"seed_key": "voip_activation",
		"title": "Activation de ligne VoIP",
		"category": "Project",
		"kind": "voip_activation",
		"applies_to": "Service Subscription",
		"trigger_event": "manual",
		"description": "Activer une ligne téléphonique : portabilité, configuration, avis au client.",
		"steps": [
			step(
				"s1",
				"Portabilité du numéro",
				"create_todo",
				{
					"description": "Demander la portabilité du numéro pour {{doc.customer}} ({{doc.name}})",
					"role": "Customer Service",
				},
			),
			step(
				"s2",
				"Configurer le téléphone IP",
				"create_todo",
				{
					"description": "Configurer le compte SIP et le téléphone IP de {{doc.customer}}",
					"role": "Network Operator",
				},
			),
			step(
				"s3",
				"Aviser le client",
				"send_sms",
				{
					"to": "{{customer.cell_phone}}",
					"body": "Gigafibre : votre ligne téléphonique est en cours d'activation. Nous vous confirmerons la date de mise en service.",
				},
				deps=["s1", "s2"],
				condition=HAS_CELL,
			),
		],
	},
	{
		"seed_key": "post_signature_ack",
		"title": "Accusé de réception du contrat (SMS)",
		"category": "Agent",
		"kind": "post_signature_ack",
		"applies_to": "Service Contract",
		"trigger_event": "on_contract_signed",
		"description": "Dès la signature : SMS « Bon de commande reçu » au client.",
		"steps": [
			step(
				"s1",
				"SMS d'accusé de réception",
				"send_sms",
				{
					"to": "{{customer.cell_phone}}",
					"body": "Gigafibre : Bon de commande reçu ({{doc.name}}). Nous vous contacterons pour planifier l'installation. Merci !",
				},
				condition=HAS_CELL,
			),
		],
	},
	{
		"seed_key": "repair_follow_up",
		"title": "Suivi après réparation",
		"category": "Agent",
		"kind": "repair_follow_up",
		"applies_to": "Issue",
		"trigger_event": "on_update",
		"trigger_condition": {
			"and": [
				{"==": [{"var": "doc.status"}, "Closed"]},
				{"in_list": [{"var": "doc.issue_type"}, ["Repair", "Réparation"]]},
			]
		},
		"description": "48 h après la fermeture d'un billet de réparation : SMS de suivi.",
		"steps": [
			step("s1", "Attendre 48 h", "wait", {"delay_minutes": 2880}),
			step(
				"s2",
				"SMS de suivi",
				"send_sms",
				{
					"to": "{{customer.cell_phone}}",
					"body": "Gigafibre : votre service fonctionne-t-il bien depuis notre intervention ? Répondez à ce message au besoin.",
				},
				deps=["s1"],
				condition=HAS_CELL,
			),
		],
	},
	# Outages (gigafibre_fsm.network.outages): fired on each affected Customer, once per outage
	# (the outage is the event's occurrence); opted-out numbers are skipped by send_sms.
	{
		"seed_key": "outage_started_sms",
		"title": "Avis de panne aux clients touchés (SMS)",
		"category": "Agent",
		"kind": "outage_notice",
		"applies_to": "Customer",
		"trigger_event": "on_outage_started",
		"description": "Une panne touche le secteur du client : un SMS au début de la panne.",
		"steps": [
			step(
				"s1",
				"SMS de début de panne",
				"send_sms",
				{
					"to": "{{customer.cell_phone}}",
					"body": "Gigafibre : une panne touche présentement le service dans votre secteur. Nos équipes y travaillent ; nous vous écrirons dès le retour du service. Inutile de nous appeler.",
				},
				condition=HAS_CELL,
			),
		],
	},
	{
		"seed_key": "outage_resolved_sms",
		"title": "Fin de panne aux clients touchés (SMS)",
		"category": "Agent",
		"kind": "outage_notice",
		"applies_to": "Customer",
		"trigger_event": "on_outage_resolved",
		"description": "La panne est réglée : un SMS de retour du service aux clients avisés au début.",
		"steps": [
			step(
				"s1",
				"SMS de fin de panne",
				"send_sms",
				{
					"to": "{{customer.cell_phone}}",
					"body": "Gigafibre : le service est rétabli dans votre secteur. Merci de votre patience ! Si votre connexion ne revient pas, redémarrez votre modem ou répondez à ce message.",
				},
				condition=HAS_CELL,
			),
		],
	},
	{
		"seed_key": "payment_reminder",
		"title": "Rappel de paiement en retard",
		"category": "Agent",
		"kind": "payment_reminder",
		"applies_to": "Sales Invoice",
		"trigger_event": "on_payment_overdue",
		"trigger_condition": STILL_DUE,
		"description": "Facture impayée : SMS et courriel avec le lien de paiement à échéance + 5 et + 15 jours, "
		"billet pour la facturation à + 30 jours (chaque étape seulement si un solde reste dû).",
		"steps": [
			step("s1", "Lien de paiement", "payment_link"),
			step(
				"s2",
				"SMS à échéance + 5 jours",
				"send_sms",
				{
					"to": "{{customer.cell_phone}}",
					"body": "Gigafibre : votre facture {{doc.name}} ({{steps.s1.outstanding}} $) était due le {{doc.due_date}}. "
					"Payez en ligne / Pay online : {{steps.s1.url}}",
				},
				deps=["s1"],
				condition={"and": [STILL_DUE, HAS_CELL]},
			),
			step(
				"s3",
				"Courriel à échéance + 5 jours",
				"send_email",
				{
					"recipients": "{{customer.email_billing}}",
					"subject": "Gigafibre : facture {{doc.name}} en retard / overdue invoice",
					"message": "<p>Bonjour,</p><p>Votre facture {{doc.name}} de {{steps.s1.outstanding}} $ était due le "
					"{{doc.due_date}}. Vous pouvez la payer en ligne : "
					'<a href="{{steps.s1.url}}">{{steps.s1.url}}</a></p><hr>'
					"<p>Hello,</p><p>Your invoice {{doc.name}} of {{steps.s1.outstanding}} $ was due on "
					'{{doc.due_date}}. Pay it online: <a href="{{steps.s1.url}}">{{steps.s1.url}}</a></p>',
				},
				deps=["s1"],
				condition={"and": [STILL_DUE, HAS_EMAIL]},
			),
			step(
				"s4",
				"Attendre l'échéance + 15 jours",
				"wait",
				{"until_field": "due_date", "offset_minutes": 15 * DAY},
				deps=["s2", "s3"],
			),
			step(
				"s5",
				"SMS à échéance + 15 jours",
				"send_sms",
				{
					"to": "{{customer.cell_phone}}",
					"body": "Gigafibre : rappel, votre facture {{doc.name}} est impayée depuis le {{doc.due_date}}. "
					"Payez en ligne / Pay online : {{steps.s1.url}}",
				},
				deps=["s4"],
				condition={"and": [STILL_DUE, HAS_CELL]},
			),
			step(
				"s6",
				"Courriel à échéance + 15 jours",
				"send_email",
				{
					"recipients": "{{customer.email_billing}}",
					"subject": "Gigafibre : 2e rappel, facture {{doc.name}} / second reminder",
					"message": "<p>Bonjour,</p><p>Votre facture {{doc.name}} est impayée depuis le {{doc.due_date}}. "
					'Payez-la en ligne : <a href="{{steps.s1.url}}">{{steps.s1.url}}</a></p><hr>'
					"<p>Hello,</p><p>Your invoice {{doc.name}} is unpaid since {{doc.due_date}}. "
					'Pay it online: <a href="{{steps.s1.url}}">{{steps.s1.url}}</a></p>',
				},
				deps=["s4"],
				condition={"and": [STILL_DUE, HAS_EMAIL]},
			),
			step(
				"s7",
				"Attendre l'échéance + 30 jours",
				"wait",
				{"until_field": "due_date", "offset_minutes": 30 * DAY},
				deps=["s5", "s6"],
			),
			step(
				"s8",
				"Billet pour la facturation",
				"create_issue",
				{
					"subject": "Facture {{doc.name}} impayée depuis 30 jours — {{doc.customer_name}}",
					"description": "La facture {{doc.name}} ({{doc.outstanding_amount}} $ dus, échéance {{doc.due_date}}) "
					"est impayée malgré deux rappels. Communiquer avec le client {{doc.customer}}.",
					"priority": "Medium",
				},
				deps=["s7"],
				condition=STILL_DUE,
			),
		],
	},
	# Saved cards (gigafibre_fsm.customers.saved_cards.warn_expiring): fired on the Customer once per
	# card and expiry, in the month before the card's last month (or in that month).
	{
		"seed_key": "card_expiring",
		"title": "Avis de carte bientôt expirée",
		"category": "Agent",
		"kind": "card_expiry_notice",
		"applies_to": "Customer",
		"trigger_event": "on_card_expiring",
		"trigger_condition": HAS_CARD,
		"description": "La carte enregistrée pour le paiement automatique expire ce mois-ci ou le mois prochain : "
		"SMS et courriel avec un lien vers le compte pour enregistrer une nouvelle carte.",
		"steps": [
			step("s1", "Lien vers le compte", "account_link"),
			step(
				"s2",
				"SMS carte bientôt expirée",
				"send_sms",
				{
					"to": "{{customer.cell_phone}}",
					"body": "Gigafibre : votre carte se terminant par {{doc.gigafibre_card_last4}} expire le "
					"{{doc.gigafibre_card_expiry}}. Enregistrez une nouvelle carte / Your card ending in "
					"{{doc.gigafibre_card_last4}} expires {{doc.gigafibre_card_expiry}}. Save a new card: {{steps.s1.url}}",
				},
				deps=["s1"],
				condition=HAS_CELL,
			),
			step(
				"s3",
				"Courriel carte bientôt expirée",
				"send_email",
				{
					"recipients": "{{customer.email_billing}}",
					"subject": "Gigafibre : votre carte expire bientôt / your card expires soon",
					"message": "<p>Bonjour,</p><p>La carte se terminant par {{doc.gigafibre_card_last4}} que vous avez "
					"enregistrée pour le paiement automatique expire le {{doc.gigafibre_card_expiry}}. Pour que vos "
					'factures continuent d\'être payées, enregistrez une nouvelle carte : <a href="{{steps.s1.url}}">'
					"{{steps.s1.url}}</a> (lien valide 24 heures).</p><hr><p>Hello,</p><p>The card ending in "
					"{{doc.gigafibre_card_last4}} you saved for automatic payment expires {{doc.gigafibre_card_expiry}}. "
					'To keep your invoices paid, save a new card: <a href="{{steps.s1.url}}">{{steps.s1.url}}</a> '
					"(link valid for 24 hours).</p>",
				},
				deps=["s1"],
				condition=HAS_EMAIL,
			),
		],
	},
]
