import { NodeConnectionTypes, type INodeType, type INodeTypeDescription, type IWebhookFunctions, type IWebhookResponseData } from 'n8n-workflow';

import { testShopApiCredential } from '../shared/shopApi';
import { properties, webhookDescription } from './description';
import { handleWebhook } from './webhook';

export class ShopWebhook implements INodeType {
	// The node's own fields stay here, where n8n's lint rules read them (icon, credentials, trigger, webhooks).
	description: INodeTypeDescription = {
		displayName: 'Shop Webhook',
		name: 'shopWebhook',
		icon: { light: 'file:shopWebhook.svg', dark: 'file:shopWebhook.dark.svg' },
		group: ['trigger'],
		// 2 behaves exactly as 1. n8n treats any webhook start node of version 1 as its own legacy
		// Webhook v1 and evaluates `$parameter.options.binaryData` on every request (webhook-helpers
		// parseRequestBody): one more expression per request, and with it an isolate under n8n 2.x's
		// default engine. Workflows saved with version 1 keep working unchanged.
		version: [1, 2],
		defaultVersion: 2,
		subtitle: '={{$parameter["events"] === "any" ? "any event" : $parameter["events"]}}',
		description:
			'Starts the workflow when the shop reports a paid or refunded order: checks the HMAC signature, validates the order and answers 401/400 without starting the workflow on bad input',
		defaults: { name: 'Shop Webhook' },
		eventTriggerDescription: 'Waiting for you to call the Test URL',
		activationMessage: 'The shop can now call the production URL.',
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'autoDeliveryShopApi',
				required: true,
				testedBy: 'autoDeliveryShopApiTest',
				displayOptions: { show: { verifySignature: [true] } },
			},
		],
		webhooks: [webhookDescription],
		properties,
	};

	methods = {
		credentialTest: { autoDeliveryShopApiTest: testShopApiCredential },
	};

	/** The shop is configured by hand (it is given the URL), so there is nothing to register remotely. */
	webhookMethods = {
		default: {
			async checkExists(this: unknown): Promise<boolean> {
				return true;
			},
			async create(this: unknown): Promise<boolean> {
				return true;
			},
			async delete(this: unknown): Promise<boolean> {
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await handleWebhook.call(this);
	}
}
