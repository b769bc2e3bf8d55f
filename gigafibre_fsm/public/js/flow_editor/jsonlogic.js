// A readable rendering of a JSONLogic rule (the conditions of flows), and a parser that says why
// a text is not a rule.
const OPS = {
	"==": "=",
	"===": "=",
	"!=": "≠",
	"!==": "≠",
	">": ">",
	">=": "≥",
	"<": "<",
	"<=": "≤",
};

export function render(rule) {
	if (rule === null || rule === undefined) return "";
	if (typeof rule !== "object") return JSON.stringify(rule);
	if (Array.isArray(rule)) return `[${rule.map(render).join(", ")}]`;
	const [op] = Object.keys(rule);
	let args = rule[op];
	if (!Array.isArray(args)) args = [args];
	if (op === "var") return `{{${args[0]}}}`;
	if (OPS[op]) return `${render(args[0])} ${OPS[op]} ${render(args[1])}`;
	if (op === "and") return args.map(render).map((t) => `(${t})`).join(` ${__("and")} `);
	if (op === "or") return args.map(render).map((t) => `(${t})`).join(` ${__("or")} `);
	if (op === "!") return `${__("not")} (${render(args[0])})`;
	if (op === "in_list" || op === "in") return `${render(args[0])} ${__("is one of")} ${render(args[1])}`;
	if (op === "blank") return `${render(args[0])} ${__("is blank")}`;
	if (op === "starts_with") return `${render(args[0])} ${__("starts with")} ${render(args[1])}`;
	return `${op}(${args.map(render).join(", ")})`;
}

// {rule, error}: the text parsed as a rule, or why not (empty text: no rule)
export function parse(text, operators) {
	if (!text || !String(text).trim()) return { rule: null, error: null };
	let rule;
	try {
		rule = JSON.parse(text);
	} catch (e) {
		return { rule: null, error: __("Not valid JSON: {0}", [e.message]) };
	}
	const unknown = [];
	const walk = (node) => {
		if (node && typeof node === "object") {
			if (Array.isArray(node)) return node.forEach(walk);
			Object.keys(node).forEach((k) => {
				if (operators && operators.length && !operators.includes(k)) unknown.push(k);
				walk(node[k]);
			});
		}
	};
	walk(rule);
	if (unknown.length) return { rule, error: __("Unknown operator: {0}", [unknown.join(", ")]) };
	return { rule, error: null };
}

export function placeholders_html(text) {
	const esc = frappe.utils.escape_html(text == null ? "" : String(text));
	return esc.replace(/\{\{\s*([\w.]+)\s*\}\}/g, '<span class="gf-placeholder">{{$1}}</span>');
}
