/**
 * The credentials the bundled workflows name (their ids are fixed in workflows/*.json; README and
 * docs/workflows.md document them), as plain data for `n8n import:credentials`: the key store, the
 * shop API (signing secret), our SMTP, the seller's SMTP (n8n's own type) and the forms' login.
 */
import type { CredentialInput } from './n8nInstance';

export const SHIPPED_CREDENTIAL_IDS = { keyStore: 'adKeyStore0001', shopApi: 'adShopApi00001', smtp: 'adSmtp00000001', sellerSmtp: 'adSellerSmtp01', formLogin: 'adFormLogin001' };

export function shippedCredentials(o: {
	keyStore: Record<string, unknown>;
	shopUrl: string;
	shopToken: string;
	signingSecret: string;
	smtpPort: number;
	from: string;
	formPassword: string;
}): CredentialInput[] {
	const ids = SHIPPED_CREDENTIAL_IDS;
	return [
		{ id: ids.keyStore, name: 'Auto Delivery Key Store', type: 'autoDeliveryKeyStore', data: o.keyStore },
		{ id: ids.shopApi, name: 'Auto Delivery Shop API', type: 'autoDeliveryShopApi', data: { baseUrl: o.shopUrl, authType: 'bearer', token: o.shopToken, signingSecret: o.signingSecret, ignoreSslIssues: false } },
		{ id: ids.smtp, name: 'Auto Delivery SMTP', type: 'autoDeliverySmtp', data: { host: '127.0.0.1', port: o.smtpPort, security: 'none', user: '', password: '', from: o.from, ignoreSslIssues: false } },
		{ id: ids.sellerSmtp, name: 'Seller SMTP', type: 'smtp', data: { host: '127.0.0.1', port: o.smtpPort, secure: false, disableStartTls: true, user: '', password: '', hostName: '' } },
		{ id: ids.formLogin, name: 'Auto Delivery Forms Login', type: 'httpBasicAuth', data: { user: 'seller', password: o.formPassword } },
	];
}
