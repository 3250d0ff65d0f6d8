/** Taobao Trigger's parameters (the poll schedule is n8n's own "Poll Times", added for `polling: true`). */
import type { INodeProperties } from 'n8n-workflow';

import { TAOBAO_SKU_FROM_CHOICES } from '../core/taobao';

export const properties: INodeProperties[] = [
	{
		displayName:
			'Uses the Auto Delivery Shop API credential with Platform "Taobao / Tmall" (App Key, App Secret, Session Key). Each poll reads what changed since the last one; nothing is lost when n8n restarts.',
		name: 'notice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Events',
		name: 'events',
		type: 'multiOptions',
		options: [
			{ name: 'Paid Orders', value: 'paid', description: 'Trades waiting for shipment (WAIT_SELLER_SEND_GOODS): event order.paid, one item per order line' },
			{ name: 'Refunds', value: 'refunded', description: 'Successful refunds (退款成功): event order.refunded, one item per order' },
		],
		default: ['paid'],
		required: true,
	},
	{
		displayName: 'Shop Name',
		name: 'shopName',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'mystore',
		description: 'Your name for this shop: its orders belong to the shop "taobao:<Shop Name>" in the key store, so several shops can share one key pool',
	},
	{
		displayName: 'SKU From',
		name: 'skuFrom',
		type: 'options',
		options: TAOBAO_SKU_FROM_CHOICES.map((c) => ({ ...c })),
		default: 'outer_sku_id',
		description: 'Which field of an order line is the SKU your keys are imported under',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Look Back on First Poll (Minutes)',
				name: 'lookBackMinutes',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 60,
				description: 'How far back the first poll reads (up to 7 days are read per poll, one day per request)',
			},
			{
				displayName: 'Overlap (Minutes)',
				name: 'overlapMinutes',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 5,
				description: 'Every poll reads this much before where the last one ended, to catch trades Taobao records late; orders already emitted are not emitted again',
			},
			{
				displayName: 'Page Size',
				name: 'pageSize',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 100 },
				default: 100,
				description: 'Trades per request (TOP allows at most 100)',
			},
			{
				displayName: 'Retries',
				name: 'retries',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 10 },
				default: 3,
				description: 'Extra attempts on server errors, timeouts, isp.* errors and short call-limit bans',
			},
			{
				displayName: 'Settle (Seconds)',
				name: 'settleSeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 60,
				description: 'Each poll reads up to this long before now (Taobao indexes changes with a small delay)',
			},
			{
				displayName: 'Timeout (Ms)',
				name: 'timeoutMs',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 15000,
				description: 'How long to wait for each request',
			},
		],
	},
];
