/** n8n glue for Notify Buyer: the SMTP credential to a core config, and its connection test. */
import type { ICredentialDataDecryptedObject, ICredentialTestFunctions, ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';

import { redactSecrets } from '../core/secrets';
import { verifySmtp, type SmtpConfig, type SmtpSecurity } from '../core/outbound';

export const SMTP_CREDENTIAL = 'autoDeliverySmtp';

export function smtpConfigFromCredentials(c: ICredentialDataDecryptedObject): SmtpConfig {
	const security = ['tls', 'starttls', 'none'].includes(String(c.security)) ? (c.security as SmtpSecurity) : 'tls';
	return {
		host: String(c.host ?? '').trim(),
		port: Number(c.port) || undefined,
		security,
		user: String(c.user ?? '').trim() || undefined,
		password: c.password === undefined || c.password === null ? undefined : String(c.password),
		from: String(c.from ?? '').trim(),
		allowUnauthorizedCerts: c.ignoreSslIssues === true,
	};
}

/** SMTP credential test: connects, says EHLO, logs in (if a user is set) and quits. */
export async function testSmtpCredential(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const cfg = smtpConfigFromCredentials(credential.data ?? {});
	try {
		await verifySmtp({ ...cfg, timeoutMs: 15000 });
		const where = `${cfg.host}${cfg.port ? `:${cfg.port}` : ''}`;
		return { status: 'OK', message: cfg.user ? `Connected to ${where}; the login was accepted.` : `Connected to ${where} (no login configured).` };
	} catch (err) {
		return { status: 'Error', message: redactSecrets((err as Error).message, cfg.password ? [cfg.password] : []) };
	}
}
