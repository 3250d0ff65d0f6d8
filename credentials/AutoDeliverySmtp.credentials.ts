import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/** The mail server Notify Buyer sends delivery emails through (nodemailer). */
export class AutoDeliverySmtp implements ICredentialType {
	name = 'autoDeliverySmtp';

	displayName = 'Auto Delivery SMTP';

	icon: Icon = { light: 'file:autoDelivery.svg', dark: 'file:autoDelivery.dark.svg' };

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-auto-delivery#auto-delivery-smtp-autodeliverysmtp';

	properties: INodeProperties[] = [
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: '',
			placeholder: 'smtp.qq.com',
			required: true,
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 465,
			description: '465 for TLS, 587 for STARTTLS, 25 for a local relay',
		},
		{
			displayName: 'Security',
			name: 'security',
			type: 'options',
			options: [
				{ name: 'TLS (Port 465)', value: 'tls' },
				{ name: 'STARTTLS (Port 587)', value: 'starttls' },
				{ name: 'None (Local Relay Only)', value: 'none' },
			],
			default: 'tls',
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			description: 'Login name; empty for a server without authentication',
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Password or app-specific authorisation code (授权码)',
		},
		{
			displayName: 'From',
			name: 'from',
			type: 'string',
			default: '',
			placeholder: 'My Shop <shop@example.com>',
			required: true,
			description: 'Sender shown to buyers',
		},
		{
			displayName: 'Ignore SSL Issues (Insecure)',
			name: 'ignoreSslIssues',
			type: 'boolean',
			default: false,
			description: 'Whether to accept self-signed server certificates',
		},
	];
}
