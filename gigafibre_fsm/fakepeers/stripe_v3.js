/*
 * A fake of Stripe.js v3 (https://js.stripe.com/v3/), served by the fake Stripe peer
 * (gigafibre_fsm/fakepeers/stripe_cards.py) at <peer>/v3/ for browser tests without internet.
 *
 * Only the subset the account page (/compte/<token>) uses, as Stripe.js documents it
 * (https://docs.stripe.com/js):
 *   var stripe = Stripe(publishableKey[, options]);
 *   var elements = stripe.elements([options]);            // also elements({clientSecret})
 *   var card = elements.create("card" | "payment"[, options]);
 *   card.mount("#selector" | element); card.unmount(); card.on("change", fn);
 *   stripe.confirmCardSetup(clientSecret, {payment_method: {card: card}})
 *   stripe.confirmSetup({elements, clientSecret, confirmParams, redirect: "if_required"})
 * Both confirm calls resolve to {setupIntent: {id, status, payment_method, ...}} or to
 * {error: {type, code, message, ...}}, never reject, as Stripe.js does.
 *
 * The element is not Stripe's iframe: three plain inputs (card number, MM / YY, CVC) with
 * data-testid fake-card-number, fake-card-expiry, fake-card-cvc. Confirming POSTs Stripe's
 * documented "Confirm a SetupIntent" request to the peer that served this script
 * (POST /v1/setup_intents/{id}/confirm, form-encoded: key=<publishable key>,
 * client_secret, payment_method_data[type]=card, payment_method_data[card][number|exp_month|
 * exp_year|cvc]); the peer makes the PaymentMethod and sends the webhook events.
 */
(function () {
	"use strict";
	var script = document.currentScript;
	var API = script && script.src ? new URL(script.src).origin : window.location.origin;

	function field(testid, placeholder, mode) {
		var input = document.createElement("input");
		input.type = "text";
		input.setAttribute("data-testid", testid);
		input.setAttribute("placeholder", placeholder);
		input.setAttribute("inputmode", mode);
		input.setAttribute("autocomplete", "off");
		input.style.cssText = "font:inherit;border:0;outline:0;padding:4px;min-width:0;flex:1";
		return input;
	}

	function Element(type, options) {
		this.type = type;
		this.options = options || {};
		this.handlers = {};
		this.node = null;
	}
	Element.prototype.mount = function (target) {
		var parent = typeof target === "string" ? document.querySelector(target) : target;
		if (!parent) { throw new Error("Fake Stripe.js: mount target not found: " + target); }
		var box = document.createElement("div");
		box.className = "FakeStripeElement";
		box.setAttribute("data-testid", "fake-stripe-element");
		box.style.cssText = "display:flex;gap:6px";
		this.number = field("fake-card-number", "1234 1234 1234 1234", "numeric");
		this.expiry = field("fake-card-expiry", "MM / YY", "numeric");
		this.cvc = field("fake-card-cvc", "CVC", "numeric");
		box.appendChild(this.number);
		box.appendChild(this.expiry);
		box.appendChild(this.cvc);
		var self = this;
		box.addEventListener("input", function () {
			(self.handlers.change || []).forEach(function (fn) { fn({ elementType: self.type, complete: !self.problem() }); });
		});
		parent.appendChild(box);
		this.node = box;
		return this;
	};
	Element.prototype.unmount = function () {
		if (this.node && this.node.parentNode) { this.node.parentNode.removeChild(this.node); }
		this.node = null;
	};
	Element.prototype.destroy = Element.prototype.unmount;
	Element.prototype.on = function (name, fn) {
		(this.handlers[name] = this.handlers[name] || []).push(fn);
		return this;
	};
	Element.prototype.values = function () {
		var digits = (this.number ? this.number.value : "").replace(/\D/g, "");
		var expiry = (this.expiry ? this.expiry.value : "").replace(/\s/g, "").split("/");
		var year = (expiry[1] || "").replace(/\D/g, "");
		return {
			number: digits,
			exp_month: (expiry[0] || "").replace(/\D/g, ""),
			exp_year: year.length === 2 ? "20" + year : year,
			cvc: (this.cvc ? this.cvc.value : "").replace(/\D/g, "")
		};
	};
	Element.prototype.problem = function () {
		var v = this.values();
		if (v.number.length < 12) { return { code: "incomplete_number", message: "Your card number is incomplete." }; }
		var month = parseInt(v.exp_month, 10);
		if (!(month >= 1 && month <= 12) || v.exp_year.length !== 4) {
			return { code: "incomplete_expiry", message: "Your card's expiration date is incomplete." };
		}
		if (v.cvc.length < 3) { return { code: "incomplete_cvc", message: "Your card's security code is incomplete." }; }
		return null;
	};

	function Elements(stripe, options) {
		this.stripe = stripe;
		this.options = options || {};
		this.created = [];
	}
	Elements.prototype.create = function (type, options) {
		if (type !== "card" && type !== "payment") {
			throw new Error("Fake Stripe.js: element type " + type + " is not faked");
		}
		var element = new Element(type, options);
		this.created.push(element);
		return element;
	};
	Elements.prototype.getElement = function (type) {
		return this.created.filter(function (e) { return e.type === type; })[0] || null;
	};
	Elements.prototype.submit = function () {
		var element = this.created[0];
		var problem = element ? element.problem() : { message: "No element." };
		return Promise.resolve(problem ? { error: validation(problem) } : {});
	};

	function validation(problem) {
		return { type: "validation_error", code: problem.code, message: problem.message };
	}

	function confirm(stripe, clientSecret, element) {
		if (!element) { return Promise.resolve({ error: validation({ code: "no_element", message: "No card element." }) }); }
		var problem = element.problem();
		if (problem) { return Promise.resolve({ error: validation(problem) }); }
		var id = String(clientSecret || "").split("_secret_")[0];
		var v = element.values();
		var body = new URLSearchParams({
			key: stripe.key,
			client_secret: clientSecret,
			"payment_method_data[type]": "card",
			"payment_method_data[card][number]": v.number,
			"payment_method_data[card][exp_month]": v.exp_month,
			"payment_method_data[card][exp_year]": v.exp_year,
			"payment_method_data[card][cvc]": v.cvc
		});
		return fetch(API + "/v1/setup_intents/" + encodeURIComponent(id) + "/confirm", {
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
			body: body.toString()
		}).then(function (r) {
			return r.json().then(function (data) {
				if (!r.ok) { return { error: data.error || { type: "api_error", message: "HTTP " + r.status } }; }
				return { setupIntent: data };
			});
		}).catch(function (e) {
			return { error: { type: "api_connection_error", message: String(e && e.message || e) } };
		});
	}

	function Stripe(key, options) {
		if (!(this instanceof Stripe)) { return new Stripe(key, options); }
		if (!key || String(key).indexOf("pk_") !== 0) {
			throw new Error("Fake Stripe.js: Stripe() needs a publishable key (pk_...), got " + key);
		}
		this.key = String(key);
		this.options = options || {};
		this.fake = true;
	}
	Stripe.prototype.elements = function (options) {
		this._elements = new Elements(this, options);
		return this._elements;
	};
	Stripe.prototype.confirmCardSetup = function (clientSecret, data) {
		var card = data && data.payment_method && data.payment_method.card;
		return confirm(this, clientSecret, card || (this._elements && this._elements.getElement("card")));
	};
	Stripe.prototype.confirmSetup = function (params) {
		params = params || {};
		var elements = params.elements || this._elements;
		var secret = params.clientSecret || (elements && elements.options.clientSecret);
		return confirm(this, secret, elements && elements.created[0]);
	};
	window.Stripe = Stripe;
})();
