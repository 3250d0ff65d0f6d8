/** The Channel parameters of an item → the core channel (email through SMTP, or a webhook call). */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { NotifyChannel } from '../../core/delivery';
import { SMTP_CREDENTIAL, smtpConfigFromCredentials } from '../../shared/notify';
import { itemParam } from '../../shared/params';
import { SHOP_API_CREDENTIAL, shopTargetFromCredentials } from '../../shared/shopApi';
import type { NotifySetup } from './interfaces';

/** Names of the template parameters an operation reads (Send Follow-Up has its own; it has no To). */
export interface TemplateParams {
	to: string | null;
	subject: string;
	text: string;
	html: string;
	body: string;
}

const DELIVERY_PARAMS: TemplateParams = { to: 'toEmail', subject: 'subject', text: 'text', html: 'html', body: 'jsonBody' };

/**
 * `params`: the template parameters to read (Send and Resend: Subject, Text, HTML, JSON Body), or
 * `false` for an operation that renders its own templates (Send Delay Notice: only To is read).
 */
export async function channelFor(
	ctx: IExecuteFunctions,
	i: number,
	kind: 'email' | 'webhook',
	options: IDataObject,
	setup: NotifySetup,
	params: TemplateParams | false = DELIVERY_PARAMS,
): Promise<NotifyChannel> {
	if (kind === 'email') {
		setup.smtp ??= smtpConfigFromCredentials(await ctx.getCredentials(SMTP_CREDENTIAL));
		const format = ctx.getNodeParameter('emailFormat', i) as string;
		const template = (name: keyof TemplateParams, skip: string) => (params === false ? undefined : format === skip ? null : (ctx.getNodeParameter(params[name] as string, i) as string));
		const toParam = params === false ? 'toEmail' : params.to;
		return {
			kind: 'email',
			smtp: setup.smtp,
			to: toParam === null ? null : String(itemParam(ctx, toParam, i, '') ?? ''),
			subject: params === false ? undefined : (ctx.getNodeParameter(params.subject, i) as string),
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
		body: params === false ? undefined : (ctx.getNodeParameter(params.body, i) as string),
		messageIdField: (options.messageIdField as string) || null,
		timeoutMs: options.timeoutMs as number | undefined,
		retries: options.retries as number | undefined,
		backoffMs: options.backoffMs as number | undefined,
		ignoreSsl: options.ignoreSsl === true,
		shop: useShop ? setup.shop : null,
	};
}
