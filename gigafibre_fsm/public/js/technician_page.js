// The technician page /t/<token>: plain JS, no build step (inlined by www/t.py).
//
// Every change the technician makes is an action with a stable UUID, put in an
// outbox in localStorage first and then sent; the outbox is replayed on load, on the
// browser's "online" event and every 20 s. A photo (or a label scan) waits in IndexedDB,
// which holds far more than localStorage's few megabytes; its action in the outbox
// names it (photo_ref). Where IndexedDB is unavailable (some private modes) the photo
// stays inline in the action. The server applies an action id once and
// answers a replay with the first result, so sending twice is harmless.
(function () {
	"use strict";

	var CONFIG = JSON.parse(document.getElementById("gf-config").textContent);
	var TOKEN = CONFIG.token;
	var API = CONFIG.api;
	var LANG = /^en\b/i.test(navigator.language || "") ? "en" : "fr";
	document.documentElement.lang = LANG;
	var SUBJECT = CONFIG.technician;
	var OUTBOX_KEY = "gf_tech_outbox:" + SUBJECT;
	var CACHE_KEY = "gf_tech_jobs:" + SUBJECT;
	var REPLAY_EVERY_MS = 20000;
	var REFRESH_EVERY_MS = 120000;
	var MAX_PHOTO_SIDE = 1600;

	var L = {
		fr: {
			today: "Aujourd'hui",
			upcoming: "À venir",
			offers: "Offres",
			no_jobs: "Aucun travail prévu.",
			pending: "En attente : {0}",
			online: "En ligne",
			offline: "Hors ligne",
			queued: "en attente d'envoi",
			saved_offline: "Enregistré : sera envoyé au retour du réseau.",
			sent: "Envoyé.",
			not_applied: "Refusé : {0}",
			link_expired: "Ce lien a expiré ou n'est plus valide. Demandez un nouveau lien au répartiteur.",
			refresh_failed: "Hors ligne : affichage de la dernière liste reçue.",
			directions: "Itinéraire",
			window: "Plage",
			duration: "{0} min",
			customer: "Client",
			access: "Accès",
			checklist: "Liste de vérification",
			notes: "Notes",
			photos: "Photos : {0}",
			add_note: "Ajouter une note",
			note_placeholder: "Votre note…",
			save_note: "Enregistrer la note",
			add_photo: "Ajouter une photo",
			scan_label: "Scanner l'étiquette",
			scan_done: "Étiquette lue : {0}",
			photo_failed: "Impossible de lire cette photo.",
			storage_full: "Mémoire du téléphone pleine : envoyez les actions en attente d'abord.",
			accept: "Accepter",
			decline: "Refuser",
			decline_reason: "Raison du refus",
			confirm_decline: "Confirmer le refus",
			reason_needed: "Indiquez une raison.",
			price: "{0} $",
			expires: "Expire {0}",
			overload: "Surcharge",
			unscheduled: "Non planifié",
			cancel: "Annuler",
			to: {
				"En Route": "En route",
				"On Site": "Arrivé sur place",
				Completed: "Terminer",
				Assigned: "Retour à assigné",
			},
			status: {
				Assigned: "Assigné",
				"En Route": "En route",
				"On Site": "Sur place",
				Completed: "Terminé",
				Cancelled: "Annulé",
				Offered: "Offert",
				Draft: "Brouillon",
			},
			type: {
				Installation: "Installation",
				Repair: "Réparation",
				Maintenance: "Entretien",
				Removal: "Retrait",
			},
		},
		en: {
			today: "Today",
			upcoming: "Upcoming",
			offers: "Offers",
			no_jobs: "No jobs planned.",
			pending: "Pending: {0}",
			online: "Online",
			offline: "Offline",
			queued: "waiting to send",
			saved_offline: "Saved: it will be sent when the network is back.",
			sent: "Sent.",
			not_applied: "Refused: {0}",
			link_expired: "This link has expired or is no longer valid. Ask dispatch for a new one.",
			refresh_failed: "Offline: showing the last list received.",
			directions: "Directions",
			window: "Window",
			duration: "{0} min",
			customer: "Customer",
			access: "Access",
			checklist: "Checklist",
			notes: "Notes",
			photos: "Photos: {0}",
			add_note: "Add a note",
			note_placeholder: "Your note…",
			save_note: "Save note",
			add_photo: "Add a photo",
			scan_label: "Scan label",
			scan_done: "Label read: {0}",
			photo_failed: "Could not read this photo.",
			storage_full: "Phone storage is full: send the pending actions first.",
			accept: "Accept",
			decline: "Decline",
			decline_reason: "Reason for declining",
			confirm_decline: "Confirm decline",
			reason_needed: "Give a reason.",
			price: "${0}",
			expires: "Expires {0}",
			overload: "Overload",
			unscheduled: "Not scheduled",
			cancel: "Cancel",
			to: {
				"En Route": "On my way",
				"On Site": "Arrived on site",
				Completed: "Complete",
				Assigned: "Back to assigned",
			},
			status: {
				Assigned: "Assigned",
				"En Route": "En route",
				"On Site": "On site",
				Completed: "Completed",
				Cancelled: "Cancelled",
				Offered: "Offered",
				Draft: "Draft",
			},
			type: {
				Installation: "Installation",
				Repair: "Repair",
				Maintenance: "Maintenance",
				Removal: "Removal",
			},
		},
	}[LANG];

	// What the page shows while an action waits in the outbox (the server decides).
	var NEXT = {
		Assigned: ["En Route", "On Site"],
		"En Route": ["On Site", "Assigned"],
		"On Site": ["Completed"],
	};

	var state = { data: null, flushing: false, expired: false };

	// -- helpers ----------------------------------------------------------------------

	function t(key) {
		var text = L[key] || key;
		for (var i = 1; i < arguments.length; i++) text = text.replace("{" + (i - 1) + "}", arguments[i]);
		return text;
	}

	function el(tag, attrs, children) {
		var node = document.createElement(tag);
		Object.keys(attrs || {}).forEach(function (k) {
			if (k === "text") node.textContent = attrs[k];
			else if (k === "class") node.className = attrs[k];
			else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
			else node.setAttribute(k, attrs[k]);
		});
		(children || []).forEach(function (c) {
			if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
		});
		return node;
	}

	function uuid() {
		if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
		var b = new Uint8Array(16);
		crypto.getRandomValues(b);
		b[6] = (b[6] & 0x0f) | 0x40;
		b[8] = (b[8] & 0x3f) | 0x80;
		var h = Array.prototype.map.call(b, function (x) {
			return (x + 0x100).toString(16).slice(1);
		});
		return [h.slice(0, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10), h.slice(10)]
			.map(function (p) {
				return p.join("");
			})
			.join("-");
	}

	function load(key, fallback) {
		try {
			var raw = localStorage.getItem(key);
			return raw ? JSON.parse(raw) : fallback;
		} catch (e) {
			return fallback;
		}
	}

	function store(key, value) {
		try {
			localStorage.setItem(key, JSON.stringify(value));
			return true;
		} catch (e) {
			return false;
		}
	}

	var toastTimer = null;
	function toast(text, isError) {
		var node = document.getElementById("gf-toast");
		node.textContent = text;
		node.className = "toast" + (isError ? " error" : "");
		clearTimeout(toastTimer);
		toastTimer = setTimeout(function () {
			node.className = "toast hidden";
		}, isError ? 6000 : 2500);
	}

	// "2026-03-04 09:30:00" (site time) → "09:30" today, "jeu. 5 mars 09:30" later.
	function when(value, withDay) {
		if (!value) return "";
		var parts = value.split(" ");
		var time = (parts[1] || "").slice(0, 5);
		if (!withDay) return time;
		var d = new Date(parts[0] + "T00:00:00");
		var day = isNaN(d)
			? parts[0]
			: d.toLocaleDateString(LANG === "fr" ? "fr-CA" : "en-CA", {
					weekday: "short",
					day: "numeric",
					month: "short",
			  });
		return (day + " " + time).trim();
	}

	function isToday(value, today) {
		return !!value && value.slice(0, 10) === today;
	}

	// -- the outbox -------------------------------------------------------------------

	function outbox() {
		return load(OUTBOX_KEY, []);
	}

	function saveOutbox(items) {
		return store(OUTBOX_KEY, items);
	}

	// -- photos waiting in IndexedDB ---------------------------------------------------

	var PHOTO_DB = "gf_tech_photos";
	var photoDb = null;

	function openPhotos() {
		if (photoDb) return photoDb;
		photoDb = new Promise(function (resolve, reject) {
			if (!window.indexedDB) return reject(new Error("no IndexedDB"));
			var req = indexedDB.open(PHOTO_DB, 1);
			req.onupgradeneeded = function () {
				req.result.createObjectStore("photos");
			};
			req.onsuccess = function () {
				resolve(req.result);
			};
			req.onerror = function () {
				reject(req.error);
			};
		});
		photoDb.catch(function () {
			photoDb = null;
		});
		return photoDb;
	}

	function photoTx(mode, work) {
		return openPhotos().then(function (db) {
			return new Promise(function (resolve, reject) {
				var tx = db.transaction("photos", mode);
				var req = work(tx.objectStore("photos"));
				tx.oncomplete = function () {
					resolve(req && req.result);
				};
				tx.onerror = tx.onabort = function () {
					reject(tx.error);
				};
			});
		});
	}

	function putPhoto(id, dataUrl) {
		return photoTx("readwrite", function (store) {
			return store.put(dataUrl, id);
		});
	}

	function getPhoto(id) {
		return photoTx("readonly", function (store) {
			return store.get(id);
		});
	}

	function dropPhoto(id) {
		return photoTx("readwrite", function (store) {
			return store.delete(id);
		}).catch(function () {});
	}

	// The action as it is sent: its photo read back from IndexedDB (null: the photo is gone).
	function withPhoto(action) {
		var payload = Object.assign({}, action);
		delete payload.label;
		if (!payload.photo_ref) return Promise.resolve(payload);
		var ref = payload.photo_ref;
		delete payload.photo_ref;
		return getPhoto(ref).then(
			function (photo) {
				if (!photo) return null;
				payload.photo = photo;
				return payload;
			},
			function () {
				return undefined; // IndexedDB unavailable now: try again later
			}
		);
	}

	// A photo action: its photo into IndexedDB first, inline where that fails.
	function enqueuePhoto(action) {
		var id = uuid();
		return putPhoto(id, action.photo).then(
			function () {
				var ref = Object.assign({}, action, { photo_ref: id });
				delete ref.photo;
				if (!enqueue(ref, id)) dropPhoto(id);
			},
			function () {
				enqueue(action);
			}
		);
	}

	function enqueue(action, id) {
		action.id = id || uuid();
		action.at = new Date().toISOString();
		var items = outbox();
		items.push(action);
		if (!saveOutbox(items)) {
			toast(t("storage_full"), true);
			return false;
		}
		render();
		if (!navigator.onLine) toast(t("saved_offline"));
		flush();
		return true;
	}

	function removeFromOutbox(id) {
		dropPhoto(id);
		saveOutbox(
			outbox().filter(function (a) {
				return a.id !== id;
			})
		);
	}

	// POST/GET to the app's endpoints (page_api.js, inlined before this script).
	// Resolves {ok, status, data, message, body}; a network failure resolves with status 0.
	function call(method, payload, httpMethod) {
		return window.gigafibrePage.call(API, method, payload, httpMethod);
	}

	function isLinkError(res) {
		return res.status === 403 && res.body && /TechnicianLinkError/.test(res.body.exc_type || "");
	}

	function inProgress(res) {
		// the same action is being applied by another request (409 ActionInProgressError);
		// any other 409 (the job was taken…) is a refusal for good
		return res.status === 409 && res.body && /ActionInProgressError/.test(res.body.exc_type || "");
	}

	// Send the outbox in order; stop at the first transient failure (network, server
	// error, rate limit, the same action still being applied) and try again later.
	function flush() {
		if (state.flushing || state.expired) return Promise.resolve();
		state.flushing = true;
		var applied = 0;
		function next() {
			var items = outbox();
			if (!items.length) return Promise.resolve();
			var action = items[0];
			return withPhoto(action).then(function (payload) {
				if (payload === undefined) return; // the photo cannot be read now: later
				if (payload === null) {
					// the browser lost the photo (storage cleared): nothing left to send
					removeFromOutbox(action.id);
					toast(t("photo_failed"), true);
					return next();
				}
				return send(action, payload);
			});
		}
		function send(action, payload) {
			return call("act", { token: TOKEN, action: payload }).then(function (res) {
				if (res.ok) {
					removeFromOutbox(action.id);
					applied++;
					if (action.type === "scan_label" && res.data && res.data.result) scanned(res.data.result);
					return next();
				}
				if (isLinkError(res)) {
					expire();
					return;
				}
				if (res.status === 0 || res.status >= 500 || res.status === 429 || inProgress(res)) {
					return; // transient: keep it, retry later
				}
				// Refused for good (the job moved on, the offer was taken…): drop it, say why.
				removeFromOutbox(action.id);
				toast(t("not_applied", res.message || res.status), true);
				applied++;
				return next();
			});
		}
		return next()
			.catch(function () {})
			.then(function () {
				state.flushing = false;
				render();
				if (applied) return refresh();
			});
	}

	// -- data -------------------------------------------------------------------------

	function refresh() {
		return call("get_jobs", { token: TOKEN }, "GET").then(function (res) {
			if (res.ok) {
				state.data = res.data;
				store(CACHE_KEY, res.data);
			} else if (isLinkError(res)) {
				expire();
				return;
			} else {
				if (!state.data) state.data = load(CACHE_KEY, null);
				if (res.status === 0) toast(t("refresh_failed"));
				else toast(t("not_applied", res.message || res.status), true);
			}
			render();
		});
	}

	function expire() {
		state.expired = true;
		var main = document.getElementById("gf-main");
		main.textContent = "";
		main.appendChild(el("div", { class: "card", "data-testid": "link-expired" }, [el("p", { text: t("link_expired") })]));
	}

	// -- rendering --------------------------------------------------------------------

	function render() {
		var pending = outbox();
		var count = document.getElementById("gf-pending");
		count.textContent = String(pending.length);
		count.title = t("pending", pending.length);
		count.classList.toggle("hidden", pending.length === 0);
		var net = document.getElementById("gf-net");
		net.textContent = navigator.onLine ? t("online") : t("offline");
		net.className = "pill" + (navigator.onLine ? "" : " offline");
		if (state.expired) return;
		var data = state.data;
		if (!data) return;
		document.getElementById("gf-title").textContent = data.technician.technician_name || "Gigafibre";
		var main = document.getElementById("gf-main");
		var keep = captureInputs(main);
		main.textContent = "";

		var byJob = {};
		var byOffer = {};
		pending.forEach(function (a) {
			if (a.job) (byJob[a.job] = byJob[a.job] || []).push(a);
			if (a.offer) byOffer[a.offer] = a;
		});

		var offers = data.offers.filter(function (o) {
			return !byOffer[o.name];
		});
		if (offers.length) {
			main.appendChild(el("h2", { text: t("offers") }));
			offers.forEach(function (o) {
				main.appendChild(offerCard(o));
			});
		}
		var today = [];
		var later = [];
		data.jobs.forEach(function (j) {
			var day = j.scheduled_start || j.window_start;
			if (j.status === "Completed" || isToday(day, data.today) || (day && day.slice(0, 10) < data.today))
				today.push(j);
			else later.push(j);
		});
		main.appendChild(el("h2", { text: t("today") }));
		if (!today.length) main.appendChild(el("p", { class: "empty", text: t("no_jobs") }));
		today.forEach(function (j) {
			main.appendChild(jobCard(j, byJob[j.name] || [], false));
		});
		if (later.length) {
			main.appendChild(el("h2", { text: t("upcoming") }));
			later.forEach(function (j) {
				main.appendChild(jobCard(j, byJob[j.name] || [], true));
			});
		}
		restoreInputs(main, keep);
	}

	// Keep what the technician is typing across re-renders.
	function captureInputs(root) {
		var kept = {};
		root.querySelectorAll("textarea[data-key], input[type=text][data-key]").forEach(function (n) {
			if (n.value) kept[n.getAttribute("data-key")] = n.value;
		});
		return kept;
	}

	function restoreInputs(root, kept) {
		Object.keys(kept).forEach(function (k) {
			var n = root.querySelector('[data-key="' + k + '"]');
			if (n) {
				n.value = kept[k];
				var box = n.closest(".note-box, .decline-box");
				if (box) box.classList.remove("hidden");
			}
		});
	}

	function jobCard(job, pending, withDay) {
		var status = job.status;
		pending.forEach(function (a) {
			if (a.type === "set_status") status = a.status;
		});
		var queuedStatus = status !== job.status;
		var card = el("section", {
			class: "card" + (status === "Completed" ? " done" : ""),
			"data-testid": "job",
			"data-job": job.name,
		});
		var start = job.scheduled_start
			? when(job.scheduled_start, withDay)
			: job.window_start
			? when(job.window_start, withDay) + "–" + when(job.window_end, false)
			: t("unscheduled");
		card.appendChild(
			el("div", { class: "row" }, [
				el("span", { class: "when", text: start }),
				el("span", { class: "type", text: (L.type[job.job_type] || job.job_type || "") + " · " + job.name }),
				el("span", {
					class: "status" + (queuedStatus ? " queued" : ""),
					"data-testid": "job-status",
					text: (L.status[status] || status) + (queuedStatus ? " (" + t("queued") + ")" : ""),
				}),
			])
		);
		card.appendChild(el("div", { class: "subject", text: job.subject || job.name }));
		if (job.customer_name) card.appendChild(el("div", { class: "meta", text: t("customer") + " : " + job.customer_name }));
		var address = [job.address_line, job.city, job.postal_code].filter(Boolean).join(", ");
		if (address || job.latitude) {
			var dest = job.latitude && job.longitude ? job.latitude + "," + job.longitude : address;
			card.appendChild(
				el("div", { class: "meta" }, [
					address + " ",
					el("a", {
						href: "https://www.google.com/maps/dir/?api=1&destination=" + encodeURIComponent(dest),
						target: "_blank",
						rel: "noopener",
						text: t("directions"),
					}),
				])
			);
		}
		if (job.window_start && job.scheduled_start)
			card.appendChild(
				el("div", {
					class: "meta",
					text: t("window") + " : " + when(job.window_start, withDay) + "–" + when(job.window_end, false),
				})
			);
		if (job.access_notes) card.appendChild(el("div", { class: "meta", text: t("access") + " : " + job.access_notes }));
		if (job.checklist && job.checklist.length) {
			card.appendChild(
				el(
					"ul",
					{ class: "checklist", "aria-label": t("checklist") },
					job.checklist.map(function (c) {
						return el("li", { class: c.done ? "done" : "", text: c.item });
					})
				)
			);
		}
		var queuedNotes = pending.filter(function (a) {
			return a.type === "add_note";
		});
		if (job.notes || queuedNotes.length) {
			var notes = el("div", { class: "notes", "data-testid": "job-notes" }, [job.notes || ""]);
			queuedNotes.forEach(function (a) {
				notes.appendChild(el("div", { class: "queued-note", text: "(" + t("queued") + ") " + a.note }));
			});
			card.appendChild(notes);
		}
		var queuedPhotos = pending.filter(function (a) {
			return a.type === "add_photo";
		}).length;
		if (job.photo_count || queuedPhotos)
			card.appendChild(
				el("div", {
					class: "meta",
					text: t("photos", job.photo_count) + (queuedPhotos ? " (+" + queuedPhotos + " " + t("queued") + ")" : ""),
				})
			);

		var actions = el("div", { class: "actions" });
		var next = queuedStatus ? NEXT[status] || [] : job.next_statuses || [];
		next.forEach(function (s) {
			actions.appendChild(
				el("button", {
					type: "button",
					class: s === "Assigned" ? "secondary" : "",
					"data-testid": "status-button",
					"data-status": s,
					text: L.to[s] || s,
					onclick: function () {
						enqueue({ type: "set_status", job: job.name, status: s });
					},
				})
			);
		});
		if (status !== "Cancelled") {
			var noteBox = el("div", { class: "note-box hidden" }, [
				el("textarea", { rows: "3", placeholder: t("note_placeholder"), "data-key": "note:" + job.name, "data-testid": "note-input" }),
				el("button", {
					type: "button",
					"data-testid": "note-save",
					text: t("save_note"),
					onclick: function () {
						var area = noteBox.querySelector("textarea");
						var text = area.value.trim();
						if (!text) return;
						area.value = "";
						enqueue({ type: "add_note", job: job.name, note: text });
					},
				}),
			]);
			actions.appendChild(
				el("button", {
					type: "button",
					class: "secondary",
					"data-testid": "note-open",
					text: t("add_note"),
					onclick: function () {
						noteBox.classList.toggle("hidden");
						noteBox.querySelector("textarea").focus();
					},
				})
			);
			var file = el("input", {
				type: "file",
				accept: "image/*",
				capture: "environment",
				"data-testid": "photo-input",
				onchange: function () {
					var chosen = file.files && file.files[0];
					file.value = "";
					if (chosen) addPhoto(job.name, chosen);
				},
			});
			actions.appendChild(el("label", { class: "button secondary", "data-testid": "photo-button" }, [t("add_photo"), file]));
			// A label photo is queued like any action: sent when the network allows, retried after
			// a timeout, and its result lands on this job whatever screen is open by then.
			var scanFile = el("input", {
				type: "file",
				accept: "image/*",
				capture: "environment",
				"data-testid": "scan-input",
				onchange: function () {
					var chosen = scanFile.files && scanFile.files[0];
					scanFile.value = "";
					if (chosen) addPhoto(job.name, chosen, "scan_label");
				},
			});
			actions.appendChild(el("label", { class: "button secondary", "data-testid": "scan-button" }, [t("scan_label"), scanFile]));
			card.appendChild(actions);
			card.appendChild(noteBox);
		} else {
			card.appendChild(actions);
		}
		return card;
	}

	function offerCard(offer) {
		var card = el("section", { class: "card", "data-testid": "offer", "data-offer": offer.name });
		var start = offer.scheduled_start
			? when(offer.scheduled_start, true)
			: offer.window_start
			? when(offer.window_start, true) + "–" + when(offer.window_end, false)
			: t("unscheduled");
		card.appendChild(
			el("div", { class: "row" }, [
				el("span", { class: "when", text: start }),
				el("span", { class: "type", text: (L.type[offer.job_type] || offer.job_type || "") + " · " + offer.job }),
				offer.price ? el("span", { class: "status", text: t("price", offer.price) }) : null,
			])
		);
		card.appendChild(el("div", { class: "subject", text: offer.subject || offer.job }));
		var meta = [offer.city, offer.duration_minutes ? t("duration", offer.duration_minutes) : null];
		if (offer.expires_at) meta.push(t("expires", when(offer.expires_at, true)));
		if (offer.overload) meta.push(t("overload"));
		card.appendChild(el("div", { class: "meta", text: meta.filter(Boolean).join(" · ") }));
		var reason = el("input", { type: "text", placeholder: t("decline_reason"), "data-key": "reason:" + offer.name, "data-testid": "decline-reason" });
		var declineBox = el("div", { class: "decline-box hidden" }, [
			reason,
			el("div", { class: "actions" }, [
				el("button", {
					type: "button",
					class: "danger",
					"data-testid": "decline-confirm",
					text: t("confirm_decline"),
					onclick: function () {
						var text = reason.value.trim();
						if (!text) {
							toast(t("reason_needed"), true);
							reason.focus();
							return;
						}
						reason.value = "";
						enqueue({ type: "decline_offer", offer: offer.name, reason: text });
					},
				}),
				el("button", {
					type: "button",
					class: "secondary",
					text: t("cancel"),
					onclick: function () {
						declineBox.classList.add("hidden");
					},
				}),
			]),
		]);
		card.appendChild(
			el("div", { class: "actions" }, [
				el("button", {
					type: "button",
					"data-testid": "offer-accept",
					text: t("accept"),
					onclick: function () {
						enqueue({ type: "accept_offer", offer: offer.name });
					},
				}),
				el("button", {
					type: "button",
					class: "secondary",
					"data-testid": "offer-decline",
					text: t("decline"),
					onclick: function () {
						declineBox.classList.remove("hidden");
						reason.focus();
					},
				}),
			])
		);
		card.appendChild(declineBox);
		return card;
	}

	// Photos are scaled down on the phone (at most 1600 px, JPEG) before they are
	// queued: smaller to send on a weak signal and to keep in the outbox.
	function addPhoto(job, file, type) {
		var reader = new FileReader();
		reader.onerror = function () {
			toast(t("photo_failed"), true);
		};
		reader.onload = function () {
			var img = new Image();
			img.onerror = function () {
				toast(t("photo_failed"), true);
			};
			img.onload = function () {
				var scale = Math.min(1, MAX_PHOTO_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
				var canvas = document.createElement("canvas");
				canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
				canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
				canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
				enqueuePhoto({ type: type || "add_photo", job: job, photo: canvas.toDataURL("image/jpeg", 0.8) });
			};
			img.src = reader.result;
		};
		reader.readAsDataURL(file);
	}

	function scanned(result) {
		var read = result.serial || result.equipment || "";
		if (read) toast(t("scan_done", read));
	}

	// -- start --------------------------------------------------------------------------

	document.getElementById("gf-refresh").addEventListener("click", function () {
		flush().then(refresh);
	});
	window.addEventListener("online", function () {
		render();
		flush().then(refresh);
	});
	window.addEventListener("offline", render);
	setInterval(flush, REPLAY_EVERY_MS);
	setInterval(function () {
		if (!state.flushing && !state.expired) refresh();
	}, REFRESH_EVERY_MS);

	window.gfTech = { flush: flush, refresh: refresh, outbox: outbox, enqueue: enqueue, photo: getPhoto };
	state.data = load(CACHE_KEY, null);
	render();
	refresh().then(flush);
})();
