/** Channel Webhook: authentication, URL, method, headers and JSON body, and its options (retries, timeout, …). */
import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_WEBHOOK_BODY, MAX_WEBHOOK_RETRIES } from '../../core/delivery';
import { maxRetriesOption, retryDelayOption, timeoutOption } from '../../shared/descriptions';
import { VARIABLES_HINT, forChannel, optionForChannel } from './common.descriptions';

export const webhookProperties: INodeProperties[] = [
	{
		displayName: 'Authentication',
		name: 'webhookAuth',
		type: 'options',
		options: [
			{ name: 'None (Headers Below)', value: 'none' },
			{ name: 'Auto Delivery Shop API Credential', value: 'shopApi', description: 'The shop base URL and its token' },
		],
		default: 'none',
		displayOptions: forChannel('webhook'),
	},
	{
		displayName: 'URL',
		name: 'webhookUrl',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'https://oapi.dingtalk.com/robot/send?access_token=…',
		displayOptions: forChannel('webhook'),
		description: 'Where to send the message. With the Shop API credential: a path relative to its Base URL (e.g. /messages).',
	},
	{
		displayName: 'Method',
		name: 'webhookMethod',
		type: 'options',
		options: [
			{ name: 'POST', value: 'POST' },
			{ name: 'PUT', value: 'PUT' },
			{ name: 'PATCH', value: 'PATCH' },
		],
		default: 'POST',
		displayOptions: forChannel('webhook'),
	},
	{
		displayName: 'Headers',
		name: 'webhookHeaders',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Header',
		default: {},
		displayOptions: forChannel('webhook'),
		options: [
			{
				displayName: 'Header',
				name: 'header',
				values: [
					{ displayName: 'Name', name: 'name', type: 'string', default: '' },
					{ displayName: 'Value', name: 'value', type: 'string', default: '' },
				],
			},
		],
	},
	{
		displayName: 'JSON Body',
		name: 'jsonBody',
		type: 'string',
		typeOptions: { rows: 10 },
		default: DEFAULT_WEBHOOK_BODY,
		displayOptions: forChannel('webhook'),
		description: `${VARIABLES_HINT}. Values are JSON-escaped, so the body stays valid JSON; put them inside quotes ({quantity} may stand alone).`,
	},
];

const webhookOnly = { displayOptions: optionForChannel('webhook') };

/** Options of the webhook channel (placed among the others in the Options collection). */
export const webhookOptions: Record<'ignoreSsl' | 'retries' | 'messageIdField' | 'backoffMs' | 'timeoutMs', INodeProperties> = {
	ignoreSsl: {
		displayName: 'Ignore SSL Issues (Insecure)',
		name: 'ignoreSsl',
		type: 'boolean',
		default: false,
		description: 'Whether to accept self-signed certificates from the webhook server',
		...webhookOnly,
	},
	retries: maxRetriesOption(MAX_WEBHOOK_RETRIES, webhookOnly),
	messageIdField: {
		displayName: 'Message ID Field',
		name: 'messageIdField',
		type: 'string',
		default: '',
		placeholder: 'data.id',
		description: 'Dotted path of the message ID in the JSON answer, recorded with the send. Empty: messageId, message_id, msgid, ID, reference, data.ID, result.message_id are tried.',
		...webhookOnly,
	},
	backoffMs: retryDelayOption(webhookOnly),
	timeoutMs: timeoutOption('Per attempt', webhookOnly),
};
