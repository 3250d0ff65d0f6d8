import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * Where the keys live and the secret that seals them. One credential = one key store; every
 * execution using it shares one connection pool.
 */
export class AutoDeliveryKeyStore implements ICredentialType {
	name = 'autoDeliveryKeyStore';

	displayName = 'Auto Delivery Key Store';

	icon: Icon = { light: 'file:autoDelivery.svg', dark: 'file:autoDelivery.dark.svg' };

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-auto-delivery#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Database',
			name: 'database',
			type: 'options',
			options: [
				{ name: 'SQLite (One Machine)', value: 'sqlite' },
				{ name: 'PostgreSQL', value: 'postgres' },
				{ name: 'MySQL / MariaDB', value: 'mysql' },
			],
			default: 'sqlite',
			description: 'SQLite for a single n8n; PostgreSQL or MySQL/MariaDB (≥ 10.6 / 8.0) when n8n runs in queue mode with several workers',
		},
		{
			displayName: 'SQLite File',
			name: 'sqlitePath',
			type: 'string',
			default: '',
			placeholder: '~/.n8n/auto-delivery.sqlite',
			description: 'Path of the SQLite file. Empty: auto-delivery.sqlite in the n8n user folder (.n8n). The folder is created if missing.',
			displayOptions: { show: { database: ['sqlite'] } },
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: '127.0.0.1',
			displayOptions: { show: { database: ['postgres', 'mysql'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 0,
			description: 'Empty or 0: 5432 for PostgreSQL, 3306 for MySQL/MariaDB',
			displayOptions: { show: { database: ['postgres', 'mysql'] } },
		},
		{
			displayName: 'Database Name',
			name: 'databaseName',
			type: 'string',
			default: '',
			required: true,
			displayOptions: { show: { database: ['postgres', 'mysql'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			displayOptions: { show: { database: ['postgres', 'mysql'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { database: ['postgres', 'mysql'] } },
		},
		{
			displayName: 'SSL',
			name: 'ssl',
			type: 'boolean',
			default: false,
			displayOptions: { show: { database: ['postgres', 'mysql'] } },
		},
		{
			displayName: 'Ignore SSL Issues (Insecure)',
			name: 'ignoreSslIssues',
			type: 'boolean',
			default: false,
			description: 'Whether to accept self-signed server certificates',
			displayOptions: { show: { database: ['postgres', 'mysql'], ssl: [true] } },
		},
		{
			displayName: 'Encryption Secret',
			name: 'encryptionSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'Seals every key (AES-256-GCM). Keep it safe: keys cannot be read without it, and a wrong secret is refused. Use the same secret on every n8n worker.',
		},
		{
			displayName: 'Delivery Page URL',
			name: 'deliveryPageUrl',
			type: 'string',
			default: '',
			placeholder: 'https://n8n.example.com/webhook/delivery',
			description:
				"The production URL of the bundled delivery-page workflow's Webhook node. When set, Claim Key and Get Delivery output a signed, expiring link to the order's delivery page, and templates can use {deliveryLink} / {提货链接}. Empty: no links.",
		},
		{
			displayName: 'Delivery Link Valid For (Days)',
			name: 'deliveryLinkTtlDays',
			type: 'number',
			typeOptions: { minValue: 0.01, maxValue: 3650, numberPrecision: 2 },
			default: 7,
			description: 'How long a new delivery link works. Expired links show "link expired" and nothing else.',
		},
		{
			displayName: 'Table Prefix',
			name: 'tablePrefix',
			type: 'string',
			default: 'ad_',
			description: 'Prefix of the key store tables (letters, digits, underscore). Different prefixes keep separate stores in one database.',
		},
	];
}
