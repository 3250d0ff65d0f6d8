/**
 * Shop Webhook's webhook(): reads the settings and the raw body, lets the core decide (accept,
 * ignore or reject) and either answers at once without starting the workflow or starts it.
 */
import { NodeOperationError, type IDataObject, type INodeExecutionData, type IWebhookFunctions, type IWebhookResponseData } from 'n8n-workflow';
import type { ServerResponse } from 'http';

import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { apiFailure, completeWebhook, decideShopWebhook, decideWithoutBody, readRawBody, resolveWebhookSettings, type QueryMap, type RawBodyRequest, type WebhookDecision, type WebhookSettings } from '../core/intake';
import { configError, webhookSettingsError } from '../shared/errors';
import { SHOP_API_CREDENTIAL, webhookKeysFromCredentials } from '../shared/shopApi';
import { platformFetch } from './platformApi';
import { settingsFromParameters } from './settings';

const RESPOND_TO_WEBHOOK = 'n8n-nodes-base.respondToWebhook';

export async function handleWebhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const node = this.getNode();
	const req = this.getRequestObject() as unknown as RawBodyRequest & { method?: string };
	const responseMode = this.getNodeParameter('responseMode', 'onReceived') as string;
	checkRespondNode(this, responseMode);

	let settings: WebhookSettings;
	let credentials: ICredentialDataDecryptedObject | undefined;
	try {
		settings = settingsFromParameters(this);
		if (settings.verifySignature !== false) {
			const c: ICredentialDataDecryptedObject = await this.getCredentials(SHOP_API_CREDENTIAL);
			credentials = c;
			Object.assign(settings, webhookKeysFromCredentials(c, settings.platform ?? 'canonical'));
		}
		resolveWebhookSettings(settings);
	} catch (error) {
		throw webhookSettingsError(node, error);
	}

	const raw = await readRawBody(req, settings.maxBodyBytes ?? 1_000_000);
	if (raw.source === 'parsedBody' && settings.verifySignature !== false) {
		// n8n reads multipart/form-data itself: a Content-Type we refuse anyway is the caller's 415, not our 500
		const early = decideWithoutBody({ method: req.method, headers: req.headers }, settings);
		if (early) return answerWithout(this, early);
		throw new NodeOperationError(node, 'The raw request body is not available, so the signature cannot be checked', {
			description:
				'Something before this node consumed the request body. Shop Webhook needs the exact bytes the shop signed (req.rawBody in n8n).',
		});
	}

	const query = this.getQueryData() as QueryMap;
	const first = decideShopWebhook({ method: req.method, headers: req.headers, query, rawBody: raw.rawBody, truncated: raw.truncated }, settings);
	// A platform whose webhook lacks part of the order (Stripe line items, Paddle customer, 闲管家 goods,
	// 有赞 refunded lines): read it from the platform's API with the Shop API credential. An API failure
	// is answered 503 by us (so the platform retries; a body without any platform's success field —
	// n8n's own 500 for a failed trigger reads {"code": 0, …}, which 有赞 counts as success); a wrong
	// answer is a 400.
	let decision: WebhookDecision;
	if (first.action !== 'complete') decision = first;
	else {
		try {
			decision = await completeWebhook(first, platformFetch(first.platform, credentials ?? (await this.getCredentials(SHOP_API_CREDENTIAL))), settings);
		} catch (error) {
			decision = apiFailure(first.platform, (error as Error).message);
		}
	}
	if (decision.action !== 'accept') return answerWithout(this, decision);

	const items: INodeExecutionData[] = decision.items.map((json) => ({ json: json as unknown as IDataObject }));
	return {
		workflowData: [items],
		...(responseMode === 'onReceived' ? { webhookResponse: decision.ack } : {}),
	};
}

/** Answers a rejected or ignored call at once, logs why, and starts nothing. */
function answerWithout(ctx: IWebhookFunctions, decision: Exclude<WebhookDecision, { action: 'accept' }>): IWebhookResponseData {
	writeJson(ctx.getResponseObject() as unknown as ServerResponse, decision.status, decision.body, decision.headers);
	const detail = decision.action === 'reject' ? decision.body.error : decision.body.message;
	const message = `Shop Webhook "${ctx.getNode().name}" answered ${decision.status} without starting the workflow: ${detail}`;
	if (decision.action === 'reject') ctx.logger[decision.status >= 500 ? 'error' : 'warn'](message, { status: decision.status, field: decision.body.field });
	else ctx.logger.info(message, { status: decision.status });
	return { noWebhookResponse: true };
}

/**
 * "Using 'Respond to Webhook' Node": fail before the order is processed when the answer could
 * never be sent. n8n's Respond to Webhook node from version 1.1 on refuses to run unless n8n's own
 * Webhook / Form / Chat trigger or Wait node is upstream, so only its version 1 can answer for this
 * trigger.
 */
function checkRespondNode(ctx: IWebhookFunctions, responseMode: string): void {
	if (responseMode !== 'responseNode' || typeof ctx.getChildNodes !== 'function') return; // (very old n8n: no check)
	const responders = ctx
		.getChildNodes(ctx.getNode().name)
		.filter((n) => n.type === RESPOND_TO_WEBHOOK && n.disabled !== true);
	if (responders.length === 0) {
		throw configError(
			ctx.getNode(),
			'No Respond to Webhook node found in the workflow',
			'Insert a Respond to Webhook node (version 1) after Shop Webhook, or set "Respond" to "Immediately" or "When Last Node Finishes".',
		);
	}
	const strict = responders.filter((n) => Number(n.typeVersion) > 1);
	if (strict.length > 0) {
		const names = strict.map((n) => `"${n.name}" (version ${n.typeVersion})`).join(', ');
		throw configError(
			ctx.getNode(),
			`Respond to Webhook ${names} cannot answer for Shop Webhook`,
			"n8n's Respond to Webhook node from version 1.1 on only answers for n8n's own Webhook trigger and would fail after the order was processed. Use a Respond to Webhook node of version 1 (set \"typeVersion\": 1 in the workflow JSON), or set \"Respond\" to \"When Last Node Finishes\".",
		);
	}
}

function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
	if (res.headersSent) return;
	const text = JSON.stringify(body);
	res.writeHead(status, { ...headers, 'Content-Length': String(Buffer.byteLength(text)) });
	res.end(text);
}
