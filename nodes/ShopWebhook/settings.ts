/** Shop Webhook's parameters → the core's webhook settings (the signing secret is added by the caller). */
import type { IDataObject, IWebhookFunctions } from 'n8n-workflow';

import {
	DEFAULT_SIGNATURE_HEADER,
	DEFAULT_TIMESTAMP_HEADER,
	WebhookConfigError,
	type EventFilter,
	type EventMeaning,
	type FieldPath,
	type OrderMapping,
	type PaidOutput,
	type PlatformId,
	type WebhookSettings,
} from '../core/intake';
import { PLATFORM_OPTION_PARAMETERS } from './platform.description';

interface MappingRows {
	fields?: Array<{ field?: string; path?: string }>;
}
interface EventRows {
	values?: Array<{ value?: string; event?: string }>;
}

/** Throws WebhookConfigError for a field or event value mapped twice. */
export function settingsFromParameters(ctx: IWebhookFunctions): WebhookSettings {
	const options = ctx.getNodeParameter('options', {}) as IDataObject;
	const mapping: OrderMapping = {};
	for (const row of (ctx.getNodeParameter('fieldMapping', {}) as MappingRows).fields ?? []) {
		const field = String(row.field ?? '') as FieldPath;
		if (Object.prototype.hasOwnProperty.call(mapping, field)) {
			throw new WebhookConfigError(`mapping.${field}`, `Field Mapping: "${field}" is mapped twice.`);
		}
		mapping[field] = String(row.path ?? '').trim();
	}
	const eventValues: Record<string, EventMeaning> = {};
	for (const row of (ctx.getNodeParameter('eventMapping', {}) as EventRows).values ?? []) {
		const value = String(row.value ?? '').trim();
		if (Object.prototype.hasOwnProperty.call(eventValues, value)) {
			throw new WebhookConfigError(`eventValues.${value}`, `Event Mapping: "${value}" is mapped twice.`);
		}
		eventValues[value] = String(row.event ?? '') as EventMeaning;
	}
	const events = ctx.getNodeParameter('events', 'order.paid') as EventFilter;
	const platform = ctx.getNodeParameter('platform', 'canonical') as PlatformId;
	const optionsParameter = PLATFORM_OPTION_PARAMETERS[platform];
	const maxKb = options.maxBodyKb === undefined ? 1000 : Number(options.maxBodyKb);
	return {
		events,
		platform,
		...(platform === 'canonical' || platform === 'generic' ? {} : { shopName: String(ctx.getNodeParameter('shopName', '') ?? '').trim() }),
		...(optionsParameter ? { platformOptions: ctx.getNodeParameter(optionsParameter, {}) as IDataObject } : {}),
		verifySignature: ctx.getNodeParameter('verifySignature', true) as boolean,
		signatureHeader: (options.signatureHeader as string | undefined) || DEFAULT_SIGNATURE_HEADER,
		timestampHeader: (options.timestampHeader as string | undefined) || DEFAULT_TIMESTAMP_HEADER,
		toleranceSeconds: options.toleranceSeconds === undefined ? undefined : Number(options.toleranceSeconds),
		maxBodyBytes: Math.round(maxKb * 1000),
		acceptAnyContentType: options.acceptAnyContentType === true,
		mapping: Object.keys(mapping).length > 0 ? mapping : undefined,
		eventValues,
		paidOutput: events === 'order.refunded' ? 'line' : (ctx.getNodeParameter('paidOutput', 'line') as PaidOutput),
	};
}
