/** n8n glue for the Auto Delivery Shop API credential: base URL + auth headers, and its connection test. */
import type {
	ICredentialDataDecryptedObject,
	ICredentialTestFunctions,
	ICredentialsDecrypted,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { checkShopConnection, type ShopTarget } from '../core/delivery';

export const SHOP_API_CREDENTIAL = 'autoDeliveryShopApi';

export type ShopAuthType = 'none' | 'bearer' | 'header';

/** Where to call and with which headers. `secrets` are scrubbed from any stored or shown error text. */
export function shopTargetFromCredentials(c: ICredentialDataDecryptedObject): ShopTarget & { authType: ShopAuthType; authConfigured: boolean } {
	const authType = (['bearer', 'header'].includes(String(c.authType)) ? c.authType : 'none') as ShopAuthType;
	const headers: Record<string, string> = {};
	const secrets: string[] = [];
	if (authType === 'bearer') {
		const token = String(c.token ?? '').trim();
		if (token) {
			headers.Authorization = `Bearer ${token}`;
			secrets.push(token);
		}
	} else if (authType === 'header') {
		const name = String(c.headerName ?? '').trim();
		const value = String(c.headerValue ?? '');
		if (name && value) {
			headers[name] = value;
			secrets.push(value);
		}
	}
	// Not sent anywhere by Mark Shipped, but scrubbed too should a shop ever echo it.
	if (typeof c.signingSecret === 'string' && c.signingSecret !== '') secrets.push(c.signingSecret);
	return {
		baseUrl: String(c.baseUrl ?? '').trim(),
		headers,
		ignoreSsl: c.ignoreSslIssues === true,
		secrets,
		authType,
		authConfigured: Object.keys(headers).length > 0,
	};
}

/** Credential test (`testedBy` on Mark Shipped): one GET of the base URL with the auth headers. */
export async function testShopApiCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const target = shopTargetFromCredentials(credential.data ?? {});
	if (target.authType !== 'none' && !target.authConfigured) {
		return {
			status: 'Error',
			message: target.authType === 'bearer' ? 'Authentication is Bearer Token but the Token is empty.' : 'Authentication is Custom Header but the Header Name or Header Value is empty.',
		};
	}
	if (target.baseUrl === '') {
		const signing = typeof credential.data?.signingSecret === 'string' && credential.data.signingSecret !== '';
		return signing
			? { status: 'OK', message: 'Webhook signing secret set; no Base URL, so Mark Shipped can only run in Record Only mode.' }
			: { status: 'Error', message: 'Set the Base URL (for Mark Shipped) or the Webhook Signing Secret (for Shop Webhook), or both.' };
	}
	const r = await checkShopConnection(target);
	return { status: r.ok ? 'OK' : 'Error', message: r.message };
}
