/** n8n glue shared by the nodes: the store from credentials and the Key Store credential test. */
import {
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type ICredentialTestFunctions,
	type ICredentialsDecrypted,
	type IExecuteFunctions,
	type INodeCredentialTestResult,
} from 'n8n-workflow';

import { checkLinkSettings, type LinkSettings } from '../core/delivery/link';
import { KeyStore, getStore, type Actor, type DatabaseKind, type StoreConfig } from '../core/store';

export const KEY_STORE_CREDENTIAL = 'autoDeliveryKeyStore';

export function storeConfigFromCredentials(c: ICredentialDataDecryptedObject): StoreConfig {
	const database = (c.database as DatabaseKind) || 'sqlite';
	const port = Number(c.port) || undefined;
	return {
		database,
		sqlitePath: typeof c.sqlitePath === 'string' ? c.sqlitePath.replace(/^~(?=$|\/)/, process.env.HOME ?? '~') : undefined,
		host: (c.host as string) || undefined,
		port,
		databaseName: (c.databaseName as string) || undefined,
		user: (c.user as string) || undefined,
		password: (c.password as string) || undefined,
		ssl: c.ssl === true,
		allowUnauthorizedCerts: c.ignoreSslIssues === true,
		encryptionSecret: String(c.encryptionSecret ?? ''),
		tablePrefix: c.tablePrefix === undefined ? undefined : String(c.tablePrefix),
	};
}

/** The delivery-page link settings of the Key Store credential; null when no Delivery Page URL is set. */
export function linkSettingsFromCredentials(c: ICredentialDataDecryptedObject): LinkSettings | null {
	const baseUrl = typeof c.deliveryPageUrl === 'string' ? c.deliveryPageUrl.trim() : '';
	if (baseUrl === '') return null;
	const ttl = c.deliveryLinkTtlDays;
	return checkLinkSettings({ baseUrl, ttlDays: ttl === undefined || ttl === null || ttl === '' ? undefined : Number(ttl) });
}

/** The process-wide store for this node's credential (opened and migrated on first use) and its link settings. */
export async function storeAndLinksFor(ctx: IExecuteFunctions): Promise<{ store: KeyStore; links: LinkSettings | null }> {
	const creds = await ctx.getCredentials(KEY_STORE_CREDENTIAL);
	try {
		const links = linkSettingsFromCredentials(creds);
		return { store: await getStore(storeConfigFromCredentials(creds)), links };
	} catch (err) {
		throw new NodeOperationError(ctx.getNode(), (err as Error).message, {
			description: 'Check the Auto Delivery Key Store credential (use "Test" in the credential dialog).',
		});
	}
}

/** The process-wide store for this node's credential (opened and migrated on first use). */
export async function storeFor(ctx: IExecuteFunctions): Promise<KeyStore> {
	return (await storeAndLinksFor(ctx)).store;
}

/** Who is acting, for the audit log. */
export function actorOf(ctx: IExecuteFunctions): Actor {
	const wf = ctx.getWorkflow();
	return { workflowId: wf.id ? String(wf.id) : undefined, executionId: String(ctx.getExecutionId() ?? '') || undefined, node: ctx.getNode().name };
}

/** Credential test: connects, applies migrations and checks the secret against the store's canary. */
export async function testKeyStoreCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	let store: KeyStore | undefined;
	try {
		store = await KeyStore.open(storeConfigFromCredentials(credential.data ?? {}));
		const stock = await store.stock();
		return { status: 'OK', message: `Connected. Key store ready (${stock.length} SKU${stock.length === 1 ? '' : 's'}).` };
	} catch (err) {
		return { status: 'Error', message: (err as Error).message };
	} finally {
		await store?.close().catch(() => undefined);
	}
}
