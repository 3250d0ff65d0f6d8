/**
 * Notify Buyer's parameters: the operation, the delivery to find, the channel with its email and
 * webhook groups, Include Keys and the Options of both channels. Send and Resend take the same
 * parameters; each operation file holds its entry of the Operation list.
 */
import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_TIME_ZONE } from '../../core/delivery';
import { findDeliveryProperties, includeKeysProperty, optionsCollection, timeZoneOption } from '../../shared/descriptions';
import { emailOptions, emailProperties } from './email.description';
import * as resend from './resend.operation';
import * as send from './send.operation';
import * as sendDelayNotice from './sendDelayNotice.operation';
import * as sendFollowUp from './sendFollowUp.operation';
import { webhookOptions, webhookProperties } from './webhook.description';

/** Hides a parameter for these operations (added to any operations it is hidden for already). */
function hideFor(p: INodeProperties, operations: string[]): INodeProperties {
	const hidden = (p.displayOptions?.hide?.operation ?? []) as string[];
	return { ...p, displayOptions: { ...p.displayOptions, hide: { ...p.displayOptions?.hide, operation: [...hidden, ...operations] } } };
}

/** Send and Resend parameters that Send Follow-Up does not use (it has its own templates and finds its deliveries itself). */
const NOT_FOR_FOLLOW_UP = new Set(['findBy', 'deliveryId', 'orderId', 'shop', 'sku', 'toEmail', 'subject', 'text', 'html', 'jsonBody', 'includeKeys']);

function hideInFollowUp(props: INodeProperties[]): INodeProperties[] {
	return props.map((p) => (NOT_FOR_FOLLOW_UP.has(p.name) ? hideFor(p, [sendFollowUp.option.value as string]) : p));
}

/** Parameters of Send and Resend (a delivery and its keys) that Send Delay Notice does not show: it is about a waiting line. */
function onlyForDeliveries(list: INodeProperties[]): INodeProperties[] {
	return list.map((p) => hideFor(p, [sendDelayNotice.option.value as string]));
}

export const properties: INodeProperties[] = hideInFollowUp([
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [send.option, resend.option, sendDelayNotice.option, sendFollowUp.option],
		default: 'send',
	},
	...send.description,
	...resend.description,
	...sendDelayNotice.description,
	...sendFollowUp.description,
	...onlyForDeliveries(findDeliveryProperties({
		selector: 'findBy',
		options: [
			{ name: 'Delivery ID', value: 'deliveryId', description: 'The delivery ID from Claim Key' },
			{ name: 'Order ID (and SKU)', value: 'order', description: 'Every line of the order, or one SKU' },
		],
		deliveryId: { description: 'ID of the delivery (the deliveryId output of Claim Key)' },
		sku: { default: '', description: 'Empty: every line of the order (one output item per line)' },
	})),
	{
		displayName: 'Channel',
		name: 'channel',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Email', value: 'email', description: 'Through the Auto Delivery SMTP credential' },
			{ name: 'Webhook', value: 'webhook', description: 'HTTP call with a JSON body: IM bots, SMS gateways, the shop message API' },
		],
		default: 'email',
	},
	...emailProperties.map((p) => (['subject', 'text', 'html'].includes(p.name) ? onlyForDeliveries([p])[0] : p)),
	...webhookProperties.map((p) => (p.name === 'jsonBody' ? onlyForDeliveries([p])[0] : p)),
	...onlyForDeliveries([
		includeKeysProperty(
			'Whether to output the keys in plain text. Off (recommended): keys are masked like ABCD…WXYZ. On: plain keys are stored in n8n execution data.',
		),
	]),
	optionsCollection([
		emailOptions.bcc,
		webhookOptions.ignoreSsl,
		webhookOptions.retries,
		webhookOptions.messageIdField,
		emailOptions.replyTo,
		webhookOptions.backoffMs,
		timeZoneOption({ default: DEFAULT_TIME_ZONE, placeholder: 'Asia/Shanghai', description: 'IANA time zone of {date} / {购买日期}' }),
		webhookOptions.timeoutMs,
	]),
]);
