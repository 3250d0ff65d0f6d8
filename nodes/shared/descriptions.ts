/**
 * Parameter blocks that several nodes ask the same way: the Operation selector, an order (Order ID,
 * Shop, SKU), a delivery to find, the Include Keys switch, a Reason, a Limit, the Options collection
 * and its retry / timeout / time zone options. Each returns a fresh object; what a node says
 * differently (description, displayOptions, default) is passed in `extra` and wins. Parameter names
 * and values are those saved workflows use.
 */
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

/** What a node sets on a shared parameter itself (description, displayOptions, default, …). */
export type Extra = Partial<INodeProperties>;

export const SHOP_DESCRIPTION =
	'The shop the order belongs to. An order is identified by Shop + Order ID + SKU, so two shops may use the same order ID. Empty: the default shop.';

/** The Operation selector (options in the order given; n8n lists them so). */
export function operationProperty(options: INodePropertyOptions[], defaultValue: string, extra: Extra = {}): INodeProperties {
	return { displayName: 'Operation', name: 'operation', type: 'options', noDataExpression: true, options, default: defaultValue, ...extra };
}

/** The shop order number; the incoming item's orderId by default. */
export function orderIdProperty(extra: Extra = {}): INodeProperties {
	return { displayName: 'Order ID', name: 'orderId', type: 'string', default: '={{ $json.orderId }}', required: true, ...extra };
}

/** The shop an order belongs to (orders are Shop + Order ID + SKU); the incoming item's shop by default. */
export function shopProperty(extra: Extra = {}): INodeProperties {
	return { displayName: 'Shop', name: 'shop', type: 'string', default: '={{ $json.shop }}', description: SHOP_DESCRIPTION, ...extra };
}

/** The product code of an order line; `extra` says its default and what empty means. */
export function skuProperty(extra: Extra & Pick<INodeProperties, 'default'>): INodeProperties {
	return { displayName: 'SKU', name: 'sku', type: 'string', ...extra };
}

/** A delivery ID (Claim Key's deliveryId output); the incoming item's deliveryId by default. */
export function deliveryIdProperty(extra: Extra = {}): INodeProperties {
	return { displayName: 'Delivery ID', name: 'deliveryId', type: 'string', default: '={{ $json.deliveryId }}', required: true, ...extra };
}

export interface FindDeliverySpec {
	/** Name of the selector parameter, as saved workflows have it. */
	selector: string;
	/** The selector's two options, of values 'deliveryId' and 'order'. */
	options: INodePropertyOptions[];
	/** The Delivery ID parameter's own description. */
	deliveryId: Extra;
	/** The SKU parameter's default and description. */
	sku: Extra & Pick<INodeProperties, 'default'>;
}

/** "Find Delivery By": a delivery ID, or Order ID + Shop + SKU. */
export function findDeliveryProperties(spec: FindDeliverySpec): INodeProperties[] {
	const byOrder = { show: { [spec.selector]: ['order'] } };
	return [
		{ displayName: 'Find Delivery By', name: spec.selector, type: 'options', options: spec.options, default: 'deliveryId' },
		deliveryIdProperty({ displayOptions: { show: { [spec.selector]: ['deliveryId'] } }, ...spec.deliveryId }),
		orderIdProperty({ displayOptions: byOrder }),
		shopProperty({ displayOptions: byOrder }),
		skuProperty({ ...spec.sku, displayOptions: byOrder }),
	];
}

/** Which available keys a claim takes: the oldest imported first, or a random one. */
export function strategyProperty(extra: Extra = {}): INodeProperties {
	return {
		displayName: 'Strategy',
		name: 'strategy',
		type: 'options',
		options: [
			{ name: 'Sequential (Import Order)', value: 'sequential', description: 'Oldest imported keys first' },
			{ name: 'Random', value: 'random', description: 'A random available key' },
		],
		default: 'sequential',
		...extra,
	};
}

/** Whether to output keys in plain text; `description` says what is masked and where plain keys end up. */
export function includeKeysProperty(description: string, extra: Extra = {}): INodeProperties {
	return { displayName: 'Include Keys in Output', name: 'includeKeys', type: 'boolean', default: false, description, ...extra };
}

/** Why something is done (revoked, voided, blocked), recorded with it; empty by default. */
export function reasonProperty(extra: Extra = {}): INodeProperties {
	return { displayName: 'Reason', name: 'reason', type: 'string', default: '', ...extra };
}

/** How many results a list returns at most. */
export function limitProperty(extra: Extra = {}): INodeProperties {
	return { displayName: 'Limit', name: 'limit', type: 'number', typeOptions: { minValue: 1 }, default: 50, description: 'Max number of results to return', ...extra };
}

/** The "Options" collection (its options in the order given: n8n lists them so). */
export function optionsCollection(options: INodeProperties[], extra: Extra = {}): INodeProperties {
	return { displayName: 'Options', name: 'options', type: 'collection', placeholder: 'Add Option', default: {}, ...extra, options };
}

// ---------------------------------------------------------------- options of an outgoing HTTP call

/** A whole number from `min` to `max`: the number options below share this form. */
function wholeNumberOption(displayName: string, name: string, [min, max]: [number, number], defaultValue: number, description: string, extra: Extra): INodeProperties {
	return { displayName, name, type: 'number', typeOptions: { minValue: min, maxValue: max, numberPrecision: 0 }, default: defaultValue, description, ...extra };
}

/** Extra attempts of an outgoing call (5xx, timeouts, dropped connections; never 4xx). */
export function maxRetriesOption(maxValue: number, extra: Extra = {}): INodeProperties {
	return wholeNumberOption('Max Retries', 'retries', [0, maxValue], 3, 'Extra attempts on 5xx answers, timeouts and dropped connections (never on 4xx)', extra);
}

/** Wait before the first retry of an outgoing call. */
export function retryDelayOption(extra: Extra = {}): INodeProperties {
	return wholeNumberOption('Retry Delay (Ms)', 'backoffMs', [0, 60000], 500, 'Wait before the first retry; doubles for each further retry', extra);
}

/** Time limit of each attempt of an outgoing call. */
export function timeoutOption(description: string, extra: Extra = {}): INodeProperties {
	return wholeNumberOption('Timeout (Ms)', 'timeoutMs', [1, 300000], 10000, description, extra);
}

/** The IANA time zone {date} / {购买日期} is written in. */
export function timeZoneOption(extra: Extra & Pick<INodeProperties, 'default' | 'description'>): INodeProperties {
	return { displayName: 'Time Zone', name: 'timeZone', type: 'string', ...extra };
}
