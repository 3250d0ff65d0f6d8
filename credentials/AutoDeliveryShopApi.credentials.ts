import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * The seller's shop: where Mark Shipped calls (base URL + authentication) and the secret the shop
 * signs its webhooks with (checked by Shop Webhook).
 */
export class AutoDeliveryShopApi implements ICredentialType {
	name = 'autoDeliveryShopApi';

	displayName = 'Auto Delivery Shop API';

	icon: Icon = { light: 'file:autoDelivery.svg', dark: 'file:autoDelivery.dark.svg' };

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-auto-delivery#auto-delivery-shop-api-autodeliveryshopapi';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://shop.example.com/api',
			description: 'Root of the shop API. Mark Shipped paths are relative to it. Leave empty if you only receive webhooks.',
		},
		{
			displayName: 'Authentication',
			name: 'authType',
			type: 'options',
			options: [
				{ name: 'None', value: 'none' },
				{ name: 'Bearer Token', value: 'bearer' },
				{ name: 'Custom Header', value: 'header' },
			],
			default: 'none',
		},
		{
			displayName: 'Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Sent as "Authorization: Bearer <token>"',
			displayOptions: { show: { authType: ['bearer'] } },
		},
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'X-Api-Key',
			displayOptions: { show: { authType: ['header'] } },
		},
		// The value of an API-key header (X-Api-Key: …) is the shop's secret: masked like a password.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Header Value',
			name: 'headerValue',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authType: ['header'] } },
		},
		{
			displayName: 'Webhook Signing Secret',
			name: 'signingSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'The secret the shop signs webhooks with: X-Signature = "sha256=" + hex HMAC-SHA256(secret, "<X-Timestamp>.<raw body>"). Used by Shop Webhook.',
		},
		{
			displayName: 'Ignore SSL Issues (Insecure)',
			name: 'ignoreSslIssues',
			type: 'boolean',
			default: false,
			description: 'Whether to accept self-signed certificates from the shop API',
		},
	];
}
