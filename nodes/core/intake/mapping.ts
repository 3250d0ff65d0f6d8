/**
 * Field mapping (DESIGN.md §7): where the canonical order's fields are found in a shop's JSON when
 * it differs from the canonical order — the mapping itself, its check, dotted paths, and the
 * reading of each canonical field (with the label messages use). order.ts validates what is read.
 */
import { ValidationError } from '../errors';
import { isJsonObject } from './json';

/** Canonical fields that a mapping can redirect. */
export const FIELD_PATHS = [
	'event',
	'orderId',
	'shop',
	'items',
	'items.sku',
	'items.name',
	'items.quantity',
	'items.price',
	'buyer',
	'buyer.id',
	'buyer.name',
	'buyer.email',
	'buyer.ip',
	'amount',
	'currency',
	'paidAt',
] as const;
export type FieldPath = (typeof FIELD_PATHS)[number];

/**
 * Field mapping for shops whose JSON differs from the canonical order.
 *
 * Keys are canonical paths (FIELD_PATHS), values are dotted paths in the shop's JSON; a numeric
 * segment indexes an array (`data.orders.0.sku`). Property names containing dots cannot be
 * addressed. Unmapped fields keep their canonical location.
 *
 * - `event`, `orderId`, `shop`, `items`, `buyer`, `amount`, `currency`, `paidAt`: from the body root.
 * - `items.sku`, `items.name`, `items.quantity`, `items.price`: relative to EACH element of the
 *   items array (e.g. `{ items: 'data.orders', 'items.sku': 'outer_sku', 'items.quantity': 'num' }`).
 * - `buyer.id`, `buyer.name`, `buyer.email`, `buyer.ip`: from the body root when mapped
 *   (e.g. `'buyer.email': 'data.buyer_email'`); when not mapped, read from the buyer object
 *   (`buyer`, or wherever `buyer` is mapped to).
 *
 * Example:
 * ```ts
 * parseOrder(body, {
 *   mapping: { event: 'type', orderId: 'data.tid', items: 'data.orders',
 *              'items.sku': 'outer_sku', 'items.quantity': 'num', 'buyer.email': 'data.buyer_email' },
 *   eventValues: { TRADE_PAID: 'order.paid', REFUND_SUCCESS: 'order.refunded' },
 * });
 * ```
 */
export type OrderMapping = Partial<Record<FieldPath, string>>;

// ---------------------------------------------------------------------------------------------
// Paths

/**
 * Reads a dotted path (`data.orders.0.sku`) from parsed JSON; own properties only, a numeric
 * segment indexes an array. `undefined` when the path leads nowhere.
 */
export function getPath(root: unknown, path: string): unknown {
	let cur: unknown = root;
	for (const seg of path.split('.')) {
		if (Array.isArray(cur) && /^\d+$/.test(seg)) cur = cur[Number(seg)];
		else if (isJsonObject(cur) && Object.prototype.hasOwnProperty.call(cur, seg)) cur = cur[seg];
		else return undefined;
	}
	return cur;
}

/** `data.orders` + 1 + `num` → `data.orders[1].num` (for messages). */
function showPath(path: string): string {
	return path.replace(/\.(\d+)(?=\.|$)/g, '[$1]');
}

/** Checks a field mapping (known canonical keys, dotted paths); throws ValidationError('mapping' | 'mapping.<key>'). */
export function checkFieldMapping(mapping: unknown): void {
	if (!isJsonObject(mapping)) throw new ValidationError('mapping', 'mapping must be an object.');
	for (const [key, value] of Object.entries(mapping)) {
		if (value === undefined) continue;
		if (!(FIELD_PATHS as readonly string[]).includes(key)) {
			throw new ValidationError(
				`mapping.${key}`,
				`mapping.${key} is not a known field (known: ${FIELD_PATHS.join(', ')}).`,
			);
		}
		if (
			typeof value !== 'string' ||
			value.trim() === '' ||
			value.split('.').some((s) => s.trim() === '')
		) {
			throw new ValidationError(
				`mapping.${key}`,
				`mapping.${key} must be a dotted path such as "data.order_id".`,
			);
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Reading the canonical fields

/** A value read from the body, with the label used in messages. */
export interface FieldRead {
	value: unknown;
	label: string;
}

/**
 * Reads the canonical fields of `body` under `mapping`. A label is the canonical path, plus
 * `(from "<the shop's path>")` when the field is mapped (see OrderMapping).
 */
export interface OrderFields {
	/** A field of the body root: `event`, `orderId`, `shop`, `items`, `buyer`, `amount`, `currency`, `paidAt`. */
	root(key: FieldPath): FieldRead;
	/** `buyer.<key>`: from the body root when mapped, else from `buyerObj` (what `root('buyer')` read). */
	buyer(buyerObj: Record<string, unknown> | null | undefined, key: 'id' | 'name' | 'email' | 'ip'): FieldRead;
	/** `items[i].<key>`, relative to the `i`-th element of the items array. */
	item(item: Record<string, unknown>, i: number, key: 'sku' | 'name' | 'quantity' | 'price'): FieldRead;
	/** The label of the `i`-th element of the items array itself. */
	itemLabel(i: number): string;
}

/** The canonical fields of `body` as the shop sends them under `mapping` (see OrderFields). */
export function orderFields(body: unknown, mapping: OrderMapping): OrderFields {
	const itemsSrc = mapping.items ?? 'items';
	return {
		root: (key) => {
			const src = mapping[key];
			return src
				? { value: getPath(body, src), label: `${key} (from "${showPath(src)}")` }
				: { value: getPath(body, key), label: key };
		},
		buyer: (buyerObj, key) => {
			const canonical = `buyer.${key}` as FieldPath;
			const src = mapping[canonical];
			if (src) return { value: getPath(body, src), label: `${canonical} (from "${showPath(src)}")` };
			const label = mapping.buyer ? `${canonical} (from "${showPath(`${mapping.buyer}.${key}`)}")` : canonical;
			return { value: buyerObj ? buyerObj[key] : undefined, label };
		},
		item: (item, i, key) => {
			const canonical = `items[${i}].${key}`;
			const src = mapping[`items.${key}` as FieldPath] ?? key;
			const mapped = mapping.items !== undefined || mapping[`items.${key}` as FieldPath] !== undefined;
			return {
				value: getPath(item, src),
				label: mapped ? `${canonical} (from "${showPath(`${itemsSrc}.${i}.${src}`)}")` : canonical,
			};
		},
		itemLabel: (i) => (mapping.items ? `items[${i}] (from "${showPath(`${itemsSrc}.${i}`)}")` : `items[${i}]`),
	};
}
