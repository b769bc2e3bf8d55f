// Board time geometry: naive site-time strings ("YYYY-MM-DD HH:mm:ss") ↔ positions on a track
// that shows DAY_START..DAY_END of each day of the range.
export const DAY_START = 7;
export const DAY_END = 20;
export const FORMAT = "YYYY-MM-DD HH:mm:ss";
const HOURS = DAY_END - DAY_START;

export function parse(value) {
	return moment(value, FORMAT);
}

export function format(m) {
	return m.format(FORMAT);
}

export function range(anchor, view) {
	const start = view === "week" ? moment(anchor).startOf("isoWeek") : moment(anchor).startOf("day");
	const days = view === "week" ? 7 : 1;
	return { start, end: moment(start).add(days, "days"), days };
}

// fraction (0..1) of the track for a time; null when outside the range
export function fraction(value, r) {
	const m = typeof value === "string" ? parse(value) : value;
	const day = m.diff(r.start, "days");
	if (day < 0 || day >= r.days) return null;
	const midnight = moment(r.start).add(day, "days");
	const hours = Math.min(Math.max(m.diff(midnight, "minutes") / 60, DAY_START), DAY_END);
	return (day + (hours - DAY_START) / HOURS) / r.days;
}

export function span(start, end, r) {
	const a = fraction(start, r);
	if (a === null) return null;
	let b = fraction(end, r);
	if (b === null) b = Math.min(1, (Math.floor(a * r.days) + 1) / r.days);
	return { left: a * 100, width: Math.max((b - a) * 100, 0.4) };
}

// the time at a fraction of the track, snapped to `snap` minutes
export function at(f, r, snap = 15) {
	const clamped = Math.min(Math.max(f, 0), 0.99999);
	const day = Math.floor(clamped * r.days);
	const within = clamped * r.days - day;
	let minutes = DAY_START * 60 + within * HOURS * 60;
	minutes = Math.round(minutes / snap) * snap;
	return moment(r.start).add(day, "days").add(minutes, "minutes");
}

// labels in the user's language (moment's locale is not the desk's)
export function weekday(m, short = false) {
	const name = __(m.format("dddd"));
	return short ? name.slice(0, 3) : name;
}

export function day_label(m) {
	return `${weekday(m)} ${frappe.datetime.str_to_user(m.format("YYYY-MM-DD"))}`;
}

export function short_time(m, with_day) {
	return with_day ? `${weekday(m, true)} ${m.format("HH:mm")}` : m.format("HH:mm");
}

export function ticks(r) {
	const out = [];
	for (let d = 0; d < r.days; d++) {
		const day = moment(r.start).add(d, "days");
		if (r.days === 1) {
			for (let h = DAY_START; h < DAY_END; h++) {
				out.push({ left: ((h - DAY_START) / HOURS) * 100, label: `${h}h`, major: true });
			}
		} else {
			out.push({ left: (d / r.days) * 100, label: `${weekday(day, true)} ${day.format("D")}`, major: true });
			out.push({ left: ((d + 0.5 - 1 / HOURS) / r.days) * 100, label: "", major: false });
		}
	}
	return out;
}
