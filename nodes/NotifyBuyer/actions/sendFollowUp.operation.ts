/**
 * Send Follow-Up: the follow-ups that are due (product setting Follow-Up After (Hours)), one
 * message each asking whether the key worked — never twice, never to a refunded order, never a key.
 * Meant for a Schedule Trigger (workflows/follow-up.json); one output item per follow-up.
 */
import type { IExecuteFunctions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { DEFAULT_FOLLOW_UPS_PER_RUN, FOLLOW_UP_TEMPLATES, FOLLOW_UP_WEBHOOK_BODY, MAX_FOLLOW_UPS_PER_RUN } from '../../core/delivery';
import { DEFAULT_FOLLOW_UP_MAX_LATE_HOURS } from '../../core/store';
import type { Emit } from '../../shared/runner';
import { followUpItems } from '../helpers/followUp';
import type { NotifySetup } from '../helpers/interfaces';

export const option: INodePropertyOptions = {
	name: 'Send Follow-Up',
	value: 'sendFollowUp',
	action: 'Send due follow-ups to buyers',
	description: 'Ask buyers whether their key worked, N hours after the delivery (per product); never twice, never to refunded orders',
};

const forFollowUp = (extra: Record<string, string[]> = {}) => ({ show: { operation: [option.value], ...extra } });

const FOLLOW_UP_HINT =
	'Variables: {productName} {orderId} {buyerName} {quantity} {date} {usageGuide} {afterSaleNote} {recommended} {reviewUrl} — or 中文 {商品名称} {订单号} {买家昵称} {数量} {购买日期} {使用说明} {售后说明} {推荐商品} {评价链接}. Never the keys.';

export const description: INodeProperties[] = [
	{
		displayName:
			'Sends the follow-ups that are due: deliveries sent (or shipped) at least <b>Follow-Up After (Hours)</b> ago — a product setting of Key Pool → Upsert Product, off by default. Each delivery gets at most one follow-up, never after a refund, never with the key. Email goes to the buyer email recorded with the delivery.',
		name: 'followUpNotice',
		type: 'notice',
		default: '',
		displayOptions: forFollowUp(),
	},
	{
		displayName: 'Subject',
		name: 'followUpSubject',
		type: 'string',
		default: FOLLOW_UP_TEMPLATES.subject,
		displayOptions: forFollowUp({ channel: ['email'] }),
		description: FOLLOW_UP_HINT,
	},
	{
		displayName: 'Text Body',
		name: 'followUpText',
		type: 'string',
		typeOptions: { rows: 8 },
		default: FOLLOW_UP_TEMPLATES.text,
		displayOptions: forFollowUp({ channel: ['email'], emailFormat: ['both', 'text'] }),
		description: FOLLOW_UP_HINT,
	},
	{
		displayName: 'HTML Body',
		name: 'followUpHtml',
		type: 'string',
		typeOptions: { rows: 8 },
		default: FOLLOW_UP_TEMPLATES.html,
		displayOptions: forFollowUp({ channel: ['email'], emailFormat: ['both', 'html'] }),
		description: `${FOLLOW_UP_HINT} Values are HTML-escaped.`,
	},
	{
		displayName: 'JSON Body',
		name: 'followUpJsonBody',
		type: 'string',
		typeOptions: { rows: 8 },
		default: FOLLOW_UP_WEBHOOK_BODY,
		displayOptions: forFollowUp({ channel: ['webhook'] }),
		description: `${FOLLOW_UP_HINT} Values are JSON-escaped, so the body stays valid JSON.`,
	},
	{
		displayName: 'Max Follow-Ups per Run',
		name: 'followUpLimit',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: MAX_FOLLOW_UPS_PER_RUN, numberPrecision: 0 },
		default: DEFAULT_FOLLOW_UPS_PER_RUN,
		displayOptions: forFollowUp(),
		description: 'The rest stay due for the next run. The run also stops at the first failed send.',
	},
	{
		displayName: 'Skip When Late by (Hours)',
		name: 'followUpMaxLateHours',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 24 * 365 },
		default: DEFAULT_FOLLOW_UP_MAX_LATE_HOURS,
		displayOptions: forFollowUp(),
		description: 'A follow-up more overdue than this is never sent (e.g. orders from before you switched follow-ups on, or after n8n was stopped for a long time)',
	},
];

export async function execute(this: IExecuteFunctions, itemIndex: number, setup: NotifySetup, emit: Emit): Promise<void> {
	await followUpItems(this, itemIndex, setup, emit);
}
