import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

const custom = { show: { platform: ['custom'] } };
const woo = { show: { platform: ['woocommerce'] } };
const shopify = { show: { platform: ['shopify'] } };
const taobao = { show: { platform: ['taobao'] } };
const goofish = { show: { platform: ['goofish'] } };
const youzan = { show: { platform: ['youzan'] } };

/**
 * The seller's shop: its Platform (Custom HTTP API — a base URL and authentication, the only kind
 * before platforms existed and still the default — or WooCommerce, Shopify, Stripe, Lemon Squeezy,
 * Paddle Billing, Taobao / Tmall, 闲鱼 / 闲管家, 有赞 with their own fields), where Mark Shipped calls, and the secret the shop signs its
 * webhooks with (checked by Shop Webhook, whatever the platform). The "API URL" fields of the
 * hosted platforms are hidden: empty means the platform's own URL; tests point them at local peers.
 */
export class AutoDeliveryShopApi implements ICredentialType {
	name = 'autoDeliveryShopApi';

	displayName = 'Auto Delivery Shop API';

	icon: Icon = { light: 'file:autoDelivery.svg', dark: 'file:autoDelivery.dark.svg' };

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-auto-delivery#auto-delivery-shop-api-autodeliveryshopapi';

	properties: INodeProperties[] = [
		{
			displayName: 'Platform',
			name: 'platform',
			type: 'options',
			options: [
				{ name: 'Custom HTTP API', value: 'custom', description: 'Any shop API: a Base URL and a token or header' },
				{ name: 'Lemon Squeezy', value: 'lemonsqueezy', description: 'Webhook signing secret only: Lemon Squeezy has no fulfil call' },
				{ name: 'Paddle Billing', value: 'paddle', description: 'API key (Developer tools > Authentication)' },
				{ name: 'Shopify', value: 'shopify', description: 'GraphQL Admin API: an access token, or a Dev Dashboard app’s client ID and secret' },
				{ name: 'Stripe', value: 'stripe', description: 'Secret key (Developers > API keys)' },
				{ name: 'Taobao / Tmall', value: 'taobao', description: 'Taobao Open Platform (TOP): App Key, App Secret and the seller’s Session Key' },
				{ name: 'WooCommerce', value: 'woocommerce', description: 'REST API consumer key and secret (WooCommerce > Settings > Advanced > REST API)' },
				{ name: '闲鱼 / 闲管家 (Goofish)', value: 'goofish', description: '闲管家 open platform app: App Key and App Secret (order push and shipping)' },
				{ name: '有赞 (Youzan)', value: 'youzan', description: '有赞云 app: Client ID and Client Secret (push messages), the shop’s access token (shipping, refunded lines)' },
			],
			default: 'custom',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://shop.example.com/api',
			description: 'Root of the shop API. Mark Shipped paths are relative to it. Leave empty if you only receive webhooks.',
			displayOptions: custom,
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
			displayOptions: custom,
		},
		{
			displayName: 'Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Sent as "Authorization: Bearer <token>"',
			displayOptions: { show: { platform: ['custom'], authType: ['bearer'] } },
		},
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'X-Api-Key',
			displayOptions: { show: { platform: ['custom'], authType: ['header'] } },
		},
		// The value of an API-key header (X-Api-Key: …) is the shop's secret: masked like a password.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Header Value',
			name: 'headerValue',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { platform: ['custom'], authType: ['header'] } },
		},
		{
			displayName: 'Store URL',
			name: 'wooStoreUrl',
			type: 'string',
			default: '',
			placeholder: 'https://shop.example.com',
			description: 'Address of the WordPress site (with its folder if WordPress is installed in one). Must be https:// — WooCommerce accepts the keys only over HTTPS.',
			displayOptions: woo,
		},
		{
			displayName: 'Consumer Key',
			name: 'wooConsumerKey',
			type: 'string',
			default: '',
			placeholder: 'ck_…',
			description: 'From WooCommerce > Settings > Advanced > REST API > Add key (permissions: Read/Write)',
			displayOptions: woo,
		},
		{
			displayName: 'Consumer Secret',
			name: 'wooConsumerSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'cs_…',
			description: 'Shown once, next to the Consumer Key, when the key is generated',
			displayOptions: woo,
		},
		{
			displayName: 'Allow Plain HTTP (Testing Only)',
			name: 'wooAllowHttp',
			type: 'boolean',
			default: false,
			description:
				'Whether to accept an http:// Store URL. The keys then travel unencrypted, and a real WooCommerce accepts them over plain HTTP only when WordPress believes the request is HTTPS (e.g. behind a TLS proxy). For a local test shop only.',
			displayOptions: woo,
		},
		{
			displayName: 'Shop',
			name: 'shopifyShop',
			type: 'string',
			default: '',
			placeholder: 'mystore',
			description: 'The store’s myshopify.com name: mystore for mystore.myshopify.com (Settings > Domains)',
			displayOptions: shopify,
		},
		{
			displayName: 'Authentication',
			name: 'shopifyAuth',
			type: 'options',
			options: [
				{ name: 'Admin API Access Token', value: 'accessToken', description: 'Token (shpat_…) of a custom app created in the Shopify admin' },
				{ name: 'Client ID and Secret', value: 'clientCredentials', description: 'A Dev Dashboard app installed on your store: a token is requested when needed' },
			],
			default: 'accessToken',
			displayOptions: shopify,
		},
		{
			displayName: 'Admin API Access Token',
			name: 'shopifyAccessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'shpat_…',
			displayOptions: { show: { platform: ['shopify'], shopifyAuth: ['accessToken'] } },
		},
		{
			displayName: 'Client ID',
			name: 'shopifyClientId',
			type: 'string',
			default: '',
			displayOptions: { show: { platform: ['shopify'], shopifyAuth: ['clientCredentials'] } },
		},
		{
			displayName: 'Client Secret',
			name: 'shopifyClientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { platform: ['shopify'], shopifyAuth: ['clientCredentials'] } },
		},
		{
			displayName: 'API Version',
			name: 'shopifyApiVersion',
			type: 'string',
			default: '2026-10',
			description: 'Admin API version (YYYY-MM). Shopify supports each version for at least 12 months.',
			displayOptions: shopify,
		},
		{
			displayName: 'Shopify Admin URL',
			name: 'shopifyAdminUrl',
			type: 'hidden',
			default: '',
		},
		{
			displayName: 'Secret Key',
			name: 'stripeSecretKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'sk_live_…',
			description: 'Secret key (sk_live_… / sk_test_…) or a restricted key (rk_…) from Developers > API keys',
			displayOptions: { show: { platform: ['stripe'] } },
		},
		{
			displayName: 'Stripe API URL',
			name: 'stripeApiUrl',
			type: 'hidden',
			default: '',
		},
		{
			displayName: 'API Key',
			name: 'paddleApiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'pdl_live_apikey_…',
			description: 'From Paddle > Developer tools > Authentication',
			displayOptions: { show: { platform: ['paddle'] } },
		},
		{
			displayName: 'Sandbox',
			name: 'paddleSandbox',
			type: 'boolean',
			default: false,
			description: 'Whether the key is a sandbox key (pdl_sdbx_…): calls go to sandbox-api.paddle.com',
			displayOptions: { show: { platform: ['paddle'] } },
		},
		{
			displayName: 'Paddle API URL',
			name: 'paddleApiUrl',
			type: 'hidden',
			default: '',
		},
		{
			displayName: 'App Key',
			name: 'taobaoAppKey',
			type: 'string',
			default: '',
			description: 'The app’s App Key (Taobao Open Platform console > 应用管理 > 应用信息)',
			displayOptions: taobao,
		},
		{
			displayName: 'App Secret',
			name: 'taobaoAppSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'The app’s App Secret, next to the App Key. It signs every request and is never sent.',
			displayOptions: taobao,
		},
		// The Session Key is the seller's access token: masked like a password.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Session Key',
			name: 'taobaoSession',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'The seller’s authorisation of the app (the access_token / SessionKey from the OAuth authorisation). It expires: when Taobao says the session is invalid, authorise again and paste the new one here.',
			displayOptions: taobao,
		},
		{
			displayName: 'Sign Method',
			name: 'taobaoSignMethod',
			type: 'options',
			options: [
				{ name: 'HMAC-SHA256', value: 'hmac-sha256' },
				{ name: 'HMAC (MD5)', value: 'hmac' },
				{ name: 'MD5', value: 'md5' },
			],
			default: 'hmac-sha256',
			description: 'How requests are signed (TOP sign_method); all three are accepted by the router',
			displayOptions: taobao,
		},
		{
			displayName: 'Router URL',
			name: 'taobaoRouterUrl',
			type: 'string',
			default: 'https://eco.taobao.com/router/rest',
			description: 'The TOP router. Change only for an overseas gateway or a test double.',
			displayOptions: taobao,
		},
		{
			displayName: 'App Key',
			name: 'goofishAppKey',
			type: 'string',
			default: '',
			description: 'The AppKey of your 闲管家 open-platform app (open.goofish.pro → 应用管理). 闲管家 signs its order push with it.',
			displayOptions: goofish,
		},
		{
			displayName: 'App Secret',
			name: 'goofishAppSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'The AppSecret next to the AppKey: checks the order push and signs the shipping call. Never sent.',
			displayOptions: goofish,
		},
		{
			displayName: 'Merchant ID (Optional)',
			name: 'goofishMchId',
			type: 'string',
			default: '',
			description: 'Merchant integration only (mch_id); leave empty for your own app',
			displayOptions: goofish,
		},
		{
			displayName: 'Merchant Secret (Optional)',
			name: 'goofishMchSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Merchant integration only (mch_secret, paired with the Merchant ID)',
			displayOptions: goofish,
		},
		{
			displayName: '闲管家 API URL',
			name: 'goofishApiUrl',
			type: 'hidden',
			default: '',
		},
		{
			displayName: 'Client ID',
			name: 'youzanClientId',
			type: 'string',
			default: '',
			description: 'The client_id of your 有赞云 app (有赞云 控制台 → 应用 → 应用凭证). 有赞 signs its push messages with it.',
			displayOptions: youzan,
		},
		{
			displayName: 'Client Secret',
			name: 'youzanClientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'The client_secret next to the Client ID: checks the push messages. Never sent.',
			displayOptions: youzan,
		},
		{
			displayName: 'Access Token',
			name: 'youzanAccessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'The shop’s access token: Mark Shipped confirms trades with it (youzan.logistics.online.confirm), Shop Webhook reads a refunded trade with it to revoke only the refunded lines (youzan.trade.get). It expires: renew it and paste it here.',
			displayOptions: youzan,
		},
		{
			displayName: 'API URL',
			name: 'youzanApiUrl',
			type: 'string',
			default: 'https://open.youzanyun.com/api',
			description: 'The 有赞云 API root: calls go to <API URL>/<api name>/<version>?access_token=…',
			displayOptions: youzan,
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
			displayOptions: { show: { platform: ['custom', 'woocommerce'] } },
		},
	];
}
