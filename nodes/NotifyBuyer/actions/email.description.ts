/** Channel Email: recipient, subject and bodies, and its options (BCC, Reply-To). */
import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_TEMPLATES } from '../../core/delivery';
import { VARIABLES_HINT, forChannel, optionForChannel } from './common.descriptions';

export const emailProperties: INodeProperties[] = [
	{
		displayName: 'To',
		name: 'toEmail',
		type: 'string',
		default: '={{ $json.buyer.email }}',
		placeholder: 'name@email.com',
		displayOptions: forChannel('email'),
		description: 'The buyer email address. Empty: the buyer email recorded with the delivery.',
	},
	{
		displayName: 'Subject',
		name: 'subject',
		type: 'string',
		default: DEFAULT_TEMPLATES.subject,
		displayOptions: forChannel('email'),
		description: VARIABLES_HINT,
	},
	{
		displayName: 'Email Format',
		name: 'emailFormat',
		type: 'options',
		options: [
			{ name: 'Text and HTML', value: 'both' },
			{ name: 'Text', value: 'text' },
			{ name: 'HTML', value: 'html' },
		],
		default: 'both',
		displayOptions: forChannel('email'),
	},
	{
		displayName: 'Text Body',
		name: 'text',
		type: 'string',
		typeOptions: { rows: 8 },
		default: DEFAULT_TEMPLATES.text,
		displayOptions: { show: { channel: ['email'], emailFormat: ['both', 'text'] } },
		description: VARIABLES_HINT,
	},
	{
		displayName: 'HTML Body',
		name: 'html',
		type: 'string',
		typeOptions: { rows: 8 },
		default: DEFAULT_TEMPLATES.html,
		displayOptions: { show: { channel: ['email'], emailFormat: ['both', 'html'] } },
		description: `${VARIABLES_HINT}. Values are HTML-escaped.`,
	},
];

/** Options of the email channel (placed among the others in the Options collection). */
export const emailOptions: Record<'bcc' | 'replyTo', INodeProperties> = {
	bcc: {
		displayName: 'BCC',
		name: 'bcc',
		type: 'string',
		default: '',
		placeholder: 'archive@example.com',
		description: 'Comma-separated addresses that get a blind copy (e.g. your own archive)',
		displayOptions: optionForChannel('email'),
	},
	replyTo: {
		displayName: 'Reply-To',
		name: 'replyTo',
		type: 'string',
		default: '',
		placeholder: 'support@example.com',
		displayOptions: optionForChannel('email'),
	},
};
