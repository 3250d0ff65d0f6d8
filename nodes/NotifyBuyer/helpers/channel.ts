/** The Channel parameters of an item → the core channel (email through SMTP, or a webhook call). */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { NotifyChannel } from '../../core/delivery';
import { SMTP_CREDENTIAL, smtpConfigFromCredentials } from '../../shared/notify';
import { itemParam } from '../../shared/params';
import { SHOP_API_CREDENTIAL, shopTargetFromCredentials } from '../../shared/shopApi';
import type { NotifySetup } from './interfaces';

export async function channelFor(
	ctx: IExecuteFunctions,
	i: number,
	kind: 'email' | 'webhook',
	options: IDataObject,
	setup: NotifySetup,
	/** Read Send's Subject / bodies / JSON Body (false: the operation sets its own). */
	templates = true,
): Promise<NotifyChannel> {
	if (kind === 'email') {
		setup.smtp ??= smtpConfigFromCredentials(await ctx.getCredentials(SMTP_CREDENTIAL));
		const format = ctx.getNodeParameter('emailFormat', i) as string;
		const template = (name: string, skip: string) => (!templates ? undefined : format === skip ? null : (ctx.getNodeParameter(name, i) as string));
		return {
			kind: 'email',
			smtp: setup.smtp,
			to: String(itemParam(ctx, 'toEmail', i, '') ?? ''),
			subject: templates ? (ctx.getNodeParameter('subject', i) as string) : undefined,
			text: template('text', 'html'),
			html: template('html', 'text'),
			bcc: (options.bcc as string) || null,
			replyTo: (options.replyTo as string) || null,
		};
	}
	const useShop = ctx.getNodeParameter('webhookAuth', i) === 'shopApi';
	if (useShop) setup.shop ??= shopTargetFromCredentials(await ctx.getCredentials(SHOP_API_CREDENTIAL));
	const headerList = ((ctx.getNodeParameter('webhookHeaders', i, {}) as IDataObject).header ?? []) as Array<{ name?: string; value?: string }>;
	const headers: Record<string, string> = {};
	for (const h of headerList) if (h.name && String(h.name).trim()) headers[String(h.name).trim()] = String(h.value ?? '');
	return {
		kind: 'webhook',
		url: ctx.getNodeParameter('webhookUrl', i) as string,
		method: ctx.getNodeParameter('webhookMethod', i) as string,
		headers,
		body: templates ? (ctx.getNodeParameter('jsonBody', i) as string) : undefined,
		messageIdField: (options.messageIdField as string) || null,
		timeoutMs: options.timeoutMs as number | undefined,
		retries: options.retries as number | undefined,
		backoffMs: options.backoffMs as number | undefined,
		ignoreSsl: options.ignoreSsl === true,
		shop: useShop ? setup.shop : null,
	};
}
