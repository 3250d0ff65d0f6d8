/** Send Delay Notice: "we are processing your order, expected within …", at most once per order (core/delivery/delay.ts). */
import type { IDataObject, IExecuteFunctions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { DEFAULT_DELAY_WEBHOOK_BODY, DEFAULT_EXPECTED_WITHIN, DELAY_TEMPLATES, sendDelayNotice } from '../../core/delivery';
import { orderIdProperty, shopProperty, skuProperty } from '../../shared/descriptions';
import { itemParam } from '../../shared/params';
import type { Emit } from '../../shared/runner';
import { channelFor } from '../helpers/channel';
import type { NotifySetup } from '../helpers/interfaces';

export const option: INodePropertyOptions = {
	name: 'Send Delay Notice',
	value: 'sendDelayNotice',
	action: 'Tell the buyer the order is delayed',
	description: 'Tell the buyer of a waiting order line (out of stock, held for review) when to expect it: once per order, only for products with Delay Notice on, never a key',
};

const DELAY_HINT =
	'Variables: {productName} {orderId} {buyerName} {quantity} {date} {expectedWithin} {usageGuide} {afterSaleNote} — or 中文 {商品名称} {订单号} {买家昵称} {数量} {购买日期} {预计时间} {使用说明} {售后说明}. Never {deliveryContent}: a delay notice carries no key.';

const delay = { operation: ['sendDelayNotice'] };

export const description: INodeProperties[] = [
	orderIdProperty({ name: 'delayOrderId', description: 'The order of the waiting line (Claim Key → Not Delivered, or Risk Check → Review)', displayOptions: { show: delay } }),
	shopProperty({ name: 'delayShop', displayOptions: { show: delay } }),
	skuProperty({
		name: 'delaySku',
		default: '={{ $json.sku }}',
		required: true,
		description: 'The waiting product: its Delay Notice and Expected Within settings (Key Pool → Upsert Product) decide whether and what is sent',
		displayOptions: { show: delay },
	}),
	{
		displayName: 'Subject',
		name: 'delaySubject',
		type: 'string',
		default: DELAY_TEMPLATES.subject,
		displayOptions: { show: { ...delay, channel: ['email'] } },
		description: DELAY_HINT,
	},
	{
		displayName: 'Text Body',
		name: 'delayText',
		type: 'string',
		typeOptions: { rows: 8 },
		default: DELAY_TEMPLATES.text,
		displayOptions: { show: { ...delay, channel: ['email'], emailFormat: ['both', 'text'] } },
		description: DELAY_HINT,
	},
	{
		displayName: 'HTML Body',
		name: 'delayHtml',
		type: 'string',
		typeOptions: { rows: 8 },
		default: DELAY_TEMPLATES.html,
		displayOptions: { show: { ...delay, channel: ['email'], emailFormat: ['both', 'html'] } },
		description: `${DELAY_HINT} Values are HTML-escaped.`,
	},
	{
		displayName: 'JSON Body',
		name: 'delayJsonBody',
		type: 'string',
		typeOptions: { rows: 8 },
		default: DEFAULT_DELAY_WEBHOOK_BODY,
		displayOptions: { show: { ...delay, channel: ['webhook'] } },
		description: `${DELAY_HINT} Values are JSON-escaped.`,
	},
	{
		displayName: 'Expected Within (Fallback)',
		name: 'expectedWithinFallback',
		type: 'string',
		default: DEFAULT_EXPECTED_WITHIN,
		description: "{expectedWithin} / {预计时间} for products whose Expected Within setting is empty (the product's own setting wins)",
		displayOptions: { show: delay },
	},
];

export async function execute(this: IExecuteFunctions, i: number, setup: NotifySetup, emit: Emit): Promise<void> {
	const input = this.getInputData()[i].json;
	const kind = this.getNodeParameter('channel', i) as 'email' | 'webhook';
	const options = this.getNodeParameter('options', i, {}) as IDataObject;
	const channel = await channelFor(this, i, kind, options, setup, false);
	// The delay notice's own templates replace those of Send.
	if (channel.kind === 'email') {
		const format = this.getNodeParameter('emailFormat', i) as string;
		channel.subject = this.getNodeParameter('delaySubject', i) as string;
		channel.text = format === 'html' ? null : (this.getNodeParameter('delayText', i) as string);
		channel.html = format === 'text' ? null : (this.getNodeParameter('delayHtml', i) as string);
	} else {
		channel.body = this.getNodeParameter('delayJsonBody', i) as string;
	}
	const buyer = input.buyer && typeof input.buyer === 'object' ? (input.buyer as IDataObject) : null;
	const r = await sendDelayNotice(setup.store, {
		orderId: String(itemParam(this, 'delayOrderId', i, '') ?? ''),
		shop: String(itemParam(this, 'delayShop', i, '') ?? ''),
		sku: String(itemParam(this, 'delaySku', i, '') ?? ''),
		channel,
		expectedWithinFallback: this.getNodeParameter('expectedWithinFallback', i, DEFAULT_EXPECTED_WITHIN) as string,
		timeZone: (options.timeZone as string) || null,
		buyerNameFallback: typeof buyer?.name === 'string' ? buyer.name : null,
		actor: setup.actor,
		links: setup.links,
	});
	// The input item flows on (Claim Key's Not Delivered item, or Risk Check's Review item) with what was done.
	// eslint-disable-next-line @typescript-eslint/no-unused-vars
	const { outcome: _outcome, orderId: _o, shop: _s, sku: _k, ...delayNotice } = r;
	emit(0, { ...input, delayNotice: delayNotice as unknown as IDataObject });
}

/** Under On Error → Continue: the input item, with the notice not sent and why. */
export function failedItem(input: IDataObject, message: string): IDataObject {
	return { ...input, delayNotice: { sent: false, error: message } };
}
