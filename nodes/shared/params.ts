/**
 * Item parameters read without n8n's expression engine where none is needed.
 *
 * Our nodes default their order fields to expressions like `={{ $json.orderId }}`. In n8n 2.x every
 * expression is evaluated in a V8 isolate (N8N_EXPRESSION_ENGINE=vm, the default): ~1–3 ms of CPU
 * each, ~20 per order line in the bundled order-paid workflow (docs/benchmark-e2e.md, "Where the
 * time goes"). An expression that is nothing but a path into the input item — `{{ $json.a.b }}` —
 * is read here straight from that item, the way n8n itself resolves webhook description fields
 * without the engine (n8n-workflow `resolveWebhookDescriptionField`). Anything else, and any path
 * that does not end on a string, number or boolean (missing, null, an object, a prototype
 * property), goes to `getNodeParameter` unchanged, so the value is always the one n8n would give
 * (test/integration/params.test.ts compares both on the same items in n8n's own engine).
 */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

/** `={{ $json.a.b }}` with identifier segments only (no brackets, calls or operators). */
const ITEM_PATH = /^=\{\{\s*\$json((?:\.[A-Za-z_$][\w$]*)+)\s*\}\}$/;

const nodeParameters = new WeakMap<IExecuteFunctions, IDataObject>();

/** The node's parameters as n8n holds them (defaults applied); getNode() deep-copies, so once per execution. */
function rawParameters(ctx: IExecuteFunctions): IDataObject {
	let p = nodeParameters.get(ctx);
	if (!p) {
		p = (ctx.getNode().parameters ?? {}) as IDataObject;
		nodeParameters.set(ctx, p);
	}
	return p;
}

type Primitive = string | number | boolean;

/** The value of `={{ $json.a.b }}` for this item when it is a string, number or boolean; else undefined. */
export function itemPathValue(expression: unknown, item: IDataObject | undefined): Primitive | undefined {
	if (typeof expression !== 'string' || item === undefined) return undefined;
	const m = ITEM_PATH.exec(expression);
	if (!m) return undefined;
	let cur: unknown = item;
	for (const segment of m[1].slice(1).split('.')) {
		if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, segment)) return undefined;
		cur = (cur as Record<string, unknown>)[segment];
	}
	return typeof cur === 'string' || typeof cur === 'number' || typeof cur === 'boolean' ? cur : undefined;
}

function inputItem(ctx: IExecuteFunctions, itemIndex: number): IDataObject | undefined {
	return ctx.getInputData()[itemIndex]?.json;
}

/** `getNodeParameter(name, itemIndex, fallback)`, without the expression engine for `={{ $json.path }}`. */
export function itemParam(ctx: IExecuteFunctions, name: string, itemIndex: number, fallback?: unknown): unknown {
	const native = itemPathValue(rawParameters(ctx)[name], inputItem(ctx, itemIndex));
	if (native !== undefined) return native;
	return fallback === undefined ? ctx.getNodeParameter(name, itemIndex) : ctx.getNodeParameter(name, itemIndex, fallback);
}

/**
 * A collection parameter (`getNodeParameter(name, itemIndex, {})`), each field as `itemParam` reads
 * it: `={{ $json.path }}` fields from the item, every other field through getNodeParameter.
 */
export function itemCollection(ctx: IExecuteFunctions, name: string, itemIndex: number): IDataObject {
	const raw = rawParameters(ctx)[name];
	if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return (ctx.getNodeParameter(name, itemIndex, {}) ?? {}) as IDataObject;
	const item = inputItem(ctx, itemIndex);
	const out: IDataObject = {};
	for (const [key, value] of Object.entries(raw as IDataObject)) {
		const native = itemPathValue(value, item);
		out[key] = native !== undefined ? native : (ctx.getNodeParameter(`${name}.${key}`, itemIndex) as IDataObject[string]);
	}
	return out;
}
