import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Emit, StoreSetup } from '../../../shared/runner';

/** Shown with the SKU (common.descriptions.ts) above them. */
export const description: INodeProperties[] = [
	{
		displayName: 'Product Name',
		name: 'name',
		type: 'string',
		default: '',
		description: 'Empty keeps the current name (new products use the SKU)',
		displayOptions: { show: { operation: ['upsertProduct'] } },
	},
	{
		displayName: 'Low-Stock Threshold',
		name: 'lowStockThreshold',
		type: 'number',
		typeOptions: { minValue: -1 },
		default: -1,
		description: 'Alert when available keys fall to this number. -1 keeps the current value (Stock Alert then uses its own default).',
		displayOptions: { show: { operation: ['upsertProduct'] } },
	},
	{
		displayName: 'Fixed Content',
		name: 'fixedContentMode',
		type: 'options',
		options: [
			{ name: 'Keep', value: 'keep', description: 'Leave fixed content as it is' },
			{ name: 'Set', value: 'set', description: 'Every buyer receives the same content (e.g. a download link) instead of a pool key' },
			{ name: 'Clear', value: 'clear', description: 'Deliver keys from the pool again' },
		],
		default: 'keep',
		displayOptions: { show: { operation: ['upsertProduct'] } },
	},
	{
		displayName: 'Content',
		name: 'fixedContent',
		type: 'string',
		typeOptions: { rows: 3, password: true },
		default: '',
		description: 'Stored encrypted, like keys',
		displayOptions: { show: { operation: ['upsertProduct'], fixedContentMode: ['set'] } },
	},
	{
		displayName: 'Buyer-Facing Settings',
		name: 'settings',
		type: 'collection',
		placeholder: 'Add Setting',
		default: {},
		description: 'What the delivery page, the delay notice and the follow-up show for this product. Only the settings added here change; an empty value clears one.',
		displayOptions: { show: { operation: ['upsertProduct'] } },
		options: [
			{
				displayName: 'After-Sale Note',
				name: 'afterSaleNote',
				type: 'string',
				typeOptions: { rows: 3 },
				default: '',
				description: 'What the buyer should do if something is wrong (delivery page, {afterSaleNote} / {售后说明})',
			},
			{
				displayName: 'Delay Notice',
				name: 'delayNotice',
				type: 'boolean',
				default: false,
				description: 'Whether to send the buyer one "we are processing your order" notice when a line of this product cannot be delivered at once',
			},
			{
				displayName: 'Expected Within',
				name: 'expectedWithin',
				type: 'string',
				default: '',
				placeholder: '24 hours / 24 小时',
				description: 'What the delay notice promises ({expectedWithin} / {预计时间})',
			},
			{
				displayName: 'Follow-Up After (Hours)',
				name: 'followUpAfterHours',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Send one follow-up this many hours after the delivery was sent. 0: no follow-up.',
			},
			{
				displayName: 'Recommended Products',
				name: 'recommended',
				type: 'string',
				typeOptions: { rows: 3 },
				default: '',
				description: 'One per line, at most 10 ({recommended} / {推荐商品})',
			},
			{
				displayName: 'Review Page URL',
				name: 'reviewUrl',
				type: 'string',
				default: '',
				placeholder: 'https://shop.example.com/review',
				description: "The shop's review page for the follow-up ({reviewUrl} / {评价链接})",
			},
			{
				displayName: 'Usage Guide',
				name: 'usageGuide',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				description: 'How to use the content: shown on the delivery page and in templates as {usageGuide} / {使用说明}',
			},
		],
	},
];

export async function execute(this: IExecuteFunctions, i: number, { store, actor }: StoreSetup, emit: Emit): Promise<void> {
	const mode = this.getNodeParameter('fixedContentMode', i) as string;
	const threshold = this.getNodeParameter('lowStockThreshold', i) as number;
	const settings = { ...(this.getNodeParameter('settings', i, {}) as Record<string, unknown>) };
	if (settings.followUpAfterHours === 0) settings.followUpAfterHours = null;
	const product = await store.upsertProduct({
		sku: this.getNodeParameter('sku', i) as string,
		name: (this.getNodeParameter('name', i) as string) || null,
		lowStockThreshold: threshold < 0 ? undefined : threshold,
		fixedContent: mode === 'set' ? (this.getNodeParameter('fixedContent', i) as string) : mode === 'clear' ? null : undefined,
		settings: Object.keys(settings).length ? settings : undefined,
		actor,
	});
	emit(0, { ...product });
}
